"""The pickup receipt (issue 16): signed by the customer on the technician's screen and sent by e-mail, not printed."""

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RegisterEntry, RepairCard
from servicedesk.models import Notification
from tests.repairs.field import call_on_site, png_signature, signature_data_url, signed_voucher


def _carry_in_form(voucher, **overrides):
    data = {
        "voucher": voucher.pk,
        "item_description": "SX-200 copier",
        "items_received": "Power cable",
        "fault_found": "Main board burnt",
        "work_planned": "Replace the main board",
        "parts_planned": "",
        "promised_at": (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "receipt_signed_by_name": "钱女士",
        "receipt_signature": signature_data_url(),
        "receipt_email": "qian@example.com",
    }
    data.update(overrides)
    return data


def test_the_customer_signs_the_receipt_on_screen_and_it_is_sent_by_email(
    client, dispatcher, technician, django_capture_on_commit_callbacks
):
    call = call_on_site(dispatcher=dispatcher, technician=technician, email="office@example.com")
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    form = client.get(reverse("repairs:carry_in_open", args=[call.pk])).text
    assert 'data-signature-pad="id_receipt_signature"' in form
    assert 'value="office@example.com"' in form  # the customer's address, to change if they want another
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("repairs:carry_in_open", args=[call.pk]), _carry_in_form(voucher), follow=True)
    card = RepairCard.objects.get(call=call)
    entry = RegisterEntry.objects.get(card=card)
    assert bytes(entry.pickup_signature_png).startswith(b"\x89PNG")
    assert entry.pickup_signed_by_name == "钱女士" and entry.receipt_sent_to == "qian@example.com"
    assert "sent to qian@example.com" in response.text and "Print the receipt" not in response.text
    notice = Notification.objects.get(dedupe_key=f"pickup-receipt:{entry.pk}")
    assert notice.to_email == "qian@example.com"
    assert entry.receipt_number in notice.subject and "Main board burnt" in notice.body and "钱女士" in notice.body
    # The receipt's document carries the signature instead of an empty line to sign on.
    pdf = client.get(reverse("repairs:pickup_receipt_pdf", args=[card.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_no_receipt_without_the_customers_signature(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:carry_in_open", args=[call.pk]), _carry_in_form(voucher, receipt_signature="")
    )
    assert response.status_code == 400
    assert "The customer has not signed yet." in response.text
    assert not RepairCard.objects.filter(call=call).exists()


def test_without_an_address_the_receipt_is_signed_and_nothing_is_sent(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:carry_in_open", args=[call.pk]), _carry_in_form(voucher, receipt_email=""), follow=True
    )
    entry = RegisterEntry.objects.get(call=call)
    assert entry.pickup_signed_by_name == "钱女士" and entry.receipt_sent_to == ""
    assert "the customer gave no address to send it to" in response.text
    assert not Notification.objects.filter(dedupe_key=f"pickup-receipt:{entry.pk}").exists()


def test_the_service_refuses_a_signature_without_a_name_and_a_blank_drawing(dispatcher, technician):
    import pytest

    from servicedesk.exceptions import ApplicationError

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    common = {
        "user": technician,
        "call_id": call.pk,
        "voucher_id": voucher.pk,
        "fault_found": "Burnt",
        "work_planned": "Replace",
        "promised_at": timezone.now() + dt.timedelta(days=1),
    }
    with pytest.raises(ApplicationError, match="who signs"):
        services.carry_in_open(**common, receipt_signature_png=png_signature(), receipt_signed_by_name=" ")
    with pytest.raises(ApplicationError, match="empty"):
        services.carry_in_open(**common, receipt_signature_png=png_signature(blank=True), receipt_signed_by_name="Qian")
    assert not RepairCard.objects.filter(call=call).exists()


def test_the_receipt_also_goes_by_sms_to_a_mobile(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, contact_phone="138 0013 8000")
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    form = client.get(reverse("repairs:carry_in_open", args=[call.pk])).text
    assert re.search(r'name="receipt_phone"[^>]*value="13800138000"', form)  # the contact's mobile, pre-filled
    response = client.post(
        reverse("repairs:carry_in_open", args=[call.pk]),
        _carry_in_form(voucher, receipt_phone="138-0013-8000"),
        follow=True,
    )
    entry = RegisterEntry.objects.get(call=call)
    assert entry.receipt_sent_to_phone == "13800138000"
    assert "sent to qian@example.com, 13800138000" in response.text
    sms = Notification.objects.get(dedupe_key=f"pickup-receipt-sms:{entry.pk}")
    assert sms.channel == Notification.Channel.SMS and sms.to_phone == "13800138000"
    assert entry.receipt_number in sms.body and entry.card.number in sms.body


def test_a_number_that_is_not_a_mobile_is_refused_with_the_form(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:carry_in_open", args=[call.pk]), _carry_in_form(voucher, receipt_phone="021-5555-0000")
    )
    assert response.status_code == 400 and "is not a mobile number an SMS can be sent to" in response.text
    assert not RepairCard.objects.filter(call=call).exists()
