"""The periodic read of the desk's mailbox against the real IMAP server (dovecot, loopback)."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from complaints.models import ComplaintCase
from intake.mailbox import mailbox_read
from intake.models import InboundAttachment, InboundMessage
from intake.services import attachment_path
from intake.tasks import read_mailbox
from repairs.models import RepairCall
from servicedesk.workflow import history_for
from tests.bombs import png_bomb
from tests.factories import CustomerFactory, SiteFactory

from .conftest import email_message

pytestmark = pytest.mark.django_db


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 0, 0)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def known_customer(unit):
    customer = CustomerFactory(unit=unit, email="Customer@Example.com", name="Wang Trading")
    SiteFactory(customer=customer)
    return customer


def test_a_known_senders_email_becomes_a_call_received_when_the_mailbox_received_it(mailbox, known_customer):
    arrived = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    mailbox.append(email_message(sender="customer@example.com"), at=arrived)

    result = read_mailbox()

    assert result == {"fetched": 1, "handled": 1, "already": 0}
    call = RepairCall.objects.get()
    assert call.channel == RepairCall.Channel.EMAIL
    assert call.customer == known_customer and call.unit == known_customer.unit
    assert call.received_at == arrived  # the server's arrival, not the time it was read
    assert "Paper jams on tray 2" in call.problem and call.created_by is None
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.CALL_LOGGED and message.call == call
    assert history_for(call).get().to_status == RepairCall.Status.LOGGED
    assert mailbox.done_count() == 1  # marked on the server after the commit


def test_the_calls_page_says_it_was_read_from_the_mailbox(client, mailbox, known_customer, dispatcher):
    mailbox.append(email_message())
    mailbox_read()
    client.force_login(dispatcher)
    page = client.get(RepairCall.objects.get().get_absolute_url())
    assert "Read from the desk" in page.content.decode() and "Planned from the contract" not in page.content.decode()


def test_a_message_read_late_is_logged_late_with_its_true_time(mailbox, known_customer):
    mailbox.append(email_message(), at=timezone.now() - dt.timedelta(hours=9))
    mailbox_read()
    call = RepairCall.objects.get()
    assert call.logged_late and call.attend_by < timezone.now()


def test_an_unknown_sender_waits_to_be_matched_in_the_mailboxs_unit(mailbox, settings, unit, known_customer):
    settings.INTAKE_IMAP = {**settings.INTAKE_IMAP, "UNIT": unit.code}
    mailbox.append(email_message(sender="stranger@example.net"))
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.TO_MATCH
    assert message.match_reason == InboundMessage.Match.UNKNOWN_SENDER
    assert message.unit == unit and message.call is None
    assert not RepairCall.objects.exists()
    assert mailbox.done_count() == 1


def test_a_customer_with_several_sites_waits_with_the_customer_chosen(mailbox, known_customer):
    SiteFactory(customer=known_customer)
    mailbox.append(email_message())
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.TO_MATCH
    assert message.match_reason == InboundMessage.Match.CHOOSE_SITE
    assert message.customer == known_customer and message.unit == known_customer.unit


def test_a_reply_naming_a_call_goes_on_the_calls_history_and_logs_nothing(mailbox, known_customer):
    mailbox.append(email_message(subject="Copier"))
    mailbox_read()
    call = RepairCall.objects.get()
    mailbox.append(email_message(subject=f"Re: your call {call.number}", body="It jams again, please hurry."))

    mailbox_read()

    assert RepairCall.objects.count() == 1
    note = history_for(call).order_by("id").last()
    assert note.from_status == note.to_status == call.status
    assert "It jams again" in note.note and "customer@example.com" in note.note and note.by is None
    reply = InboundMessage.objects.get(status=InboundMessage.Status.REPLY)
    assert reply.call == call and reply.unit == call.unit


def test_a_reply_naming_a_complaint_case_goes_on_the_cases_history(mailbox, dispatcher, known_customer):
    from complaints.services import complaint_case_open

    case = complaint_case_open(user=dispatcher, unit=dispatcher.unit, customer=known_customer, description="Broken")
    mailbox.append(email_message(sender="someone@else.example", subject=f"[{case.number}] more photos"))

    mailbox_read()

    reply = InboundMessage.objects.get()
    assert reply.status == InboundMessage.Status.REPLY and reply.case == case
    assert "more photos" in history_for(case).order_by("id").last().note
    assert ComplaintCase.objects.get(pk=case.pk).status == case.status


def test_the_same_message_fetched_twice_is_handled_once(mailbox, known_customer):
    same = email_message(message_id="<one-and-only@example.com>")
    mailbox.append(same)
    mailbox.append(same)  # delivered twice (a resend, a second copy in the folder)
    first = mailbox_read()
    mailbox.clear_done()  # as if the marks had never reached the server
    second = mailbox_read()

    assert RepairCall.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert (first.handled, first.already) == (1, 1)
    assert (second.handled, second.already) == (0, 2)
    assert mailbox.done_count() == 2


def test_a_message_without_message_id_is_handled_once_by_its_header_and_size(mailbox, known_customer):
    raw = email_message(message_id=None).as_bytes()
    mailbox.append(raw)
    mailbox.append(raw)
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.dedupe_key.startswith("hdr-sha256:") and RepairCall.objects.count() == 1


def test_a_run_with_nothing_new_does_nothing(mailbox, known_customer):
    mailbox.append(email_message())
    mailbox_read()
    again = mailbox_read()
    assert (again.fetched, again.handled) == (0, 0) and RepairCall.objects.count() == 1


MALFORMED = (
    b"From: Broken <broken@example.com>\r\n"
    b"Subject: parts\r\n"
    b"Message-ID: <broken-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="never-there"\r\n'
    b"\r\n"
    b"no boundary ever starts here\r\n"
)


def test_a_malformed_message_is_quarantined_with_the_reason_and_kept(mailbox, known_customer):
    mailbox.append(MALFORMED)
    mailbox.append(email_message())  # the next message is still read

    run = mailbox_read()

    assert run.handled == 2
    quarantined = InboundMessage.objects.get(status=InboundMessage.Status.QUARANTINED)
    assert quarantined.quarantine_reason == InboundMessage.Reason.MALFORMED
    assert "StartBoundaryNotFoundDefect" in quarantined.quarantine_detail
    assert bytes(quarantined.raw) == MALFORMED and quarantined.from_address == "broken@example.com"
    assert RepairCall.objects.count() == 1
    assert mailbox.done_count() == 2
    mailbox.clear_done()
    assert mailbox_read().already == 2  # quarantined once, not again


def test_a_message_without_a_sender_is_quarantined(mailbox):
    mailbox.append(b"Subject: who am I\r\nMessage-ID: <nosender@example.com>\r\n\r\nhello\r\n")
    mailbox_read()
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.QUARANTINED
    assert message.quarantine_reason == InboundMessage.Reason.NO_SENDER


def test_a_huge_message_is_quarantined_unread_and_stays_on_the_server(mailbox, settings, known_customer):
    settings.INTAKE_MESSAGE_MAX_BYTES = 50_000
    huge = email_message(
        subject="Big scan", attachments=[("scan.pdf", b"%PDF-" + b"x" * 200_000, "application", "pdf")]
    )
    mailbox.append(huge)

    mailbox_read()

    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.QUARANTINED
    assert message.quarantine_reason == InboundMessage.Reason.TOO_LARGE
    assert message.size > 200_000 and message.subject == "Big scan"
    assert b"Subject: Big scan" in bytes(message.raw) and len(bytes(message.raw)) < 5_000  # the header only
    assert not RepairCall.objects.exists()
    assert mailbox.count() == 1 and mailbox.done_count() == 1


def test_attachments_are_kept_or_refused_by_the_upload_rules(mailbox, settings, known_customer):
    settings.COMPLAINT_ATTACHMENT_MAX_BYTES = 100_000
    png = _png()
    mailbox.append(
        email_message(
            attachments=[
                ("photo.png", png, "image", "png"),
                ("invoice.pdf", b"%PDF-1.4 test", "application", "pdf"),
                ("virus.exe", b"MZ\x90\x00", "application", "octet-stream"),
                ("fake.png", b"<html>not a picture</html>", "image", "png"),
                ("big.pdf", b"%PDF-" + b"0" * 150_000, "application", "pdf"),
                ("bomb.png", png_bomb(100_000, 100_000), "image", "png"),
            ]
        )
    )

    mailbox_read()

    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.CALL_LOGGED  # refused files do not stop the call
    by_name = {a.original_name: a for a in InboundAttachment.objects.filter(message=message)}
    assert set(by_name) == {"photo.png", "invoice.pdf", "virus.exe", "fake.png", "big.pdf", "bomb.png"}
    assert by_name["photo.png"].is_kept and attachment_path(by_name["photo.png"]).read_bytes() == png
    assert by_name["invoice.pdf"].is_kept and by_name["invoice.pdf"].content_type == "application/pdf"
    for refused in ("virus.exe", "fake.png", "big.pdf", "bomb.png"):
        assert not by_name[refused].is_kept and by_name[refused].refused_reason, refused


def test_a_failure_mid_run_marks_only_what_was_committed(mailbox, monkeypatch, known_customer):
    import intake.mailbox as module

    real = module.inbound_message_receive
    calls = {"n": 0}

    def dying(*, fetched):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the worker died")
        return real(fetched=fetched)

    for n in range(3):
        mailbox.append(email_message(subject=f"call {n}"))
    monkeypatch.setattr(module, "inbound_message_receive", dying)
    with pytest.raises(RuntimeError):
        mailbox_read()
    assert mailbox.done_count() == 1 and RepairCall.objects.count() == 1

    monkeypatch.setattr(module, "inbound_message_receive", real)
    mailbox_read()
    assert RepairCall.objects.count() == 3 and mailbox.done_count() == 3
