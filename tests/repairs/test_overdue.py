"""The overdue check: each late, unattended call is marked once and its unit's supervisors told once."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from repairs.notices import CALL_OVERDUE
from repairs.tasks import check_overdue_calls
from servicedesk.models import Notification
from servicedesk.notifications import MAX_ATTEMPTS, absolute_url, notifications_deliver_pending
from servicedesk.roles import Role
from tests.conftest import is_postgres
from tests.factories import UserFactory, log_call
from tests.repairs.field import signed_voucher

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def supervisors(unit, supervisor):
    return [supervisor, UserFactory(username="supervisor-2", unit=unit, roles=[Role.SUPERVISOR])]


def overdue_notices():
    return Notification.objects.filter(dedupe_key__startswith="repair-call-overdue:")


def log_many(dispatcher, count, *, received_at=None):
    received_at = received_at or timezone.now()
    return [log_call(dispatcher=dispatcher, received_at=received_at) for _ in range(count)]


def test_a_late_unattended_call_is_marked_and_each_supervisor_told_once(dispatcher, supervisors):
    call = log_call(dispatcher=dispatcher)
    now = call.attend_by + dt.timedelta(minutes=1)
    assert services.repair_calls_mark_overdue(now=now) == 1
    call.refresh_from_db()
    assert call.overdue_marked_at == now
    assert call.status == RepairCall.Status.LOGGED  # marking is not a status change
    notices = list(overdue_notices())
    assert sorted(n.recipient_id for n in notices) == sorted(s.pk for s in supervisors)
    assert all(n.to_email == n.recipient.email for n in notices)
    # Written by kind, rendered when delivered.
    assert {(n.kind, n.object_id, n.subject, n.body) for n in notices} == {(CALL_OVERDUE, call.pk, "", "")}


def test_running_twice_does_nothing_the_second_time(dispatcher, supervisors):
    call = log_call(dispatcher=dispatcher)
    first = call.attend_by + dt.timedelta(minutes=1)
    assert services.repair_calls_mark_overdue(now=first) == 1
    assert services.repair_calls_mark_overdue(now=first + dt.timedelta(minutes=1)) == 0
    call.refresh_from_db()
    assert call.overdue_marked_at == first
    assert overdue_notices().count() == len(supervisors)


def test_a_call_is_not_overdue_before_or_at_its_deadline(dispatcher, supervisor):
    call = log_call(dispatcher=dispatcher)
    assert services.repair_calls_mark_overdue(now=call.attend_by - dt.timedelta(seconds=1)) == 0
    assert services.repair_calls_mark_overdue(now=call.attend_by) == 0
    assert not overdue_notices().exists()
    assert RepairCall.objects.get(pk=call.pk).overdue_marked_at is None


def test_a_dispatched_call_nobody_reached_is_overdue(dispatcher, technician, supervisor):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert services.repair_calls_mark_overdue(now=call.attend_by + HOUR) == 1
    assert overdue_notices().get().recipient == supervisor


def test_calls_attended_in_time_or_cancelled_are_never_marked(dispatcher, technician, supervisor):
    attended, resolved, cancelled = log_many(dispatcher, 3)
    for call in (attended, resolved):
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        services.repair_call_record_arrival(user=technician, call_id=call.pk)
    signed_voucher(technician=technician, call=resolved)
    services.repair_call_resolve(user=technician, call_id=resolved.pk, outcome="Fixed")
    services.repair_call_close(user=dispatcher, call_id=resolved.pk)
    services.repair_call_cancel(user=dispatcher, call_id=cancelled.pk, reason="Duplicate")

    for later in (HOUR * 7, HOUR * 24, HOUR * 24 * 30):
        assert services.repair_calls_mark_overdue(now=timezone.now() + later) == 0
    assert not RepairCall.objects.filter(overdue_marked_at__isnull=False).exists()
    assert not overdue_notices().exists()


def test_a_late_run_a_day_later_marks_each_call_once(dispatcher, supervisor):
    start = timezone.now()
    calls = [log_call(dispatcher=dispatcher, received_at=start - dt.timedelta(minutes=m)) for m in range(0, 300, 30)]
    late = start + dt.timedelta(days=1)
    assert services.repair_calls_mark_overdue(now=late) == len(calls)
    assert services.repair_calls_mark_overdue(now=late + HOUR) == 0
    assert RepairCall.objects.filter(overdue_marked_at=late).count() == len(calls)
    assert overdue_notices().count() == len(calls)


def test_only_calls_past_their_deadline_are_marked_then_the_rest_later(dispatcher, supervisor):
    now = timezone.now()
    early = log_call(dispatcher=dispatcher, received_at=now - HOUR * 5)
    later = log_call(dispatcher=dispatcher, received_at=now)
    assert services.repair_calls_mark_overdue(now=now + HOUR * 2) == 1
    assert RepairCall.objects.get(pk=early.pk).overdue_marked_at is not None
    assert RepairCall.objects.get(pk=later.pk).overdue_marked_at is None
    assert services.repair_calls_mark_overdue(now=now + HOUR * 7) == 1
    assert overdue_notices().count() == 2


def test_catching_up_after_a_day_of_downtime_with_many_calls(dispatcher, supervisors):
    calls = log_many(dispatcher, 60)
    after_downtime = timezone.now() + dt.timedelta(days=1)
    # A small batch makes the catch-up go round its loop several times.
    assert services.repair_calls_mark_overdue(now=after_downtime, batch_size=7) == 60
    assert services.repair_calls_mark_overdue(now=after_downtime, batch_size=7) == 0
    assert RepairCall.objects.filter(overdue_marked_at__isnull=True).count() == 0
    assert overdue_notices().count() == 60 * len(supervisors)
    keys = set(overdue_notices().values_list("dedupe_key", flat=True))
    assert keys == {f"repair-call-overdue:{c.pk}:{s.pk}" for c in calls for s in supervisors}


def test_only_the_calls_own_units_active_supervisors_with_email_are_told(
    dispatcher, supervisor, other_dispatcher, other_unit, unit
):
    UserFactory(username="sz-supervisor", unit=other_unit, roles=[Role.SUPERVISOR])
    UserFactory(username="gone", unit=unit, roles=[Role.SUPERVISOR], is_active=False)
    UserFactory(username="no-mail", unit=unit, roles=[Role.SUPERVISOR], email="")
    UserFactory(username="desk", unit=unit, roles=[Role.DISPATCHER])
    call = log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=call.attend_by + HOUR)
    assert list(overdue_notices().values_list("recipient__username", flat=True)) == ["supervisor"]


def test_a_unit_without_a_supervisor_still_gets_its_calls_marked(dispatcher):
    call = log_call(dispatcher=dispatcher)
    assert services.repair_calls_mark_overdue(now=call.attend_by + HOUR) == 1
    assert not overdue_notices().exists()


def test_the_celery_task_marks_late_calls_once(dispatcher, supervisor):
    # Received six hours and a bit ago, logged back then: late by the real clock the task uses.
    then = timezone.now() - dt.timedelta(hours=6, minutes=5)
    call = log_call(dispatcher=dispatcher, received_at=then, now=then)
    fresh = log_call(dispatcher=dispatcher)
    assert check_overdue_calls() == 1
    assert check_overdue_calls() == 0
    assert RepairCall.objects.get(pk=call.pk).overdue_marked_at is not None
    assert RepairCall.objects.get(pk=fresh.pk).overdue_marked_at is None
    assert overdue_notices().count() == 1


def test_the_overdue_call_is_flagged_on_its_page(client, dispatcher):
    call = log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=call.attend_by + HOUR)
    client.force_login(dispatcher)
    assert "Overdue" in client.get(call.get_absolute_url()).text


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="SKIP LOCKED and concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_checks_at_the_same_moment_mark_and_notify_each_call_exactly_once(dispatcher, supervisors):
    calls = log_many(dispatcher, 40)
    now = timezone.now() + dt.timedelta(hours=8)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def check():
        try:
            barrier.wait(timeout=10)
            results.append(services.repair_calls_mark_overdue(now=now, batch_size=5))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(results) == len(calls)
    assert RepairCall.objects.filter(overdue_marked_at=now).count() == len(calls)
    assert overdue_notices().count() == len(calls) * len(supervisors)
    assert services.repair_calls_mark_overdue(now=now + HOUR) == 0


# --- delivery of the notices -------------------------------------------------------------------------------


def test_pending_notices_are_sent_once(dispatcher, supervisors):
    calls = log_many(dispatcher, 3)
    services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)
    assert notifications_deliver_pending() == 3 * len(supervisors)
    assert notifications_deliver_pending() == 0
    assert len(mail.outbox) == 3 * len(supervisors)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([s.email for s in supervisors] * 3)
    assert {c.number for c in calls} == {m.subject.split()[2] for m in mail.outbox}
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_a_failing_mail_server_keeps_the_notice_pending_with_the_error(dispatcher, supervisor, monkeypatch):
    log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("servicedesk.notifications.send_mail", refuse)
    assert notifications_deliver_pending() == 0
    notice = overdue_notices().get()
    assert notice.sent_at is None
    assert notice.attempts == 1
    assert "mail server down" in notice.last_error
    assert len(mail.outbox) == 0

    assert notifications_deliver_pending() == 0  # it waits before it is tried again
    assert overdue_notices().get().attempts == 1
    monkeypatch.undo()
    Notification.objects.update(next_attempt_at=None)  # the wait is over
    assert notifications_deliver_pending() == 1
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert notice.last_error == ""
    assert notice.attempts == 2
    assert len(mail.outbox) == 1


def test_one_failing_address_does_not_stop_the_others_in_its_batch(dispatcher, supervisors, monkeypatch):
    log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)
    from django.core.mail import send_mail as real_send_mail

    def flaky(subject, body, sender, recipients, **kwargs):
        if recipients == [supervisors[0].email]:
            raise OSError("mailbox unavailable")
        return real_send_mail(subject, body, sender, recipients, **kwargs)

    monkeypatch.setattr("servicedesk.notifications.send_mail", flaky)
    assert notifications_deliver_pending() == 1
    assert [m.to for m in mail.outbox] == [[supervisors[1].email]]
    failed = overdue_notices().get(recipient=supervisors[0])
    assert failed.sent_at is None and "mailbox unavailable" in failed.last_error


def test_a_notice_that_keeps_failing_is_given_up_after_the_maximum_attempts(dispatcher, supervisor, monkeypatch):
    log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)
    monkeypatch.setattr("servicedesk.notifications.send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    for _ in range(MAX_ATTEMPTS + 2):
        Notification.objects.update(next_attempt_at=None)  # each retry's wait is over
        notifications_deliver_pending()
    notice = overdue_notices().get()
    assert notice.attempts == MAX_ATTEMPTS
    assert notice.sent_at is None


def test_the_notice_is_rendered_when_delivered_and_keeps_what_was_sent(dispatcher, technician, supervisor):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_calls_mark_overdue(now=call.attend_by + HOUR)
    notifications_deliver_pending()
    [email] = [m for m in mail.outbox if m.to == [supervisor.email]]
    deadline = timezone.localtime(call.attend_by).strftime("%Y-%m-%d %H:%M")
    assert email.subject == f"Repair call {call.number} is overdue"
    assert (
        f"Call {call.number} for {call.customer.name} at {call.site.address} was due on site by {deadline}"
        in email.body
    )
    assert f"Technician: {technician}" in email.body
    assert email.body.endswith(absolute_url(call.get_absolute_url()))
    notice = overdue_notices().get()
    assert (notice.subject, notice.body) == (email.subject, email.body)
    assert notice.sent_at is not None and notice.last_error == ""


@override_settings(LANGUAGE_CODE="zh-hans")
def test_the_notice_is_rendered_in_the_site_language(dispatcher, supervisor):
    call = log_call(dispatcher=dispatcher)
    services.repair_calls_mark_overdue(now=call.attend_by + HOUR)
    notifications_deliver_pending()
    [email] = mail.outbox
    assert email.subject == f"叫修 {call.number} 已逾期"
    assert "至今无人到达" in email.body
    assert "技术员：—" in email.body


def test_a_notice_whose_call_is_gone_fails_cleanly_and_the_others_are_sent(dispatcher, supervisor):
    kept, deleted = log_many(dispatcher, 2)
    services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)
    RepairCall.objects.filter(pk=deleted.pk).delete()
    assert notifications_deliver_pending() == 1
    assert [m.subject for m in mail.outbox] == [f"Repair call {kept.number} is overdue"]
    failed = overdue_notices().get(object_id=deleted.pk)
    assert failed.sent_at is None
    assert failed.attempts == MAX_ATTEMPTS  # given up at once: no later sweep can render it
    assert failed.last_error == f"not sent: {CALL_OVERDUE} #{deleted.pk} no longer exists"
    assert notifications_deliver_pending() == 0


def test_delivering_many_notices_renders_them_with_a_fixed_number_of_queries(dispatcher, supervisors):
    def queries_to_deliver(count):
        log_many(dispatcher, count)
        services.repair_calls_mark_overdue(now=timezone.now() + HOUR * 7)
        with CaptureQueriesContext(connection) as ctx:
            assert notifications_deliver_pending() == count * len(supervisors)
        return [q["sql"] for q in ctx.captured_queries]

    def rendering(queries):
        return [sql for sql in queries if '"servicedesk_notification"' not in sql and "SAVEPOINT" not in sql]

    one, many = queries_to_deliver(1), queries_to_deliver(20)
    assert len(mail.outbox) == 21 * len(supervisors)
    assert len(rendering(many)) == len(rendering(one))
    assert len([sql for sql in many if 'FROM "repairs_repaircall"' in sql]) == 1
    # What grows with the number of notices is claiming and marking each one (its own transaction).
    per_notice, rest = divmod(len(many) - len(one), 19 * len(supervisors))
    assert rest == 0 and per_notice <= 4
