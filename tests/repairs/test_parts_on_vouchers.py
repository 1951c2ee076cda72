"""Vouchers and repair cards use catalogue parts (issue 14): prices, the tolerance, warranty parts, the van."""

from decimal import Decimal

import pytest
from django.urls import reverse

from parts.models import Part, Stock, StockMovement
from repairs import services
from repairs.models import ServiceVoucher, VoucherPart
from servicedesk.exceptions import ApplicationError

from .field import call_on_site, draft_voucher, png_signature, stock_van


def van(technician, part):
    row = Stock.objects.filter(technician=technician, part=part).first()
    return row.quantity if row else 0


def sign(user, voucher):
    return services.service_voucher_sign(
        user=user, voucher_id=voucher.pk, signature_png=png_signature(), signed_by_name="王先生"
    )


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, whatever language an earlier test left active."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def board(technician):
    return stock_van(technician=technician, part_number="MB-100", quantity=3, unit_price=Decimal("260.00"), name="主板")


def test_a_voucher_line_takes_the_catalogue_price_name_and_part(dispatcher, technician, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(
        technician=technician, call=call, parts=[services.PartLine(part_number="MB-100", quantity=1)]
    )
    [line] = voucher.parts.all()
    assert (line.part, line.unit_price, line.description) == (board, Decimal("260.00"), "主板")
    assert voucher.total_due == Decimal("360.00")  # labour 100 + the board


def test_a_part_not_in_the_catalogue_is_refused(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError, match="XX-1 is not in the parts catalogue"):
        draft_voucher(technician=technician, call=call, parts=[services.PartLine(part_number="XX-1", quantity=1)])


def test_a_technician_cannot_change_a_catalogue_price(dispatcher, technician, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError, match="only a supervisor may change it"):
        draft_voucher(
            technician=technician,
            call=call,
            parts=[services.PartLine(part_number="MB-100", quantity=1, unit_price=Decimal("250.00"))],
        )


def test_a_supervisor_changes_a_price_within_the_tolerance(dispatcher, technician, supervisor, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call, parts=[services.PartLine("MB-100", 1)])
    lines = [services.PartLine(part_number="MB-100", quantity=1, unit_price=Decimal("240.00"))]
    args = dict(
        user=supervisor,
        voucher_id=voucher.pk,
        departed_at=voucher.departed_at,
        work_done=voucher.work_done,
        labour_charge=voucher.labour_charge,
    )
    services.service_voucher_update(parts=lines, **args)
    assert voucher.parts.get().unit_price == Decimal("240.00")
    with pytest.raises(ApplicationError, match="at most 10 %"):
        services.service_voucher_update(
            parts=[services.PartLine(part_number="MB-100", quantity=1, unit_price=Decimal("200.00"))], **args
        )


def test_warranty_parts_are_free_when_the_service_is_free_but_consumables_are_charged(dispatcher, technician, board):
    toner = stock_van(
        technician=technician, part_number="TN-10", quantity=1, unit_price=Decimal("80.00"), warranty_free=False
    )
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    voucher = draft_voucher(
        technician=technician,
        call=call,
        parts=[services.PartLine("MB-100", 1), services.PartLine("TN-10", 1)],
    )
    prices = {line.part: line.unit_price for line in voucher.parts.all()}
    assert prices == {board: Decimal("0.00"), toner: Decimal("80.00")}
    assert not voucher.is_paid and voucher.total_due == Decimal("80.00")
    signed = sign(technician, voucher)
    assert signed.settlement == ServiceVoucher.Settlement.ON_SITE


def test_the_parts_leave_the_van_when_the_customer_signs_not_before(dispatcher, technician, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call, parts=[services.PartLine("MB-100", 2)])
    assert van(technician, board) == 3
    sign(technician, voucher)
    assert van(technician, board) == 1
    movement = StockMovement.objects.get(kind="used")
    assert (movement.reference_kind, movement.reference_id, movement.reference_text) == (
        "voucher",
        voucher.pk,
        voucher.number,
    )


def test_a_voucher_with_parts_the_van_lacks_is_refused_with_the_clear_message(dispatcher, technician, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError) as refused:
        draft_voucher(technician=technician, call=call, parts=[services.PartLine("MB-100", 4)])
    assert refused.value.message == "You do not hold 4 of part MB-100: your van has 3."


def test_signing_is_refused_when_the_van_was_emptied_since_the_draft(dispatcher, technician, board):
    from parts import services as parts_services

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call, parts=[services.PartLine("MB-100", 3)])
    parts_services.part_return(user=dispatcher, technician_id=technician.pk, part_id=board.pk, quantity=1)
    with pytest.raises(ApplicationError, match="You do not hold 3 of part MB-100: your van has 2"):
        sign(technician, voucher)
    voucher.refresh_from_db()
    assert voucher.status == ServiceVoucher.Status.DRAFT and van(technician, board) == 2


def test_a_correction_takes_or_gives_back_only_the_difference(dispatcher, technician, board):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    original = sign(technician, draft_voucher(technician=technician, call=call, parts=[services.PartLine("MB-100", 2)]))
    assert van(technician, board) == 1
    correction = services.service_voucher_correct(user=technician, voucher_id=original.pk)
    services.service_voucher_update(
        user=technician,
        voucher_id=correction.pk,
        departed_at=correction.departed_at,
        work_done=correction.work_done,
        labour_charge=correction.labour_charge,
        parts=[services.PartLine("MB-100", 1)],
    )
    sign(technician, correction)
    assert van(technician, board) == 2
    assert StockMovement.objects.filter(kind="use_undone", reference_id=correction.pk).get().quantity == 1


def test_old_free_text_part_rows_stay_readable(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call, parts=[])
    VoucherPart.objects.create(
        voucher=voucher, part_number="OLD-7", description="typed before the catalogue", quantity=1, unit_price=5
    )
    client.force_login(technician)
    page = client.get(voucher.get_absolute_url())
    assert page.status_code == 200 and "OLD-7" in page.text and "typed before the catalogue" in page.text
    assert client.get(reverse("repairs:voucher_edit", args=[voucher.pk])).status_code == 200


def test_the_voucher_form_shows_the_catalogue_and_refuses_a_missing_part_as_a_form_error(
    client, dispatcher, technician, board
):
    from django.utils import timezone

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    client.force_login(technician)
    url = reverse("repairs:voucher_create", args=[call.pk])
    assert 'value="MB-100"' in client.get(url).text
    response = client.post(
        url,
        {
            "arrived_at": timezone.localtime(call.arrived_at).strftime("%Y-%m-%dT%H:%M"),
            "departed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "work_done": "x",
            "labour_charge": "0",
            "parts-TOTAL_FORMS": "1",
            "parts-INITIAL_FORMS": "0",
            "parts-0-part_number": "MB-100",
            "parts-0-quantity": "9",
        },
    )
    assert response.status_code == 400
    assert "You do not hold 9 of part MB-100: your van has 3." in response.text
    assert not ServiceVoucher.objects.exists()


def test_a_catalogue_part_is_used_on_a_repair_card_from_the_vans_of_who_used_it(dispatcher, technician, board):
    from .field import carried_in

    card = carried_in(dispatcher=dispatcher, technician=technician)
    services.register_entry_receive(user=dispatcher, entry_id=card.register_entry.pk, storage_location="A-1")
    used = services.repair_card_part_use(user=technician, card_id=card.pk, part_id=board.pk, quantity=1)
    assert used.unit_price == Decimal("260.00") and van(technician, board) == 2
    assert StockMovement.objects.get(kind="used", reference_kind="repair_card").reference_text == card.number
    with pytest.raises(ApplicationError, match="You do not hold 5 of part MB-100"):
        services.repair_card_part_use(user=technician, card_id=card.pk, part_id=board.pk, quantity=5)
    assert Part.objects.count() == 2
