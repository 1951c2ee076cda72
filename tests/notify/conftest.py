import pytest

from repairs import services
from servicedesk.roles import Role
from tests.contracts.conftest import contract_type, make_contract  # noqa: F401  (fixtures)
from tests.factories import UserFactory
from tests.repairs.field import carried_in


@pytest.fixture
def deputy_gm(head_office):
    return UserFactory(username="deputy", unit=head_office, roles=[Role.DEPUTY_GM], phone="13900000001")


@pytest.fixture
def other_supervisor(other_unit):
    return UserFactory(username="sz-supervisor", unit=other_unit, roles=[Role.SUPERVISOR])


def card_in_repair(*, dispatcher, technician, phone=None, address="", **kwargs):
    """A carried-in product booked in and being repaired, its customer's phone and address as given."""
    card = carried_in(dispatcher=dispatcher, technician=technician, **kwargs)
    customer = card.call.customer
    if phone is not None:
        customer.phone = phone
    customer.address = address
    customer.save()
    services.register_entry_receive(user=dispatcher, entry_id=card.register_entry.pk, storage_location="B-2")
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="in_repair")
    return card


def mark_repaired(card, technician):
    """The repair is done: the customer is told the product is ready (by the channel their preference gives)."""
    services.repair_card_transition(user=technician, card_id=card.pk, to_status="repaired")
    card.refresh_from_db()
    return card
