"""A real Celery worker, fed through the Redis broker, runs beat's tasks against the test database.

The worker runs in this process (celery.contrib.testing.worker, solo pool, in a thread), so it shares
pytest-django's test database and the locmem mail outbox. Messages really go through Redis.
"""

import datetime as dt
import os
import threading
import time
from collections import Counter

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from repairs.models import RepairCall
from repairs.tasks import check_overdue_calls
from servicedesk.celery import app
from servicedesk.models import Notification
from servicedesk.notifications import notifications_queue
from servicedesk.tasks import deliver_pending_notifications
from tests.factories import log_call

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (set REDIS_URL); CI has one"),
]

OVERDUE = "repairs.tasks.check_overdue_calls"
DELIVER = "servicedesk.tasks.deliver_pending_notifications"


class FinishedTasks:
    """Counts the tasks the worker finished; the worker thread's database connections close after each."""

    def __init__(self):
        self.counts = Counter()
        self.changed = threading.Condition()

    def __call__(self, sender=None, **kwargs):
        connections.close_all()  # the worker thread's own connections: the test database must be droppable
        with self.changed:
            self.counts[sender.name] += 1
            self.changed.notify_all()

    def wait_for(self, name: str, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.counts[name] < count:
                left = deadline - time.monotonic()
                assert left > 0, f"the worker finished {self.counts[name]} of {count} {name} tasks: {dict(self.counts)}"
                self.changed.wait(left)


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    finished = FinishedTasks()
    task_postrun.connect(finished, weak=False)
    app.control.purge()  # nothing left over from earlier runs
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30):
            yield finished
    finally:
        task_postrun.disconnect(finished)
        app.control.purge()


def _quiet(finished: FinishedTasks, seconds: float = 1.0) -> None:
    """Wait until the worker has had nothing to do for a moment."""
    while True:
        before = sum(finished.counts.values())
        time.sleep(seconds)
        if sum(finished.counts.values()) == before:
            return


def test_overdue_check_sent_twice_marks_the_call_and_mails_the_supervisor_once(worker, dispatcher, supervisor):
    late = timezone.now() - dt.timedelta(hours=8)
    overdue = log_call(dispatcher=dispatcher, received_at=late, now=late)
    on_time = log_call(dispatcher=dispatcher)
    assert overdue.attend_by < timezone.now() < on_time.attend_by

    check_overdue_calls.delay()
    check_overdue_calls.delay()
    worker.wait_for(OVERDUE, 2)
    worker.wait_for(DELIVER, 1)
    _quiet(worker)

    overdue.refresh_from_db()
    on_time.refresh_from_db()
    assert overdue.overdue_marked_at is not None
    assert on_time.overdue_marked_at is None
    assert [m.to for m in mail.outbox] == [[supervisor.email]]
    assert overdue.number in mail.outbox[0].subject
    notice = Notification.objects.get()
    assert notice.sent_at is not None
    assert notice.attempts == 1
    assert RepairCall.objects.filter(overdue_marked_at__isnull=False).count() == 1


def test_delivery_task_sends_each_pending_notification_once(worker, supervisor):
    notifications_queue(  # commits at once (no transaction here), which also sends one delivery task
        notices=[
            Notification(
                dedupe_key=f"worker-test:{n}",
                recipient=supervisor,
                to_email=f"person{n}@example.com",
                subject=f"Notice {n}",
                body="Body",
            )
            for n in range(5)
        ]
    )
    deliver_pending_notifications.delay()
    deliver_pending_notifications.delay()
    worker.wait_for(DELIVER, 3)
    _quiet(worker)

    assert sorted(m.to[0] for m in mail.outbox) == [f"person{n}@example.com" for n in range(5)]
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
