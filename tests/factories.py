"""Factories for reference data. Workflow state is built through the services, as users build it."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from repairs import services
from repairs.models import Customer, Product, Site, Zone
from servicedesk.models import OrgUnit, User


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.Sequence(lambda n: f"Service centre {n}")
    kind = OrgUnit.Kind.SERVICE_CENTRE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # Unique, not random: tests check that one person's name is absent from another's page.
    first_name = factory.Sequence(lambda n: f"Staff-{n:05d}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    unit = factory.SubFactory(OrgUnitFactory)
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=[str(r) for r in extracted]))


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone
        django_get_or_create = ("code",)

    code = "urban"
    name = "Urban"
    response_hours = Decimal("6")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    unit = factory.SubFactory(OrgUnitFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    phone = factory.Sequence(lambda n: f"021-5555-{n:04d}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    address = factory.Sequence(lambda n: f"{n} Nanjing Road")
    zone = factory.LazyFunction(lambda: Zone.objects.get(code="urban"))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    customer = factory.SubFactory(CustomerFactory)
    model = "SX-100"
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    warranty_end = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=90))


def log_call(*, dispatcher, site=None, received_at=None, zone=None, **kwargs):
    """A repair call logged through the service, as a dispatcher logs it."""
    unit = dispatcher.unit
    if site is None:
        site = SiteFactory(customer=CustomerFactory(unit=unit), **({"zone": zone} if zone else {}))
    return services.repair_call_log(
        user=dispatcher,
        unit=unit,
        received_at=received_at or timezone.now(),
        contact_name=kwargs.pop("contact_name", "Mr Wang"),
        contact_phone=kwargs.pop("contact_phone", "021-5555-0000"),
        problem=kwargs.pop("problem", "Does not start"),
        customer=site.customer,
        site=site,
        **kwargs,
    )
