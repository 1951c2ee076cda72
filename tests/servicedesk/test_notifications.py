"""The outbox: notices written out or by kind, rendered in bulk when delivered, each sent once."""

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from repairs import services
from repairs.notices import CALL_OVERDUE
from servicedesk import notifications
from servicedesk.models import Notification
from servicedesk.notifications import (
    MAX_ATTEMPTS,
    NoticeKind,
    notices_render,
    notifications_deliver_pending,
    notifications_queue,
    render_notice,
)
from tests.conftest import is_postgres
from tests.factories import log_call

LATER = dt.timedelta(hours=8)


def written_out(n, recipient):
    return Notification(
        dedupe_key=f"test-written:{n}",
        recipient=recipient,
        to_email=recipient.email,
        subject=f"Notice {n}",
        body="Written when queued",
    )


def by_kind(kind, object_id, recipient, n=0):
    return Notification(
        dedupe_key=f"test-kind:{kind}:{object_id}:{n}",
        recipient=recipient,
        to_email=recipient.email,
        kind=kind,
        object_id=object_id,
    )


def test_notices_written_out_and_by_kind_are_delivered_side_by_side(dispatcher, supervisor):
    call = log_call(dispatcher=dispatcher)
    notifications_queue(notices=[written_out(1, supervisor), by_kind(CALL_OVERDUE, call.pk, supervisor)])
    assert notifications_deliver_pending() == 2
    assert sorted(m.subject for m in mail.outbox) == sorted(["Notice 1", f"Repair call {call.number} is overdue"])
    assert Notification.objects.get(subject="Notice 1").body == "Written when queued"


def test_rendering_fills_in_only_notices_written_by_kind_and_saves_nothing(dispatcher, supervisor):
    call = log_call(dispatcher=dispatcher)
    notifications_queue(notices=[written_out(1, supervisor), by_kind(CALL_OVERDUE, call.pk, supervisor)])
    notices = list(Notification.objects.order_by("pk"))
    assert notices_render(notices=notices) == {}
    assert [n.subject for n in notices] == ["Notice 1", f"Repair call {call.number} is overdue"]
    assert Notification.objects.get(kind=CALL_OVERDUE).subject == ""


def test_rendering_a_batch_reads_its_objects_with_one_query(dispatcher, supervisor, django_assert_num_queries):
    calls = [log_call(dispatcher=dispatcher) for _ in range(15)]
    notices = [by_kind(CALL_OVERDUE, call.pk, supervisor, n) for n, call in enumerate(calls)]
    with django_assert_num_queries(1):
        assert notices_render(notices=notices) == {}
    assert {n.subject for n in notices} == {f"Repair call {c.number} is overdue" for c in calls}


def test_a_kind_nobody_registered_stays_pending_with_the_reason_and_the_rest_is_sent(supervisor):
    notifications_queue(notices=[by_kind("retired.kind", 1, supervisor), written_out(1, supervisor)])
    assert notifications_deliver_pending() == 1
    notice = Notification.objects.get(kind="retired.kind")
    assert notice.sent_at is None and notice.attempts == 1
    assert "no renderer is registered for notices of kind 'retired.kind'" in notice.last_error
    assert [m.subject for m in mail.outbox] == ["Notice 1"]


def test_a_broken_renderer_does_not_stop_the_sweep_and_is_retried_until_given_up(supervisor, monkeypatch):
    def broken(ids):
        raise RuntimeError("renderer broke")

    monkeypatch.setitem(
        notifications._KINDS, "tests.broken", NoticeKind("tests.broken", "repairs/email/overdue.txt", broken)
    )
    notifications_queue(notices=[by_kind("tests.broken", 7, supervisor), written_out(1, supervisor)])
    assert notifications_deliver_pending() == 1
    assert Notification.objects.get(kind="tests.broken").next_attempt_at is not None  # it waits before a retry
    for _ in range(MAX_ATTEMPTS + 2):
        Notification.objects.update(next_attempt_at=None)  # the wait is over
        notifications_deliver_pending()
    notice = Notification.objects.get(kind="tests.broken")
    assert (notice.sent_at, notice.attempts, notice.last_error) == (None, MAX_ATTEMPTS, "renderer broke")
    assert len(mail.outbox) == 1


def test_a_notice_shows_its_kind_and_object_until_it_is_rendered(supervisor):
    notice = by_kind(CALL_OVERDUE, 42, supervisor)
    assert str(notice) == f"{CALL_OVERDUE} #42"


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks and concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_the_same_moment_send_each_notice_by_kind_exactly_once(dispatcher, supervisor):
    for _ in range(30):
        log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=timezone.now() + LATER)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(notifications_deliver_pending(limit=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # A sweep leaves a batch the other is sending to it; what is left the next sweep sends.
    assert sum(results) + notifications_deliver_pending() == 30
    assert len(mail.outbox) == 30
    assert len({m.subject for m in mail.outbox}) == 30
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert not Notification.objects.filter(subject="").exists()


class _Named:
    """Whatever a template asks of it (attribute, key, text), it is a name with an ampersand and angle brackets."""

    def __getattr__(self, name):
        if name.endswith(("_at", "_on", "_by")) or name in ("due", "deadline"):
            return timezone.now()  # a time or a date, for the templates' date filters
        return self

    def __getitem__(self, key):
        return self.__getattr__(str(key))

    def __str__(self):
        return "Fish & Chips <Ltd>"


TEMPLATES_DIR = settings.BASE_DIR / "templates"
EMAIL_TEMPLATES = sorted(str(path.relative_to(TEMPLATES_DIR)) for path in TEMPLATES_DIR.glob("*/email/*.txt"))
NAMES = ("call", "card", "delay", "entry", "slip", "case", "loss", "contract", "term", "customer", "unit")


@pytest.mark.parametrize("template", EMAIL_TEMPLATES)
def test_plain_text_emails_print_names_as_they_are_not_html_escaped(template):
    names = (
        "call",
        "card",
        "delay",
        "entry",
        "slip",
        "case",
        "loss",
        "contract",
        "term",
        "customer",
        "unit",
        "follow_up",
        "contact",
    )
    subject, body = render_notice(template=template, context={name: _Named() for name in names} | {"url": "https://x/"})
    assert "&amp;" not in subject + body and "&lt;" not in subject + body
    assert "Fish & Chips <Ltd>" in subject + body
