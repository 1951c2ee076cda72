import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import ServiceVoucher
from repairs.services import coverage
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for
from tests.factories import CustomerFactory, SiteFactory, log_call

from .field import call_on_site, draft_voucher, png_signature, signature_data_url, signed_voucher, stock_van


def test_a_product_in_warranty_is_served_free_with_nothing_due(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    voucher = draft_voucher(technician=technician, call=call)
    assert voucher.cover == ServiceVoucher.Cover.WARRANTY
    assert not voucher.is_paid
    assert voucher.total_due == Decimal("0.00")


def test_out_of_warranty_without_contract_is_paid_labour_plus_parts(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="expired")
    voucher = draft_voucher(technician=technician, call=call, labour=Decimal("80.00"))
    assert voucher.cover == ServiceVoucher.Cover.OUT_OF_COVER
    assert voucher.total_due == Decimal("180.50")  # 80 + 2 × 50.25
    assert isinstance(voucher.total_due, Decimal)


def test_misuse_is_paid_even_in_warranty(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    voucher = draft_voucher(technician=technician, call=call, misuse=True)
    assert voucher.cover == ServiceVoucher.Cover.MISUSE
    assert voucher.total_due > 0


def test_a_maintenance_contract_covering_the_visit_day_makes_it_free(dispatcher, technician, monkeypatch):
    class Term:
        class contract:  # stands in for the contracts app's term.contract
            number = "MC-2026-0042"

    seen = {}

    def covering(*, product, site, on):
        seen.update(product=product, site=site, on=on)
        return Term()

    monkeypatch.setattr(coverage, "contract_covering", covering)
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="expired")
    voucher = draft_voucher(technician=technician, call=call)
    assert voucher.cover == ServiceVoucher.Cover.CONTRACT
    assert voucher.contract_reference == "MC-2026-0042"
    assert voucher.total_due == 0
    assert seen["product"] == call.product and seen["on"] == timezone.localdate()


def test_the_warranty_decides_alone_when_there_is_no_contract_lookup(monkeypatch):
    monkeypatch.setattr(coverage, "contract_covering", None)
    decision = coverage.service_is_paid(product=None, site=None, on=dt.date(2026, 5, 1))
    assert decision.is_paid


def test_a_call_without_product_falls_back_on_the_cover_logged_with_it(dispatcher, technician):
    site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
    call = log_call(dispatcher=dispatcher, site=site, coverage="warranty")
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    call.refresh_from_db()
    voucher = draft_voucher(technician=technician, call=call)
    assert voucher.cover == ServiceVoucher.Cover.WARRANTY


def test_a_voucher_needs_the_technician_on_site(dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    with pytest.raises(ApplicationError):
        services.service_voucher_create(
            user=technician,
            call_id=call.pk,
            departed_at=timezone.now(),
            work_done="x",
        )


def test_only_the_assigned_technician_fills_the_voucher(dispatcher, technician, technician_b):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError):
        draft_voucher(technician=technician_b, call=call)


def test_leaving_before_arriving_is_refused(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    with pytest.raises(ApplicationError) as exc:
        services.service_voucher_create(
            user=technician,
            call_id=call.pk,
            departed_at=timezone.now() - dt.timedelta(hours=1),
            work_done="x",
        )
    assert exc.value.field == "departed_at"


def test_signing_stores_the_signature_who_signed_and_when(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    voucher.refresh_from_db()
    assert voucher.status == ServiceVoucher.Status.SIGNED
    assert bytes(voucher.signature_png).startswith(b"\x89PNG")
    assert voucher.signed_by_name == "王先生"
    assert voucher.signed_at is not None
    assert [c.to_status for c in history_for(voucher)] == ["draft", "signed"]


@pytest.mark.parametrize("raw", [b"", b"GIF89a not a png", png_signature(blank=True)])
def test_an_empty_or_foreign_signature_is_refused(dispatcher, technician, raw):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call)
    with pytest.raises(ApplicationError) as exc:
        services.service_voucher_sign(user=technician, voucher_id=voucher.pk, signature_png=raw, signed_by_name="A")
    assert exc.value.field == "signature"
    voucher.refresh_from_db()
    assert voucher.status == ServiceVoucher.Status.DRAFT


def test_a_signed_voucher_cannot_be_changed_by_the_service(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    with pytest.raises(ApplicationError, match="signed"):
        services.service_voucher_update(
            user=technician,
            voucher_id=voucher.pk,
            departed_at=voucher.departed_at,
            work_done="rewritten",
        )
    with pytest.raises(ApplicationError):
        services.service_voucher_sign(
            user=technician, voucher_id=voucher.pk, signature_png=png_signature(), signed_by_name="B"
        )
    voucher.refresh_from_db()
    assert voucher.work_done != "rewritten" and voucher.signed_by_name == "王先生"


def test_a_signed_voucher_cannot_be_changed_through_the_page(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    url = reverse("repairs:voucher_edit", args=[voucher.pk])
    assert client.get(url).status_code == 302
    response = client.post(
        url,
        {
            "arrived_at": "2026-01-01T08:00",
            "departed_at": "2026-01-01T09:00",
            "work_done": "rewritten",
            "labour_charge": "1",
            "parts-TOTAL_FORMS": "0",
            "parts-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "can no longer be changed" in response.text
    voucher.refresh_from_db()
    assert voucher.work_done != "rewritten"
    response = client.post(
        reverse("repairs:voucher_sign", args=[voucher.pk]),
        {"signed_by_name": "X", "signature": signature_data_url()},
    )
    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.signed_by_name == "王先生"


def test_a_correction_is_a_new_voucher_that_supersedes_the_signed_one(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    original = signed_voucher(technician=technician, call=call)
    correction = services.service_voucher_correct(user=technician, voucher_id=original.pk)
    assert services.service_voucher_correct(user=technician, voucher_id=original.pk) == correction
    assert correction.corrects == original and correction.status == ServiceVoucher.Status.DRAFT
    assert correction.number != original.number
    assert [p.part_number for p in correction.parts.all()] == ["FU-220"]
    services.service_voucher_update(
        user=technician,
        voucher_id=correction.pk,
        departed_at=correction.departed_at,
        work_done="Replaced the fuser unit and the roller.",
        labour_charge=Decimal("120.00"),
    )
    services.service_voucher_sign(
        user=technician, voucher_id=correction.pk, signature_png=png_signature(), signed_by_name="王先生"
    )
    original.refresh_from_db()
    assert original.status == ServiceVoucher.Status.SUPERSEDED
    assert original.work_done == "Replaced the fuser unit; test print OK."


def test_the_technician_fills_and_signs_a_voucher_on_the_phone_pages(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    stock_van(technician=technician, part_number="RL-9", quantity=1, unit_price=Decimal("15.50"), name="Roller")
    client.force_login(technician)
    assert client.get(reverse("repairs:voucher_create", args=[call.pk])).status_code == 200
    now = timezone.localtime()
    response = client.post(
        reverse("repairs:voucher_create", args=[call.pk]),
        {
            "arrived_at": timezone.localtime(call.arrived_at).strftime("%Y-%m-%dT%H:%M"),
            "departed_at": now.strftime("%Y-%m-%dT%H:%M"),
            "work_done": "Cleaned the feeder",
            "labour_charge": "60.00",
            "parts-TOTAL_FORMS": "2",
            "parts-INITIAL_FORMS": "0",
            "parts-0-part_number": "RL-9",
            "parts-0-quantity": "1",
            "parts-0-unit_price": "15.50",
        },
    )
    voucher = ServiceVoucher.objects.get(call=call)
    assert response.status_code == 302 and response["Location"] == reverse("repairs:voucher_sign", args=[voucher.pk])
    assert voucher.total_due == Decimal("75.50")
    response = client.post(
        reverse("repairs:voucher_sign", args=[voucher.pk]),
        {"signed_by_name": "李女士", "signature": signature_data_url(), "version": voucher.version},
    )
    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == ServiceVoucher.Status.SIGNED and voucher.signed_by_name == "李女士"
    page = client.get(voucher.get_absolute_url())
    assert "data:image/png;base64," in page.text


def test_a_part_without_price_is_a_form_error_not_a_500(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_create", args=[call.pk]),
        {
            "arrived_at": timezone.localtime(call.arrived_at).strftime("%Y-%m-%dT%H:%M"),
            "departed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "work_done": "x",
            "labour_charge": "-5",
            "parts-TOTAL_FORMS": "1",
            "parts-INITIAL_FORMS": "0",
            "parts-0-part_number": "RL-9",
            "parts-0-quantity": "1",
        },
    )
    assert response.status_code == 400
    assert not ServiceVoucher.objects.exists()


def test_signing_without_drawing_is_a_form_error(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.post(reverse("repairs:voucher_sign", args=[voucher.pk]), {"signed_by_name": "A", "signature": ""})
    assert response.status_code == 400
    assert "not signed yet" in response.text
