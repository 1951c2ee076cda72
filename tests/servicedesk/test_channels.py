"""The outbox's channels (e-mail, SMS, in the app), the SMS limits and backends, retries with backoff."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from servicedesk import sms
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import (
    MAX_ATTEMPTS,
    notifications_deliver_pending,
    notifications_queue,
    retry_delay,
)


def sms_notice(n, *, phone="13800138000", body="您的打印机已修好，请到服务站取回。"):
    return Notification(dedupe_key=f"test-sms:{n}", channel=Notification.Channel.SMS, to_phone=phone, body=body)


@pytest.mark.parametrize(
    "typed,number",
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 13800138000", "13800138000")],
)
def test_a_mobile_number_is_read_in_the_ways_people_write_it(typed, number):
    assert sms.sms_phone(typed) == number


@pytest.mark.parametrize("typed", ["", "010-12345678", "12800138000", "1380013800", "138001380001", "abc"])
def test_a_number_that_is_not_a_mainland_mobile_is_refused_with_a_message(typed):
    with pytest.raises(ApplicationError, match="mobile"):
        sms.sms_phone(typed)


def test_chinese_sms_parts_count_the_signature(settings):
    settings.SERVICEDESK_SMS_SIGN = "【售后】"
    assert sms.sms_parts("修" * 66) == 1  # 66 + 4 = 70: one part
    assert sms.sms_parts("修" * 67) == 2  # 71: two parts of 67
    assert sms.sms_parts("修" * (67 * 2 - 4)) == 2
    assert sms.sms_parts("修" * (67 * 2 - 3)) == 3


def test_a_text_too_long_for_the_parts_allowed_is_refused_before_it_is_queued(settings):
    settings.SERVICEDESK_SMS_SIGN = ""
    settings.SERVICEDESK_SMS_MAX_PARTS = 2
    assert sms.sms_check_text("修" * 134) == "修" * 134
    with pytest.raises(ApplicationError, match="at most 134"):
        sms.sms_check_text("修" * 135)


@pytest.mark.parametrize("text", ["", "   ", "已修好 😀", "bell\x07"])
def test_an_empty_text_an_emoji_or_a_control_character_is_refused(text):
    with pytest.raises(ApplicationError):
        sms.sms_check_text(text)


def test_an_sms_notice_is_sent_once_by_the_backend_with_its_id_and_signature(db, settings):
    settings.SERVICEDESK_SMS_SIGN = "【售后】"
    notifications_queue(notices=[sms_notice(1), sms_notice(1)])  # written twice: one row
    assert notifications_deliver_pending() == 1
    assert notifications_deliver_pending() == 0
    assert [(m.to, m.text, m.message_id) for m in sms.outbox] == [
        ("13800138000", "【售后】您的打印机已修好，请到服务站取回。", "test-sms:1")
    ]
    assert Notification.objects.get().sent_at is not None
    assert mail.outbox == []


def test_an_sms_to_a_number_that_is_no_mobile_is_given_up_at_once_with_the_reason(db):
    notifications_queue(notices=[sms_notice(1, phone="010-12345678"), sms_notice(2)])
    assert notifications_deliver_pending() == 1
    bad = Notification.objects.get(dedupe_key="test-sms:1")
    assert (bad.sent_at, bad.attempts) == (None, MAX_ATTEMPTS)
    assert "mobile" in bad.last_error
    assert len(sms.outbox) == 1


def test_an_in_app_notice_is_delivered_by_being_stored_and_sends_nothing(db, supervisor):
    notifications_queue(
        notices=[
            Notification(
                dedupe_key="test-inapp:1",
                channel=Notification.Channel.INAPP,
                recipient=supervisor,
                subject="RC-1 逾期",
                body="请跟进",
            )
        ]
    )
    assert notifications_deliver_pending() == 1
    notice = Notification.objects.get()
    assert notice.sent_at is not None and notice.read_at is None
    assert mail.outbox == [] and sms.outbox == []


def test_the_file_backend_writes_one_json_line_per_message(db, settings, tmp_path):
    settings.SERVICEDESK_SMS_BACKEND = "file"
    settings.SERVICEDESK_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    notifications_queue(notices=[sms_notice(1), sms_notice(2, body="第二条")])
    assert notifications_deliver_pending() == 2
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(line["message_id"], line["text"]) for line in lines] == [
        ("test-sms:1", "您的打印机已修好，请到服务站取回。"),
        ("test-sms:2", "第二条"),
    ]


class _Gateway(BaseHTTPRequestHandler):
    answers: list  # (status, body) per request, the last one repeated
    received: list

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.received.append((self.headers["Authorization"], json.loads(self.rfile.read(length))))
        status, body = self.answers[min(len(self.received), len(self.answers)) - 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    """A real HTTP server on 127.0.0.1 standing in for the SMS gateway (the real one is on a network we lack)."""
    handler = type("Gateway", (_Gateway,), {"answers": [(200, {"code": 0})], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SERVICEDESK_SMS_BACKEND = "http"
    settings.SERVICEDESK_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SERVICEDESK_SMS_GATEWAY_KEY = "k-123"
    yield handler
    server.shutdown()
    server.server_close()


def test_the_http_gateway_is_posted_the_message_with_its_key_in_a_header(db, gateway):
    notifications_queue(notices=[sms_notice(1)])
    assert notifications_deliver_pending() == 1
    assert gateway.received == [
        (
            "Bearer k-123",
            {"to": "13800138000", "text": "您的打印机已修好，请到服务站取回。", "sign": "", "id": "test-sms:1"},
        )
    ]


def test_a_failing_gateway_keeps_the_sms_pending_with_backoff_and_it_is_sent_once_when_it_recovers(db, gateway):
    gateway.answers = [(503, {"message": "busy"}), (200, {"code": 1, "message": "余额不足"}), (200, {"code": 0})]
    notifications_queue(notices=[sms_notice(1), sms_notice(2)])
    before = timezone.now()
    assert notifications_deliver_pending() == 0  # 503, then a refusal in the answer
    first, second = Notification.objects.order_by("dedupe_key")
    assert first.attempts == 1 and "503" in first.last_error
    assert "余额不足" in second.last_error
    assert first.next_attempt_at >= before + retry_delay(1)
    assert notifications_deliver_pending() == 0  # both wait: nothing is tried
    assert len(gateway.received) == 2
    Notification.objects.update(next_attempt_at=None)  # the waits are over
    assert notifications_deliver_pending() == 2
    assert [body["id"] for _key, body in gateway.received] == ["test-sms:1", "test-sms:2", "test-sms:1", "test-sms:2"]
    assert notifications_deliver_pending() == 0
    assert Notification.objects.filter(sent_at__isnull=False, attempts=2).count() == 2


def test_a_failing_mail_server_does_not_hold_back_the_sms(db, supervisor, monkeypatch):
    def refused(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("servicedesk.notifications.send_mail", refused)
    notifications_queue(
        notices=[
            Notification(dedupe_key="test-mail:1", to_email=supervisor.email, subject="s", body="b"),
            sms_notice(1),
        ]
    )
    notifications_deliver_pending()
    assert Notification.objects.get(dedupe_key="test-sms:1").sent_at is not None
    mail_notice = Notification.objects.get(dedupe_key="test-mail:1")
    assert mail_notice.sent_at is None and "mail server down" in mail_notice.last_error


def test_the_wait_doubles_from_thirty_seconds_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20) == dt.timedelta(hours=1)
