"""The technician's pages (issue 17) read a fixed number of queries, at most 6, however much their call has behind it.

My calls, the voucher form (new and edit), the voucher's signature page and the repair card are opened on every
visit; each is measured with little behind it and with much (a call with 20 history rows and 10 vouchers, a
voucher with 10 parts, a card with many bench steps and delays), and must cost the same.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RepairCard
from tests.factories import log_call
from tests.repairs.field import call_on_site, carried_in, draft_voucher, png_signature, stock_van

BUDGET = 6


def _queries(client, url) -> int:
    client.get(url)  # the first request of a process fills its caches (content types, templates)
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def _busy_call(*, dispatcher, technician, technician_b):
    """A call on site with 20+ history rows and 10 vouchers (a signed voucher corrected nine times)."""
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    # Reassignments write history rows (the call stays with its technician on site only through visits, so
    # the history is grown on the vouchers' side too).
    voucher = draft_voucher(technician=technician, call=call)
    voucher = services.service_voucher_sign(
        user=technician, voucher_id=voucher.pk, signature_png=png_signature(), signed_by_name="王先生"
    )
    for _ in range(9):
        draft = services.service_voucher_correct(user=technician, voucher_id=voucher.pk)
        voucher = services.service_voucher_sign(
            user=technician,
            voucher_id=draft.pk,
            signature_png=png_signature(),
            signed_by_name="王先生",
            fee_difference_reason="Corrected",
        )
    assert call.vouchers.count() == 10
    return call


def _plain_call(*, dispatcher, technician):
    return call_on_site(dispatcher=dispatcher, technician=technician)


def test_my_calls_costs_the_same_for_one_call_and_for_twelve(client, dispatcher, technician):
    client.force_login(technician)
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    one = _queries(client, reverse("repairs:my_calls"))
    for _ in range(11):
        more = log_call(dispatcher=dispatcher)
        services.repair_call_dispatch(user=dispatcher, call_id=more.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    twelve = _queries(client, reverse("repairs:my_calls"))
    assert one == twelve <= BUDGET


def test_new_voucher_form_costs_the_same_whatever_the_call_has_behind_it(client, dispatcher, technician, technician_b):
    client.force_login(technician)
    plain = _plain_call(dispatcher=dispatcher, technician=technician)
    few = _queries(client, reverse("repairs:voucher_create", args=[plain.pk]))
    busy = _busy_call(dispatcher=dispatcher, technician=technician, technician_b=technician_b)
    for number in range(20):
        stock_van(technician=technician, part_number=f"CAT-{number:02d}", quantity=1)
    many = _queries(client, reverse("repairs:voucher_create", args=[busy.pk]))
    assert few == many <= BUDGET


def _voucher_with_parts(*, dispatcher, technician, count):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    lines = []
    for number in range(count):
        stock_van(technician=technician, part_number=f"VP-{number:02d}", quantity=2)
        lines.append(services.PartLine(part_number=f"VP-{number:02d}", quantity=1, unit_price=None, description=""))
    return draft_voucher(technician=technician, call=call, parts=lines)


@pytest.mark.parametrize("page", ["repairs:voucher_edit", "repairs:voucher_sign"])
def test_voucher_edit_and_signature_cost_the_same_for_one_part_and_for_ten(client, dispatcher, technician, page):
    client.force_login(technician)
    one = _voucher_with_parts(dispatcher=dispatcher, technician=technician, count=1)
    few = _queries(client, reverse(page, args=[one.pk]))
    ten = _voucher_with_parts(dispatcher=dispatcher, technician=technician, count=10)
    assert ten.parts.count() == 10
    many = _queries(client, reverse(page, args=[ten.pk]))
    assert few == many <= BUDGET


def test_a_correction_to_sign_stays_within_the_budget(client, dispatcher, technician, technician_b):
    """The signature page of a correction also reads what the visit has settled (the fee difference)."""
    client.force_login(technician)
    busy = _busy_call(dispatcher=dispatcher, technician=technician, technician_b=technician_b)
    signed = busy.vouchers.order_by("-id").first()
    draft = services.service_voucher_correct(user=technician, voucher_id=signed.pk)
    assert _queries(client, reverse("repairs:voucher_sign", args=[draft.pk])) <= BUDGET


def test_repair_card_costs_the_same_for_a_new_card_and_one_with_a_long_history(
    client, dispatcher, technician, supervisor
):
    client.force_login(technician)
    fresh = carried_in(dispatcher=dispatcher, technician=technician)
    services.register_entry_receive(user=dispatcher, entry_id=fresh.register_entry.pk, storage_location="Shelf A")
    few = _queries(client, fresh.get_absolute_url())

    worn = carried_in(dispatcher=dispatcher, technician=technician)
    services.register_entry_receive(user=dispatcher, entry_id=worn.register_entry.pk, storage_location="Shelf B")
    for _ in range(10):
        services.repair_card_transition(user=technician, card_id=worn.pk, to_status=RepairCard.Status.IN_REPAIR)
        services.repair_card_transition(
            user=technician, card_id=worn.pk, to_status=RepairCard.Status.WAITING_PARTS, note="Board on order"
        )
    for days in (3, 4, 5):
        services.repair_card_report_delay(
            user=technician,
            card_id=worn.pk,
            reason="Supplier late",
            new_promised_at=timezone.now() + dt.timedelta(days=days),
        )
    many = _queries(client, worn.get_absolute_url())
    assert few == many <= BUDGET
    # The supervisor sees the reschedule form too, at the same cost.
    client.force_login(supervisor)
    assert _queries(client, worn.get_absolute_url()) <= BUDGET


def test_the_pages_keep_their_actions_and_money(client, dispatcher, technician):
    """Drawn without crispy, the pages still carry their fields, errors and amounts."""
    client.force_login(technician)
    voucher = _voucher_with_parts(dispatcher=dispatcher, technician=technician, count=2)
    page = client.get(reverse("repairs:voucher_edit", args=[voucher.pk])).text
    for name in ("departed_at", "work_done", "labour_charge", "misuse", "parts-0-part_number", "parts-2-quantity"):
        assert f'name="{name}"' in page
    assert 'name="parts-TOTAL_FORMS" value="3"' in page  # the two parts and one empty row
    refused = client.post(
        reverse("repairs:voucher_edit", args=[voucher.pk]),
        {
            "departed_at": "",
            "work_done": "",
            "labour_charge": "-1",
            "parts-TOTAL_FORMS": "1",
            "parts-INITIAL_FORMS": "0",
            "parts-0-part_number": "",
            "parts-0-quantity": "2",
        },
    )
    assert refused.status_code == 400
    assert refused.text.count("is-invalid") >= 4  # departed_at, work_done, labour_charge, the part's number
    assert "Enter the part number." in refused.text
    sign = client.get(reverse("repairs:voucher_sign", args=[voucher.pk])).text
    assert f"{voucher.total_due}" in sign and 'name="signed_by_name"' in sign and 'name="signature"' in sign
    assert Decimal(voucher.total_due) > 0


def test_the_visits_money_read_in_one_query_matches_the_ledger(dispatcher, technician, supervisor):
    from repairs.selectors_field import visit_money
    from repairs.services.fees import fee_account_for
    from tests.repairs.field import signed_voucher

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    assert visit_money(voucher=voucher) == (False, fee_account_for(voucher=voucher))
    services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("100.00"))
    services.fee_balance_write_off(user=supervisor, voucher_id=voucher.pk, amount=Decimal("0.50"), reason="Coins")
    voucher.refresh_from_db()
    has_money, account = visit_money(voucher=voucher)
    assert has_money and account == fee_account_for(voucher=voucher)
    assert account.collected == Decimal("100.00") and account.written_off == Decimal("0.50")
