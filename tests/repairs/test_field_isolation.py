"""Every field-service URL: another unit's vouchers, fees, cards, register entries and letters are simply not found."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import FeeCollection, RepairCardDelay, ServiceVoucher

from .field import call_on_site, carried_in, signed_voucher


@pytest.fixture
def ours(dispatcher, technician, supervisor):
    """One of each field-service record in our unit."""
    card = carried_in(dispatcher=dispatcher, technician=technician)
    services.repair_card_reschedule(
        user=supervisor, card_id=card.pk, new_promised_at=timezone.now() + dt.timedelta(days=9)
    )
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=call)
    fee = services.fee_collection_record(
        user=technician, voucher_id=voucher.pk, amount=Decimal("10")
    )
    return {
        "call": call,
        "voucher": voucher,
        "fee": fee,
        "card": card,
        "entry": card.register_entry,
        "delay": RepairCardDelay.objects.get(card=card),
    }


def _object_urls(o):
    return [
        ("get", reverse("repairs:voucher_create", args=[o["call"].pk])),
        ("post", reverse("repairs:voucher_create", args=[o["call"].pk])),
        ("get", reverse("repairs:carry_in_open", args=[o["call"].pk])),
        ("post", reverse("repairs:carry_in_open", args=[o["call"].pk])),
        ("get", reverse("repairs:voucher_detail", args=[o["voucher"].pk])),
        ("get", reverse("repairs:voucher_edit", args=[o["voucher"].pk])),
        ("get", reverse("repairs:voucher_sign", args=[o["voucher"].pk])),
        ("post", reverse("repairs:voucher_correct", args=[o["voucher"].pk])),
        ("post", reverse("repairs:voucher_fee", args=[o["voucher"].pk])),
        ("post", reverse("repairs:voucher_invoice", args=[o["voucher"].pk])),
        ("get", reverse("repairs:voucher_pdf", args=[o["voucher"].pk])),
        ("post", reverse("repairs:fee_confirm", args=[o["fee"].pk])),
        ("get", reverse("repairs:fee_receipt_pdf", args=[o["fee"].pk])),
        ("post", reverse("repairs:voucher_write_off", args=[o["voucher"].pk])),
        ("get", reverse("repairs:card_detail", args=[o["card"].pk])),
        ("get", reverse("repairs:card_pdf", args=[o["card"].pk])),
        ("get", reverse("repairs:pickup_receipt_pdf", args=[o["card"].pk])),
        ("post", reverse("repairs:card_action", args=[o["card"].pk, "in_repair"])),
        ("post", reverse("repairs:card_action", args=[o["card"].pk, "receive"])),
        ("post", reverse("repairs:card_action", args=[o["card"].pk, "report_delay"])),
        ("post", reverse("repairs:card_action", args=[o["card"].pk, "reschedule"])),
        ("get", reverse("repairs:register_release", args=[o["entry"].pk])),
        ("post", reverse("repairs:register_release", args=[o["entry"].pk])),
        ("get", reverse("repairs:delay_letter_pdf", args=[o["delay"].pk])),
        ("post", reverse("repairs:delay_letter_sent", args=[o["delay"].pk])),
    ]


def test_another_units_staff_get_404_on_every_field_service_url(ours, other_supervisor):
    client = Client()
    client.force_login(other_supervisor)
    for method, url in _object_urls(ours):
        response = getattr(client, method)(url, {"storage_location": "X", "amount": "1", "reason": "Z"})
        assert response.status_code == 404, (method, url, response.status_code)
    assert ServiceVoucher.objects.count() == 2
    assert FeeCollection.objects.get().status == FeeCollection.Status.COLLECTED


def test_another_units_lists_do_not_show_our_records(ours, other_supervisor, unit):
    client = Client()
    client.force_login(other_supervisor)
    for name in ("card_list", "register", "supervision", "fee_reconciliation"):
        response = client.get(reverse(f"repairs:{name}"))
        assert response.status_code == 200, name
        for key in ("card", "voucher"):
            assert ours[key].number not in response.text, name
        assert ours["entry"].receipt_number not in response.text
    # Naming our unit in the filter does not help.
    response = client.get(reverse("repairs:fee_reconciliation"), {"unit": unit.pk})
    assert "R-1" not in response.text
    csv = client.get(reverse("repairs:register"), {"format": "csv", "unit": unit.pk})
    assert ours["entry"].receipt_number not in csv.content.decode("utf-8-sig")


def test_head_office_sees_every_units_register(ours, head_office):
    from servicedesk.roles import Role
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="ho-sup", unit=head_office, roles=[Role.SUPERVISOR]))
    response = client.get(reverse("repairs:register"))
    assert response.status_code == 200
    assert ours["entry"].receipt_number in response.text


def test_the_csrf_check_guards_the_new_forms(ours, technician):
    client = Client(enforce_csrf_checks=True)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_sign", args=[ours["voucher"].pk]), {"signed_by_name": "x", "signature": ""}
    )
    assert response.status_code == 403
