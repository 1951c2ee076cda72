"""Quote approval by the customer's signature on a 390 px phone screen, then the fee at hand-back."""

from decimal import Decimal

import pytest
from django.urls import reverse

from repairs import services
from repairs.models import RepairQuote
from tests.browser import launched_chromium

from .field import carried_in, stock_van
from .test_browser_carry_in import _open, _sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def browser():
    with launched_chromium() as chromium:
        yield chromium


def test_the_customer_approves_the_quote_by_signing_on_the_phone(browser, live_server, dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    part = stock_van(technician=technician, part_number="MB-100", quantity=1, unit_price=Decimal("260.00"), name="主板")
    problems: list[str] = []
    tech = _open(browser, live_server, technician, phone=True, problems=problems)

    # The technician writes the quote on the phone: one catalogue part and labour.
    tech.goto(live_server.url + reverse("repairs:card_detail", args=[card.pk]))
    tech.click("#quote-link")
    tech.fill("#id_labour_charge", "120.00")
    tech.select_option("#id_lines-0-part", str(part.pk))
    tech.fill("#id_lines-0-quantity", "1")
    tech.click("#quote-form button[type=submit]")
    tech.wait_for_selector("#quote-total")
    assert tech.inner_text("#quote-total") == "380.00"

    # The customer reads it and signs on the screen.
    tech.click("#quote-sign-link")
    tech.wait_for_url("**/quote/sign/")
    assert tech.evaluate("document.documentElement.scrollWidth") <= 390, "the page is wider than the phone"
    assert tech.inner_text("#sign-total") == "380.00"
    tech.fill("#id_approved_by_name", "钱女士")
    _sign(tech)
    tech.click("#sign-form button[type=submit]")
    tech.wait_for_selector("#quote-approval")
    quote = RepairQuote.objects.get(card=card)
    assert quote.status == RepairQuote.Status.APPROVED
    assert quote.approval_kind == RepairQuote.Approval.SIGNATURE and quote.approved_by_name == "钱女士"
    assert bytes(quote.approval_signature_png).startswith(b"\x89PNG")
    assert services.quote_unpaid(card) == quote
    assert not problems, problems
