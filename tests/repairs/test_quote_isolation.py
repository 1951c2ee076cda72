"""Another unit's quote pages and actions are a 404 and change nothing (issue 14)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from repairs import services
from repairs.models import RepairCardFee, RepairCardPart, RepairQuote
from servicedesk.roles import Role
from tests.factories import UserFactory

from .field import carried_in, stock_van

ACTIONS = ("phone", "decline", "fee", "release_unpaid", "use_part")


@pytest.fixture
def quoted(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    board = stock_van(technician=technician, part_number="MB-100", quantity=1, unit_price=Decimal("260.00"))
    services.repair_quote_save(
        user=technician,
        card_id=card.pk,
        labour_charge=Decimal("10.00"),
        lines=[services.QuoteLine(part_id=board.pk, quantity=1)],
    )
    return card, board


def test_another_units_staff_get_404_on_every_quote_url(client, quoted, other_unit):
    card, board = quoted
    intruder = UserFactory(
        username="sz-all", unit=other_unit, roles=[Role.SUPERVISOR, Role.DISPATCHER, Role.TECHNICIAN]
    )
    stock_van(technician=intruder, part_number="MB-100", quantity=1)
    client.force_login(intruder)
    urls = [
        ("get", reverse("repairs:quote", args=[card.pk])),
        ("post", reverse("repairs:quote", args=[card.pk])),
        ("get", reverse("repairs:quote_sign", args=[card.pk])),
        ("post", reverse("repairs:quote_sign", args=[card.pk])),
        ("get", reverse("repairs:quote_pdf", args=[card.pk])),
        *(("post", reverse("repairs:quote_action", args=[card.pk, action])) for action in ACTIONS),
    ]
    data = {
        "approved_by_name": "x",
        "amount": "270.00",
        "reason": "x",
        "part": board.pk,
        "quantity": "1",
        "labour_charge": "1",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    for method, url in urls:
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        assert response.status_code == 404, (method, url, response.status_code)
    quote = RepairQuote.objects.get(card=card)
    assert quote.status == RepairQuote.Status.DRAFT and quote.version == 1
    assert not RepairCardFee.objects.exists() and not RepairCardPart.objects.exists()
