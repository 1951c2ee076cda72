"""Issue 15: "your product is ready" and the expiry notice reach each customer by e-mail, SMS or letter."""

import datetime as dt

from django.core import mail

from contracts.models import ExpiryNotice
from contracts.services import contract_notices_issue, expiry_notices_deliver_pending
from notify.models import CustomerNoticePreference, PostalItem
from servicedesk import sms
from servicedesk.models import Notification
from servicedesk.notifications import CustomerNotice, customer_notices_queue, notifications_deliver_pending

from .conftest import card_in_repair, mark_repaired

D = dt.date
END = D(2031, 3, 31)  # noticed from 28 February 2031


def _ready_notices(card):
    return Notification.objects.filter(dedupe_key__startswith=f"repair-card-repaired:{card.pk}:")


def test_a_customer_with_email_is_told_by_email(dispatcher, technician):
    card = card_in_repair(dispatcher=dispatcher, technician=technician, email="buyer@example.com", phone="13812345678")
    mark_repaired(card, technician)
    notice = _ready_notices(card).get()
    assert (notice.channel, notice.to_email, notice.to_phone) == ("email", "buyer@example.com", "")
    assert not PostalItem.objects.exists()


def test_a_customer_without_email_is_told_by_sms_once(dispatcher, technician):
    card = card_in_repair(dispatcher=dispatcher, technician=technician, phone="138 1234 5678")
    mark_repaired(card, technician)
    notice = _ready_notices(card).get()
    assert (notice.channel, notice.to_phone) == ("sms", "13812345678")
    assert card.register_entry.receipt_number in notice.body
    notifications_deliver_pending()
    assert notifications_deliver_pending() == 0  # a second sweep sends nothing again
    assert [m.to for m in sms.outbox] == ["13812345678"]
    assert _ready_notices(card).get().sent_at is not None


def test_a_customer_with_neither_goes_on_the_postal_list_once(dispatcher, technician):
    card = card_in_repair(
        dispatcher=dispatcher, technician=technician, phone="021-5555-0101", address="上海市中山路1号"
    )
    mark_repaired(card, technician)
    assert not _ready_notices(card).exists()
    letter = PostalItem.objects.get()
    assert (letter.unit_id, letter.customer_id, letter.topic) == (card.unit_id, card.call.customer_id, "product-ready")
    assert card.number in letter.subject
    # The same notice written again (a retried request) is one letter.
    notice = CustomerNotice(
        topic="product-ready",
        dedupe_key=letter.dedupe_key,
        customer_id=letter.customer_id,
        unit_id=letter.unit_id,
        email="",
        phone="021-5555-0101",
        subject="x",
        body="x",
        sms_text="x",
    )
    customer_notices_queue(notices=[notice])
    assert PostalItem.objects.count() == 1


def test_the_preference_decides_over_the_addresses(dispatcher, technician):
    by_post = card_in_repair(dispatcher=dispatcher, technician=technician, email="a@example.com")
    CustomerNoticePreference.objects.create(customer=by_post.call.customer, channel="post")
    nothing = card_in_repair(dispatcher=dispatcher, technician=technician, email="b@example.com")
    CustomerNoticePreference.objects.create(customer=nothing.call.customer, channel="none")
    by_sms = card_in_repair(dispatcher=dispatcher, technician=technician, email="c@example.com")
    CustomerNoticePreference.objects.create(customer=by_sms.call.customer, channel="sms", mobile="13700000002")
    for card in (by_post, nothing, by_sms):
        mark_repaired(card, technician)
    assert not _ready_notices(by_post).exists() and PostalItem.objects.get().customer == by_post.call.customer
    assert not _ready_notices(nothing).exists()
    sms_notice = _ready_notices(by_sms).get()
    assert (sms_notice.channel, sms_notice.to_phone) == ("sms", "13700000002")


def test_asked_for_sms_without_a_mobile_falls_back_to_email(dispatcher, technician):
    card = card_in_repair(dispatcher=dispatcher, technician=technician, email="d@example.com")
    CustomerNoticePreference.objects.create(customer=card.call.customer, channel="sms")
    mark_repaired(card, technician)
    assert _ready_notices(card).get().channel == "email"


def test_expiry_notice_by_sms_by_letter_and_by_email(dispatcher, make_contract):
    by_email = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="e@example.com")
    by_sms = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="")
    by_sms.customer.phone = "13911112222"
    by_sms.customer.save()
    by_letter = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="")
    asked_sms = make_contract(user=dispatcher, start_on=D(2030, 4, 1), end_on=END, email="f@example.com")
    CustomerNoticePreference.objects.create(customer=asked_sms.customer, channel="sms", mobile="13933334444")

    assert contract_notices_issue(today=D(2031, 2, 28)) == 4
    assert contract_notices_issue(today=D(2031, 3, 1)) == 0  # exactly once per term

    sms_rows = Notification.objects.filter(dedupe_key__startswith="contract-expiry:", channel="sms")
    assert sorted(sms_rows.values_list("to_phone", flat=True)) == ["13911112222", "13933334444"]
    assert all(by_sms.number in row.body or asked_sms.number in row.body for row in sms_rows)
    letter = PostalItem.objects.get()
    assert letter.customer == by_letter.customer and letter.topic == "contract-expiry"
    # The customer who asked for SMS is not e-mailed the notice; the one by e-mail is, with its PDF.
    assert ExpiryNotice.objects.get(term__contract=asked_sms).email_to == ""
    mail.outbox.clear()
    expiry_notices_deliver_pending()
    assert [m.to for m in mail.outbox] == [["e@example.com"]]
    assert ExpiryNotice.objects.get(term__contract=by_email).emailed_at is not None
    notifications_deliver_pending()
    assert sorted(m.to for m in sms.outbox) == ["13911112222", "13933334444"]
