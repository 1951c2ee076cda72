"""Charged carry-in repairs (issue 14): quote, approval, fee at hand-back, no unpaid hand-back without a supervisor."""

from decimal import Decimal

import pytest
from django.urls import reverse

from repairs import services
from repairs.models import RegisterEntry, RepairCard, RepairCardFee, RepairQuote
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .field import carried_in, png_signature, stock_van


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, whatever language an earlier test left active."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def card(dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    services.register_entry_receive(user=dispatcher, entry_id=card.register_entry.pk, storage_location="A-1")
    return card


@pytest.fixture
def board(technician):
    return stock_van(technician=technician, part_number="MB-100", quantity=1, unit_price=Decimal("260.00"))


def quote(technician, card, board, **kwargs):
    return services.repair_quote_save(
        user=technician,
        card_id=card.pk,
        labour_charge=Decimal("120.00"),
        lines=[services.QuoteLine(part_id=board.pk, quantity=1, **kwargs)],
    )


def repaired(technician, card):
    services.repair_card_transition(user=technician, card_id=card.pk, to_status=RepairCard.Status.IN_REPAIR)
    services.repair_card_transition(user=technician, card_id=card.pk, to_status=RepairCard.Status.REPAIRED)


def release(dispatcher, card):
    return services.register_entry_release(
        user=dispatcher,
        entry_id=card.register_entry.pk,
        release_kind=RegisterEntry.Release.PICKED_UP,
        released_to_name="王先生",
        signature_png=png_signature(),
    )


def test_a_quote_prices_catalogue_parts_and_labour(technician, card, board):
    q = quote(technician, card, board)
    assert q.total == Decimal("380.00") and q.status == RepairQuote.Status.DRAFT
    assert q.lines.get().unit_price == Decimal("260.00")


def test_a_quote_price_change_needs_a_supervisor(technician, supervisor, card, board):
    with pytest.raises(ApplicationError, match="only a supervisor"):
        quote(technician, card, board, unit_price=Decimal("250.00"))
    assert quote(supervisor, card, board, unit_price=Decimal("250.00")).total == Decimal("370.00")


def test_the_customer_signs_the_quote_and_it_is_final(technician, card, board):
    quote(technician, card, board)
    q = services.repair_quote_approve_signed(
        user=technician, card_id=card.pk, signature_png=png_signature(), approved_by_name="王先生"
    )
    assert (q.status, q.approval_kind, q.approved_by_name, q.approval_recorded_by) == (
        "approved",
        "signature",
        "王先生",
        technician,
    )
    with pytest.raises(ApplicationError, match="can no longer be changed"):
        quote(technician, card, board)


def test_a_blank_signature_does_not_approve(technician, card, board):
    quote(technician, card, board)
    with pytest.raises(ApplicationError, match="empty"):
        services.repair_quote_approve_signed(
            user=technician, card_id=card.pk, signature_png=png_signature(blank=True), approved_by_name="王先生"
        )


def test_a_phone_approval_records_who_took_it_when_and_who_approved(dispatcher, technician, card, board):
    quote(technician, card, board)
    q = services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    assert q.approval_kind == "phone" and q.approval_recorded_by == technician and q.approved_at is not None
    assert "Approved by phone by 王先生" in history_for(q).last().note


def test_a_stale_quote_cannot_be_approved(technician, card, board):
    q = quote(technician, card, board)
    quote(technician, card, board)
    with pytest.raises(ApplicationError, match="changed a moment ago"):
        services.repair_quote_approve_by_phone(
            user=technician, card_id=card.pk, approved_by_name="王先生", expected_version=q.version
        )


def test_a_declined_quote_can_be_revised(technician, card, board):
    quote(technician, card, board)
    services.repair_quote_decline(user=technician, card_id=card.pk, note="Too expensive")
    q = services.repair_quote_save(user=technician, card_id=card.pk, labour_charge=Decimal("50.00"), lines=[])
    assert q.status == RepairQuote.Status.DRAFT and q.total == Decimal("50.00")


def test_the_product_is_not_handed_back_with_an_unpaid_approved_quote(dispatcher, technician, card, board):
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    repaired(technician, card)
    with pytest.raises(ApplicationError, match="approved but not paid"):
        release(dispatcher, card)
    services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("380.00"))
    entry = release(dispatcher, card)
    assert entry.released_at is not None


def test_the_fee_is_the_quote_total_once(dispatcher, technician, card, board):
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    with pytest.raises(ApplicationError, match=r"380\.00"):
        services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("300.00"))
    services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("380.00"))
    with pytest.raises(ApplicationError, match="already recorded"):
        services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("380.00"))


def test_no_fee_without_an_approved_quote(dispatcher, technician, card, board):
    quote(technician, card, board)
    with pytest.raises(ApplicationError, match="no approved quote"):
        services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("380.00"))


def test_a_technician_cannot_collect_the_fee_at_hand_back(technician, card, board):
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    with pytest.raises(ApplicationError):
        services.repair_card_fee_record(user=technician, card_id=card.pk, amount=Decimal("380.00"))


def test_only_a_supervisor_releases_unpaid_and_the_reason_is_recorded(dispatcher, technician, supervisor, card, board):
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    repaired(technician, card)
    with pytest.raises(ApplicationError):
        services.repair_quote_release_unpaid(user=dispatcher, card_id=card.pk, reason="Regular customer")
    with pytest.raises(ApplicationError, match="Give the reason"):
        services.repair_quote_release_unpaid(user=supervisor, card_id=card.pk, reason=" ")
    q = services.repair_quote_release_unpaid(user=supervisor, card_id=card.pk, reason="Invoiced monthly")
    assert (q.unpaid_release_by, q.unpaid_release_reason) == (supervisor, "Invoiced monthly")
    assert release(dispatcher, card).released_at is not None


def test_a_repair_without_a_quote_is_handed_back_as_before(dispatcher, technician, card):
    repaired(technician, card)
    assert release(dispatcher, card).released_at is not None


def test_another_units_quote_page_is_404(client, other_dispatcher, technician, card, board):
    quote(technician, card, board)
    client.force_login(other_dispatcher)
    for name in ("repairs:quote", "repairs:quote_pdf"):
        assert client.get(reverse(name, args=[card.pk])).status_code == 404
    response = client.post(
        reverse("repairs:quote_action", args=[card.pk, "fee"]), {"amount": "380"}
    )
    assert response.status_code == 404
    assert not RepairCardFee.objects.exists()


def test_the_clerk_collects_the_fee_on_the_quote_page(client, dispatcher, technician, card, board):
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:quote", args=[card.pk]))
    assert page.status_code == 200 and 'id="action-fee"' in page.text
    response = client.post(
        reverse("repairs:quote_action", args=[card.pk, "fee"]), {"amount": "300.00"}
    )
    assert response.status_code == 400 and "380.00" in response.text
    response = client.post(
        reverse("repairs:quote_action", args=[card.pk, "fee"]), {"amount": "380.00"}
    )
    assert response.status_code == 302
    assert services.quote_unpaid(card) is None


def test_the_quote_pdf_renders_in_chinese(client, technician, card, board):
    import io

    from pypdf import PdfReader

    quote(technician, card, board)
    client.force_login(technician)
    response = client.get(reverse("repairs:quote_pdf", args=[card.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "维修报价单" in text and "380.00" in text


def test_the_release_page_warns_and_refuses_an_unpaid_hand_back(client, dispatcher, technician, card, board):
    from .field import signature_data_url

    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    repaired(technician, card)
    client.force_login(dispatcher)
    url = reverse("repairs:register_release", args=[card.register_entry.pk])
    assert 'id="quote-unpaid"' in client.get(url).text
    response = client.post(
        url, {"release_kind": "picked_up", "released_to_name": "王先生", "signature": signature_data_url()}
    )
    assert response.status_code == 400 and "approved but not paid" in response.text
    card.register_entry.refresh_from_db()
    assert card.register_entry.released_at is None


def test_the_hand_back_fee_takes_the_next_number_of_the_units_receipt_series(dispatcher, technician, card, board):
    """DOMAIN 2: receipt numbers come from the unit's series, the same one the vouchers' fees use; never typed."""
    quote(technician, card, board)
    services.repair_quote_approve_by_phone(user=technician, card_id=card.pk, approved_by_name="王先生")
    fee = services.repair_card_fee_record(user=dispatcher, card_id=card.pk, amount=Decimal("380.00"))
    following = services.fee_receipt_number_next(unit=card.unit)
    assert fee.receipt_number.startswith(f"SJ-{card.unit.code}-")
    assert int(following.rsplit("-", 1)[1]) == int(fee.receipt_number.rsplit("-", 1)[1]) + 1
