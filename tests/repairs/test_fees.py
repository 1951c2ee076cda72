import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from repairs import selectors_field, services
from repairs.models import FeeCollection, ServiceVoucher, UnitFeePolicy
from servicedesk.exceptions import ApplicationError
from tests.conftest import is_postgres
from tests.factories import UserFactory

from .field import call_on_site, signed_voucher


@pytest.fixture
def paid_voucher(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    return signed_voucher(technician=technician, call=call)  # 100 + 2 × 50.25 = 200.50


def test_the_default_on_site_limit_is_the_standards_500_yuan(unit):
    assert UnitFeePolicy.objects.get(unit__isnull=True).onsite_fee_limit == Decimal("500.00")
    assert services.fee_policy_for(unit_id=unit.pk).onsite_fee_limit == Decimal("500.00")


def test_paid_service_up_to_the_limit_is_collected_on_site(paid_voucher, technician):
    assert paid_voucher.settlement == ServiceVoucher.Settlement.ON_SITE
    fee = services.fee_collection_record(
        user=technician, voucher_id=paid_voucher.pk, amount=Decimal("200.50")
    )
    assert fee.amount == Decimal("200.50") and fee.status == FeeCollection.Status.COLLECTED
    assert fee.technician == technician and fee.unit_id == paid_voucher.unit_id


def test_above_the_limit_the_clerk_invoices_instead(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call, labour=Decimal("450.00"))  # 550.50
    assert voucher.settlement == ServiceVoucher.Settlement.INVOICE
    with pytest.raises(ApplicationError, match="invoices"):
        services.fee_collection_record(
            user=technician, voucher_id=voucher.pk, amount=Decimal("100")
        )
    services.service_voucher_mark_invoiced(user=dispatcher, voucher_id=voucher.pk, invoice_number="INV-77")
    voucher.refresh_from_db()
    assert voucher.invoice_number == "INV-77" and voucher.invoiced_by == dispatcher
    with pytest.raises(ApplicationError):
        services.service_voucher_mark_invoiced(user=dispatcher, voucher_id=voucher.pk, invoice_number="INV-78")


def test_a_units_own_limit_overrides_the_default(unit, dispatcher, technician):
    UnitFeePolicy.objects.create(unit=unit, onsite_fee_limit=Decimal("1000.00"))
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call, labour=Decimal("450.00"))
    assert voucher.settlement == ServiceVoucher.Settlement.ON_SITE


def test_free_service_has_no_fee(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    voucher = signed_voucher(technician=technician, call=call)
    with pytest.raises(ApplicationError, match="free"):
        services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("1"))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("-1.00"), "negative"),
        (Decimal("0"), "more than zero"),
        (Decimal("200.51"), "exceed"),
        (Decimal("10.005"), "two decimals"),
    ],
)
def test_a_fee_is_positive_exact_and_within_the_vouchers_total(paid_voucher, technician, amount, message):
    with pytest.raises(ApplicationError, match=message):
        services.fee_collection_record(user=technician, voucher_id=paid_voucher.pk, amount=amount)
    assert not FeeCollection.objects.exists()


def test_a_fee_needs_a_signed_voucher(dispatcher, technician):
    from .field import draft_voucher

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call)
    with pytest.raises(ApplicationError, match="signed"):
        services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("1"))


def test_a_fee_is_recorded_once_per_voucher(paid_voucher, technician):
    services.fee_collection_record(
        user=technician, voucher_id=paid_voucher.pk, amount=Decimal("50")
    )
    with pytest.raises(ApplicationError, match="already recorded"):
        services.fee_collection_record(
            user=technician, voucher_id=paid_voucher.pk, amount=Decimal("50")
        )
    assert FeeCollection.objects.count() == 1


def test_receipt_numbers_come_from_the_units_series_in_order(dispatcher, technician, paid_voucher, unit):
    first = services.fee_collection_record(user=technician, voucher_id=paid_voucher.pk, amount=Decimal("5"))
    other = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    second = services.fee_collection_record(user=technician, voucher_id=other.pk, amount=Decimal("5"))
    year = timezone.localdate().year
    assert first.receipt_number == f"SJ-{unit.code}-{year}-000001"
    assert second.receipt_number == f"SJ-{unit.code}-{year}-000002"


def test_each_unit_has_its_own_receipt_series(dispatcher, technician, other_unit):
    voucher = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    ours = services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("5"))
    their_dispatcher = UserFactory(username="sz-disp", unit=other_unit, roles=["dispatcher"])
    their_tech = UserFactory(username="sz-tech", unit=other_unit, roles=["technician"])
    theirs_voucher = signed_voucher(
        technician=their_tech, call=call_on_site(dispatcher=their_dispatcher, technician=their_tech)
    )
    theirs = services.fee_collection_record(user=their_tech, voucher_id=theirs_voucher.pk, amount=Decimal("5"))
    assert ours.receipt_number.endswith("-000001") and theirs.receipt_number.endswith("-000001")
    assert ours.receipt_number != theirs.receipt_number


def test_a_double_submitted_fee_form_records_once_and_says_so(client, paid_voucher, technician):
    client.force_login(technician)
    url = reverse("repairs:voucher_fee", args=[paid_voucher.pk])
    first = client.post(url, {"amount": "200.50", "collections_seen": "0"})
    second = client.post(url, {"amount": "200.50", "collections_seen": "0"}, follow=True)
    assert first.status_code == 302
    assert second.status_code == 200
    assert "already recorded" in second.text
    assert FeeCollection.objects.filter(voucher=paid_voucher).count() == 1


def test_a_negative_fee_in_the_form_is_a_clear_error(client, paid_voucher, technician):
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_fee", args=[paid_voucher.pk]), {"amount": "-3"}
    )
    assert response.status_code == 400
    assert "cannot be negative" in response.text
    assert not FeeCollection.objects.exists()


def test_a_fee_above_the_total_in_the_form_is_a_clear_error(client, paid_voucher, technician):
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_fee", args=[paid_voucher.pk]), {"amount": "999"}
    )
    assert response.status_code == 400
    assert "cannot exceed" in response.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL row locks")
def test_two_concurrent_submits_record_one_fee(dispatcher, technician):
    voucher = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    barrier = threading.Barrier(2)
    outcomes = []

    def submit(receipt):
        try:
            barrier.wait()
            services.fee_collection_record(
                user=technician, voucher_id=voucher.pk, amount=Decimal("10")
            )
            outcomes.append("ok")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(r,)) for r in ("R-A", "R-B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert FeeCollection.objects.filter(voucher=voucher).count() == 1


def test_the_clerk_confirms_each_hand_over_once(paid_voucher, technician, dispatcher):
    fee = services.fee_collection_record(
        user=technician, voucher_id=paid_voucher.pk, amount=Decimal("200.50")
    )
    services.fee_collection_confirm_handover(user=dispatcher, fee_id=fee.pk)
    fee.refresh_from_db()
    assert fee.status == FeeCollection.Status.HANDED_OVER and fee.received_by == dispatcher
    with pytest.raises(ApplicationError, match="already confirmed"):
        services.fee_collection_confirm_handover(user=dispatcher, fee_id=fee.pk)


def test_a_technician_cannot_confirm_a_hand_over(client, paid_voucher, technician):
    fee = services.fee_collection_record(
        user=technician, voucher_id=paid_voucher.pk, amount=Decimal("200.50")
    )
    client.force_login(technician)
    assert client.post(reverse("repairs:fee_confirm", args=[fee.pk])).status_code == 403
    with pytest.raises(ApplicationError):
        services.fee_collection_confirm_handover(user=technician, fee_id=fee.pk)


def test_the_daily_reconciliation_shows_collected_handed_over_and_outstanding_per_technician(
    unit, dispatcher, technician, technician_b
):
    today = timezone.localdate()
    noon = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
    v1 = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    v2 = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    v3 = signed_voucher(technician=technician_b, call=call_on_site(dispatcher=dispatcher, technician=technician_b))
    services.fee_collection_record(
        user=technician, voucher_id=v1.pk, amount=Decimal("100.10"), collected_at=noon
    )
    old = services.fee_collection_record(
        user=technician,
        voucher_id=v2.pk,
        amount=Decimal("50.00"),
        collected_at=noon - dt.timedelta(days=3),
    )
    handed = services.fee_collection_record(
        user=technician_b, voucher_id=v3.pk, amount=Decimal("20.00"), collected_at=noon
    )
    services.fee_collection_confirm_handover(user=dispatcher, fee_id=handed.pk, now=noon + dt.timedelta(hours=1))

    report = selectors_field.fee_reconciliation(user=dispatcher, unit=unit, day=today)
    rows = {row.technician.username: row for row in report.rows}
    assert rows["tech"].collected == Decimal("100.10")
    assert rows["tech"].outstanding == Decimal("150.10")
    assert rows["tech"].overdue == Decimal("50.00")
    assert rows["tech-b"].collected == Decimal("20.00") and rows["tech-b"].handed_over == Decimal("20.00")
    assert rows["tech-b"].outstanding == 0
    assert report.totals.outstanding == Decimal("150.10")
    assert [f.pk for f in report.outstanding_fees if f.is_overdue] == [old.pk]


def test_the_reconciliation_page_highlights_older_outstanding_and_prints(client, unit, dispatcher, technician):
    v = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    old = services.fee_collection_record(
        user=technician,
        voucher_id=v.pk,
        amount=Decimal("30.00"),
        collected_at=timezone.now() - dt.timedelta(days=2),
    )
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:fee_reconciliation"))
    assert page.status_code == 200
    assert old.receipt_number in page.text and "row-overdue" in page.text
    pdf = client.get(reverse("repairs:fee_reconciliation_pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f"FEE-{unit.code}-" in pdf["Content-Disposition"]


def test_the_reconciliation_page_runs_a_fixed_number_of_queries(
    client, dispatcher, technician, django_assert_max_num_queries
):
    client.force_login(dispatcher)
    url = reverse("repairs:fee_reconciliation")
    client.get(url)

    def add_fees(n, start):
        for i in range(n):
            tech = UserFactory(username=f"t{start + i}", unit=dispatcher.unit, roles=["technician"])
            v = signed_voucher(technician=tech, call=call_on_site(dispatcher=dispatcher, technician=tech))
            services.fee_collection_record(
                user=tech, voucher_id=v.pk, amount=Decimal("1")
            )

    add_fees(1, 0)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    add_fees(4, 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_the_supervisor_who_recorded_a_fee_cannot_confirm_its_hand_over(paid_voucher, supervisor, dispatcher):
    """DOMAIN 2: the person who confirms a hand-over is neither the collector nor the recorder."""
    fee = services.fee_collection_record(
        user=supervisor, voucher_id=paid_voucher.pk, amount=Decimal("200.50")
    )
    with pytest.raises(ApplicationError, match="recorded"):
        services.fee_collection_confirm_handover(user=supervisor, fee_id=fee.pk)
    fee.refresh_from_db()
    assert fee.status == FeeCollection.Status.COLLECTED
    services.fee_collection_confirm_handover(user=dispatcher, fee_id=fee.pk)
    fee.refresh_from_db()
    assert fee.status == FeeCollection.Status.HANDED_OVER and fee.received_by == dispatcher


def test_a_refused_fee_on_an_invoice_voucher_shows_the_reason_on_the_page(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call, labour=Decimal("450.00"))  # above the on-site limit
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_fee", args=[voucher.pk]), {"amount": "100.00"}, follow=True
    )
    assert response.status_code == 200
    assert "the clerk invoices this service instead" in response.text
    assert not FeeCollection.objects.filter(voucher=voucher).exists()
