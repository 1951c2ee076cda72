import pytest

from repairs.models import Zone
from servicedesk.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def urban(db):
    return Zone.objects.get(code="urban")


@pytest.fixture
def suburban(db):
    return Zone.objects.get(code="suburban")


@pytest.fixture
def technician_b(unit):
    return UserFactory(username="tech-b", first_name="Bai", unit=unit, roles=[Role.TECHNICIAN])


@pytest.fixture
def other_supervisor(other_unit):
    """Another unit's user who holds every repairs permission: only the unit boundary stops them."""
    return UserFactory(username="sz-supervisor", unit=other_unit, roles=[Role.SUPERVISOR])


def new_call_form(zone, **overrides):
    """The call-log form as a dispatcher fills it for a new customer, site and product."""
    from django.utils import timezone

    data = {
        "new_customer_name": "Huaxin Printing Co.",
        "new_customer_phone": "021-6666-0001",
        "new_customer_email": "",
        "new_customer_address": "",
        "new_site_address": "88 Huaihai Road",
        "new_site_zone": zone.pk,
        "new_product_model": "SX-200",
        "new_product_serial": "SN-NEW-0001",
        "new_product_warranty_end": "",
        "contact_name": "Ms Li",
        "contact_phone": "138 0013 8000",
        "channel": "phone",
        "coverage": "unknown",
        "problem": "The machine shows error E4 and stops.",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
