"""DOMAIN 2, clause 十: one visit one fee (corrections carry it), adjustments, balances, write-offs."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from repairs import selectors_field, services
from repairs.models import FeeAdjustment, FeeCollection, ServiceVoucher
from servicedesk.exceptions import ApplicationError
from tests.conftest import is_postgres

from .field import call_on_site, draft_voucher, png_signature, signed_voucher

TOTAL = Decimal("200.50")  # the helpers' voucher: 100 labour + 2 × 50.25


@pytest.fixture
def visit(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    return signed_voucher(technician=technician, call=call)


def correct(*, user, voucher, labour=None, reason="", parts=None):
    """A correction signed by the customer: the same visit with a new labour charge (total = labour + 100.50)."""
    draft = services.service_voucher_correct(user=user, voucher_id=voucher.pk)
    if labour is not None:
        draft = services.service_voucher_update(
            user=user,
            voucher_id=draft.pk,
            departed_at=draft.departed_at,
            work_done=draft.work_done,
            parts=[services.PartLine(part_number="FU-220", quantity=2, unit_price=Decimal("50.25"))]
            if parts is None
            else parts,
            labour_charge=labour,
        )
    return services.service_voucher_sign(
        user=user,
        voucher_id=draft.pk,
        signature_png=png_signature(),
        signed_by_name="王先生",
        fee_difference_reason=reason,
    )


def test_a_correction_of_a_collected_voucher_refuses_a_second_fee(visit, technician):
    """Issue 12's control: one visit, two fees. The correction carries the fee instead."""
    fee = services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    correction = correct(user=technician, voucher=visit)
    with pytest.raises(ApplicationError) as refused:
        services.fee_collection_record(user=technician, voucher_id=correction.pk, amount=TOTAL)
    assert visit.number in refused.value.message and fee.receipt_number in refused.value.message
    assert "carries it" in refused.value.message
    assert FeeCollection.objects.count() == 1
    fee.refresh_from_db()
    assert fee.voucher_id == correction.pk and fee.collected_on_id == visit.pk
    correction.refresh_from_db()
    assert correction.settlement == ServiceVoucher.Settlement.ON_SITE and correction.fee_balance == 0


def test_the_fee_form_on_a_carried_correction_refuses_a_second_fee_with_a_message(client, visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    correction = correct(user=technician, voucher=visit)
    client.force_login(technician)
    page = client.get(correction.get_absolute_url())
    assert 'id="fee-form"' not in page.text and "carried from" in page.text
    # The page offers no fee form, so the refusal comes back as a message on the voucher's page.
    response = client.post(reverse("repairs:voucher_fee", args=[correction.pk]), {"amount": "200.50"}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == correction.get_absolute_url()
    assert "Nothing is left to collect" in response.text
    assert FeeCollection.objects.count() == 1


def test_the_superseded_voucher_takes_no_fee_either(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("50.00"))
    correct(user=technician, voucher=visit)
    with pytest.raises(ApplicationError, match="signed voucher that has not been corrected"):
        services.fee_balance_collect(user=technician, voucher_id=visit.pk, amount=Decimal("10.00"))


def test_a_correction_raising_the_total_leaves_the_difference_to_collect_with_its_reason(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    correction = correct(user=technician, voucher=visit, labour=Decimal("130.00"), reason="Second fuser fitted")
    line = FeeAdjustment.objects.get()
    assert (line.kind, line.amount, line.reason, line.created_by) == (
        FeeAdjustment.Kind.COLLECT,
        Decimal("30.00"),
        "Second fuser fitted",
        technician,
    )
    assert line.made_on_id == correction.pk
    assert correction.fee_balance == Decimal("30.00")
    with pytest.raises(ApplicationError, match=r"balance of 30\.00"):
        services.fee_balance_collect(user=technician, voucher_id=correction.pk, amount=Decimal("30.01"))
    extra = services.fee_balance_collect(user=technician, voucher_id=correction.pk, amount=Decimal("30.00"))
    assert extra.kind == FeeCollection.Kind.BALANCE and extra.receipt_number.endswith("-000002")
    correction.refresh_from_db()
    assert correction.fee_balance == 0


def test_a_correction_lowering_the_total_refunds_the_difference_with_its_reason(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    correction = correct(user=technician, voucher=visit, labour=Decimal("60.00"), reason="Labour charged twice")
    line = FeeAdjustment.objects.get()
    expected = (FeeAdjustment.Kind.REFUND, Decimal("40.00"), "Labour charged twice")
    assert (line.kind, line.amount, line.reason) == expected
    assert correction.fee_balance == 0
    account = services.fee_account_for(voucher=correction)
    assert account.collected - account.refunded == correction.total_due == Decimal("160.50")


def test_a_correction_lowering_the_total_within_a_part_payments_balance_reduces_it(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("100.00"))
    correction = correct(user=technician, voucher=visit, labour=Decimal("50.00"), reason="Shorter job")
    line = FeeAdjustment.objects.get()
    assert (line.kind, line.amount) == (FeeAdjustment.Kind.REDUCE, Decimal("50.00"))
    assert correction.fee_balance == Decimal("50.50")  # 150.50 less the 100.00 collected


def test_a_correction_lowering_the_total_below_a_part_payment_reduces_and_refunds(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    correction = correct(user=technician, voucher=visit, labour=Decimal("0.00"), reason="No labour charged")
    lines = {line.kind: line.amount for line in FeeAdjustment.objects.all()}
    # 200.50 → 100.50: the 50.50 still owed goes, and 49.50 of the 150.00 collected is handed back.
    assert lines == {FeeAdjustment.Kind.REDUCE: Decimal("50.50"), FeeAdjustment.Kind.REFUND: Decimal("49.50")}
    assert correction.fee_balance == 0


def test_an_unchanged_total_needs_no_reason_and_keeps_a_part_payments_balance(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("50.00"))
    correction = correct(user=technician, voucher=visit)
    assert correction.fee_balance == Decimal("150.50") and not FeeAdjustment.objects.exists()


def test_a_correction_cannot_refund_what_was_written_off(visit, technician, supervisor):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("100.00"))
    services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="Goodwill")
    # 200.50 settled (100.00 cash + 100.50 written off): a total of 50.00 would refund 150.50, more than the cash.
    with pytest.raises(ApplicationError, match="written off"):
        correct(user=technician, voucher=visit, labour=Decimal("50.00"), parts=[], reason="Parts not used")


def test_a_fee_difference_without_a_reason_is_refused_and_nothing_is_signed(visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    with pytest.raises(ApplicationError, match="reason") as refused:
        correct(user=technician, voucher=visit, labour=Decimal("60.00"))
    assert refused.value.field == "fee_difference_reason"
    visit.refresh_from_db()
    assert visit.status == ServiceVoucher.Status.SIGNED
    assert FeeCollection.objects.get().voucher_id == visit.pk and not FeeAdjustment.objects.exists()


def test_the_sign_page_of_a_correction_asks_why_the_fee_differs(client, visit, technician):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    draft = services.service_voucher_correct(user=technician, voucher_id=visit.pk)
    services.service_voucher_update(
        user=technician,
        voucher_id=draft.pk,
        departed_at=draft.departed_at,
        work_done=draft.work_done,
        labour_charge=Decimal("150.00"),
    )
    client.force_login(technician)
    page = client.get(reverse("repairs:voucher_sign", args=[draft.pk]))
    assert 'id="fee-difference"' in page.text and "fee_difference_reason" in page.text
    assert "refund 50.50 yuan" in page.text  # 150.00 against 200.50 collected


def test_a_correction_of_an_uncollected_voucher_takes_the_visits_fee(visit, technician):
    correction = correct(user=technician, voucher=visit)
    fee = services.fee_collection_record(user=technician, voucher_id=correction.pk, amount=TOTAL)
    assert fee.kind == FeeCollection.Kind.FEE and fee.collected_on_id == correction.pk


def test_a_part_payment_leaves_a_balance_on_the_call_until_collected(visit, technician, dispatcher):
    fee = services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    assert fee.kind == FeeCollection.Kind.FEE
    call = visit.call
    assert selectors_field.call_fee_balance(user=dispatcher, call=call) == Decimal("50.50")
    assert selectors_field.fee_balances_of_calls(user=dispatcher, call_ids=[call.pk]) == {call.pk: Decimal("50.50")}
    services.fee_balance_collect(user=technician, voucher_id=visit.pk, amount=Decimal("20.50"))
    assert selectors_field.call_fee_balance(user=dispatcher, call=call) == Decimal("30.00")
    services.fee_balance_collect(user=technician, voucher_id=visit.pk, amount=Decimal("30.00"))
    assert selectors_field.call_fee_balance(user=dispatcher, call=call) == 0
    assert selectors_field.fee_balances_of_calls(user=dispatcher, call_ids=[call.pk]) == {}
    with pytest.raises(ApplicationError, match="Nothing is left"):
        services.fee_balance_collect(user=technician, voucher_id=visit.pk, amount=Decimal("1.00"))


def test_the_customers_balance_adds_up_their_calls(visit, dispatcher, technician, other_supervisor):
    other = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    services.fee_collection_record(user=technician, voucher_id=other.pk, amount=Decimal("200.00"))
    for voucher in (visit, other):
        assert selectors_field.customer_fee_balance(user=dispatcher, customer_id=voucher.call.customer_id) > 0
    assert selectors_field.customer_fee_balance(user=dispatcher, customer_id=visit.call.customer_id) == Decimal(
        "50.50"
    )
    assert selectors_field.customer_fee_balance(user=other_supervisor, customer_id=visit.call.customer_id) == 0


def test_another_units_user_sees_no_balance(visit, technician, other_supervisor):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    assert selectors_field.fee_balances_of_calls(user=other_supervisor, call_ids=[visit.call_id]) == {}


def test_the_balance_form_is_not_offered_before_the_fee(visit, technician):
    with pytest.raises(ApplicationError, match="record the fee first"):
        services.fee_balance_collect(user=technician, voucher_id=visit.pk, amount=Decimal("1.00"))


def test_a_supervisor_writes_off_a_balance_with_a_reason(visit, technician, supervisor, dispatcher):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    with pytest.raises(ApplicationError, match="supervisor"):
        services.fee_balance_write_off(user=technician, voucher_id=visit.pk, reason="Customer moved away")
    with pytest.raises(ApplicationError, match="not allowed"):
        services.fee_balance_write_off(user=dispatcher, voucher_id=visit.pk, reason="Customer moved away")
    with pytest.raises(ApplicationError, match="reason"):
        services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="  ")
    line = services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="Customer moved away")
    assert (line.kind, line.amount, line.created_by) == (FeeAdjustment.Kind.WRITE_OFF, Decimal("50.50"), supervisor)
    visit.refresh_from_db()
    assert visit.fee_balance == 0
    with pytest.raises(ApplicationError, match="Nothing is left"):
        services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="again")


def test_a_write_off_of_part_of_the_balance_leaves_the_rest(visit, technician, supervisor):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    with pytest.raises(ApplicationError, match="cannot exceed"):
        services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="x", amount=Decimal("50.51"))
    services.fee_balance_write_off(user=supervisor, voucher_id=visit.pk, reason="Goodwill", amount=Decimal("0.50"))
    visit.refresh_from_db()
    assert visit.fee_balance == Decimal("50.00")


def test_the_write_off_page_records_it_and_is_refused_to_a_technician(client, visit, technician, supervisor):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    url = reverse("repairs:voucher_write_off", args=[visit.pk])
    client.force_login(technician)
    assert 'id="write-off-form"' not in client.get(visit.get_absolute_url()).text
    # Not offered to a technician: the refusal comes back as a message on the voucher's page.
    refused = client.post(url, {"reason": "Customer moved away"}, follow=True)
    assert refused.redirect_chain and "supervisor" in refused.text
    assert not FeeAdjustment.objects.exists()
    client.force_login(supervisor)
    page = client.get(visit.get_absolute_url())
    assert 'id="write-off-form"' in page.text and "50.50" in page.text
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 400
    done = client.post(url, {"reason": "Customer moved away"})
    assert done.status_code == 302
    assert FeeAdjustment.objects.get().reason == "Customer moved away"


def test_the_call_page_shows_the_balance(client, visit, technician, dispatcher):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    client.force_login(dispatcher)
    page = client.get(visit.call.get_absolute_url())
    assert 'id="call-fee-balance"' in page.text and "50.50" in page.text


def test_a_signed_on_site_voucher_without_a_fee_is_not_collected_on_the_reconciliation(
    client, visit, technician, dispatcher, unit
):
    report = selectors_field.fee_reconciliation(user=dispatcher, unit=unit, day=timezone.localdate())
    assert [v.pk for v in report.not_collected] == [visit.pk] and report.not_collected_total == TOTAL
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:fee_reconciliation"))
    assert 'id="not-collected"' in page.text and visit.number in page.text
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=Decimal("150.00"))
    report = selectors_field.fee_reconciliation(user=dispatcher, unit=unit, day=timezone.localdate())
    assert report.not_collected == []
    assert [(v.pk, v.fee_balance) for v in report.open_balances] == [(visit.pk, Decimal("50.50"))]


def test_free_invoiced_and_draft_vouchers_are_never_not_collected(dispatcher, technician, unit):
    free_call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    signed_voucher(technician=technician, call=free_call)
    signed_voucher(
        technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician), labour=Decimal("450")
    )
    draft_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    report = selectors_field.fee_reconciliation(user=dispatcher, unit=unit, day=timezone.localdate())
    assert report.not_collected == [] and report.open_balances == []


def test_a_voucher_signed_after_the_day_is_not_on_that_days_reconciliation(visit, dispatcher, unit):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    report = selectors_field.fee_reconciliation(user=dispatcher, unit=unit, day=yesterday)
    assert report.not_collected == []


def test_the_reconciliation_lists_the_days_adjustments_and_prints_them(client, visit, technician, supervisor, unit):
    services.fee_collection_record(user=technician, voucher_id=visit.pk, amount=TOTAL)
    correct(user=technician, voucher=visit, labour=Decimal("60.00"), reason="Labour charged twice")
    report = selectors_field.fee_reconciliation(user=supervisor, unit=unit, day=timezone.localdate())
    assert [a.kind for a in report.adjustments] == [FeeAdjustment.Kind.REFUND]
    assert report.refunded_total == Decimal("40.00") and report.written_off_total == 0
    client.force_login(supervisor)
    page = client.get(reverse("repairs:fee_reconciliation"))
    assert "Labour charged twice" in page.text
    pdf = client.get(reverse("repairs:fee_reconciliation_pdf"))
    assert pdf.status_code == 200


def test_the_reconciliation_stays_flat_in_queries_with_balances_and_adjustments(
    client, dispatcher, technician, supervisor, django_assert_max_num_queries
):
    client.force_login(dispatcher)
    url = reverse("repairs:fee_reconciliation")

    def add(n):
        for _ in range(n):
            v = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
            services.fee_collection_record(user=technician, voucher_id=v.pk, amount=Decimal("100.00"))
            services.fee_balance_write_off(user=supervisor, voucher_id=v.pk, reason="r", amount=Decimal("1.00"))
            signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))

    add(1)
    client.get(url)
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    add(3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert page.text.count("row-overdue") >= 4  # the not-collected vouchers stand out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL row locks")
def test_a_balance_collected_and_written_off_at_once_is_settled_once(dispatcher, technician, supervisor):
    voucher = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("150.00"))
    barrier = threading.Barrier(2)
    outcomes = []

    def run(action):
        try:
            barrier.wait()
            action()
            outcomes.append("ok")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    actions = [
        lambda: services.fee_balance_collect(user=technician, voucher_id=voucher.pk, amount=Decimal("50.50")),
        lambda: services.fee_balance_write_off(user=supervisor, voucher_id=voucher.pk, reason="Customer moved"),
    ]
    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    voucher.refresh_from_db()
    account = services.fee_account_for(voucher=voucher)
    assert voucher.fee_balance == account.balance == 0
    assert account.collected + account.written_off == voucher.total_due
