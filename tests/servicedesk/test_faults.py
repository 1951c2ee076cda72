"""Faults (issue 8) that fit a test run: a beat down for a day, two beats at once, a worker killed mid-task.

The longer scenarios (Redis stopped and hung under HTTP load, PostgreSQL restarted under load, the same
faults with real beats and thousands of calls) are scripts: bench/faults/run_all.sh.
"""

import email
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from repairs.models import RepairCall
from repairs.tasks import check_overdue_calls
from servicedesk.celery import app as celery_app
from servicedesk.models import Notification
from servicedesk.notifications import notifications_deliver_pending, notifications_queue
from servicedesk.schedule import beat_schedule
from servicedesk.tasks import deliver_pending_notifications
from tests.conftest import is_postgres
from tests.factories import log_call

ROOT = Path(__file__).resolve().parents[2]
CHECK = "repairs.check-overdue-calls"


class RecordingScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler as ``celery beat`` runs it, recording what it would send."""

    producer = None  # never connects to a broker

    def __init__(self, *args, sent: list, **kwargs):
        self.sent = sent
        super().__init__(*args, app=celery_app, **kwargs)

    def apply_entry(self, entry, producer=None):
        self.sent.append(entry.name)

    def run_until_idle(self) -> None:
        """Tick until nothing is due (bounded): what a beat does in its first seconds."""
        for _ in range(50):
            if self.tick() > 0:
                break
        self.sync()
        self._finalize.cancel()


def _late_calls(dispatcher, hours_late):
    calls = []
    for hours in hours_late:
        received = timezone.now() - timezone.timedelta(hours=6 + hours)
        calls.append(log_call(dispatcher=dispatcher, received_at=received, now=received))
    assert all(c.attend_by < timezone.now() for c in calls)
    return calls


def _beat_was_down_for_a_day():
    RecordingScheduler(sent=[]).run_until_idle()  # the beat as it last ran: writes its entries
    PeriodicTask.objects.filter(name__in=beat_schedule()).update(
        last_run_at=timezone.now() - timezone.timedelta(days=1)
    )


@pytest.mark.django_db(transaction=True)
def test_a_beat_down_for_a_day_sends_each_missed_check_once_and_one_pass_catches_up(dispatcher, supervisor):
    _beat_was_down_for_a_day()
    late = _late_calls(dispatcher, hours_late=[1, 5, 9, 13, 17])  # deadlines passed up to 17 h ago

    sent = []
    RecordingScheduler(sent=sent).run_until_idle()  # the beat restarted
    counts = Counter(sent)
    assert counts[CHECK] == 1, counts
    assert max(counts.values()) == 1, f"a burst of missed runs: {counts}"

    assert check_overdue_calls() == len(late)  # the one catch-up pass
    assert check_overdue_calls() == 0  # the next regular run
    assert notifications_deliver_pending() == len(late)
    assert sorted(m.subject for m in mail.outbox) == sorted(f"Repair call {c.number} is overdue" for c in late)
    assert all(m.to == [supervisor.email] for m in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_both_send_the_check_yet_each_call_is_marked_and_noticed_once(dispatcher, supervisor):
    _beat_was_down_for_a_day()
    late = _late_calls(dispatcher, hours_late=[1, 2, 3, 4])
    sent = []
    beats = [RecordingScheduler(sent=sent), RecordingScheduler(sent=sent)]  # both started, both read the schedule
    for beat in beats:
        beat.run_until_idle()
    assert Counter(sent)[CHECK] == 2, "each beat sends its own check"

    marked = []

    def run_check():
        try:
            marked.append(check_overdue_calls())
        finally:
            connections.close_all()

    if is_postgres():  # the two checks at the same moment, as two worker processes run them
        threads = [threading.Thread(target=run_check) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        run_check()
        run_check()
    assert sorted(marked) == [0, len(late)] or sum(marked) == len(late)
    assert RepairCall.objects.filter(overdue_marked_at__isnull=False).count() == len(late)
    assert Notification.objects.count() == len(late)
    assert notifications_deliver_pending() == len(late)
    assert notifications_deliver_pending() == 0
    assert len({m.subject for m in mail.outbox}) == len(mail.outbox) == len(late)


# --- a real worker process, killed with SIGKILL in the middle of delivering e-mails ----------------


def _emails(folder: Path) -> Counter:
    """(recipient, subject) → times sent, from the file-based e-mail backend's folder."""
    sent = Counter()
    for path in folder.glob("*.log"):
        for chunk in path.read_text().split("\n" + "-" * 79 + "\n"):
            if chunk.strip():
                message = email.message_from_string(chunk.lstrip("\n"))
                sent[(message["To"], message["Subject"])] += 1
    return sent


def _wait(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


class WorkerProcess:
    """``celery worker`` (prefork x 2) against the test database, e-mailing through a slow file backend."""

    def __init__(self, mail_dir: Path, log_path: Path):
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
            "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DJANGO_SECRET_KEY": "tests-only-" + "w" * 50,
            "DJANGO_DEBUG": "0",
            "DJANGO_LANGUAGE_CODE": "en",
            "DJANGO_EMAIL_BACKEND": "bench.faults.slow_email.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
            "FAULTS_EMAIL_DELAY": "0.3",
            "SERVICEDESK_VAR_DIR": str(log_path.parent / "var"),
            "PYTHONPATH": str(ROOT),
        }
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "servicedesk", "worker", "-l", "info", "-P", "prefork"),
                *("-c", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-n", f"faults-{os.getpid()}@test"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait(lambda: "ready." in log_path.read_text() or self.popen.poll() is not None, timeout=90, what="worker")
        assert self.popen.poll() is None, log_path.read_text()[-3000:]

    def kill_pool(self) -> None:
        children = subprocess.run(["pgrep", "-P", str(self.popen.pid)], capture_output=True, text=True).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)

    def stop(self, sig=signal.SIGTERM) -> None:
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (is_postgres() and os.environ.get("REDIS_URL")),
    reason="a worker process shares the test database only on PostgreSQL, and needs Redis; CI has both",
)
def test_a_worker_killed_with_sigkill_mid_delivery_sends_each_email_exactly_once(supervisor, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    celery_app.control.purge()
    workers = [WorkerProcess(mail_dir, tmp_path / "worker1.log")]

    def queue(prefix: str, count: int = 12) -> None:
        notifications_queue(  # autocommit here: the delivery task is kicked at once
            notices=[
                Notification(
                    dedupe_key=f"{prefix}:{n}",
                    recipient=supervisor,
                    to_email=f"person{n}@example.com",
                    subject=f"{prefix} {n}",
                    body="Body",
                )
                for n in range(count)
            ]
        )

    def sent(prefix: str) -> int:
        return sum(v for (_to, subject), v in _emails(mail_dir).items() if subject.startswith(prefix))

    def pending() -> int:
        return Notification.objects.filter(sent_at__isnull=True).count()

    try:
        # The pool process running the delivery is killed: the worker re-queues the task (acks_late,
        # reject_on_worker_lost) and runs it again at once.
        queue("Pool")
        _wait(lambda: sent("Pool") >= 3, timeout=60, what="3 e-mails sent")
        workers[0].kill_pool()
        _wait(lambda: pending() == 0, timeout=90, what="the re-queued delivery finished")

        # The whole worker is killed: its message waits for the visibility timeout, so the beat's
        # sweep (sent here by hand) delivers the rest after the restart.
        queue("Whole")
        _wait(lambda: sent("Whole") >= 3, timeout=60, what="3 e-mails sent")
        workers[0].stop(signal.SIGKILL)
        workers.append(WorkerProcess(mail_dir, tmp_path / "worker2.log"))
        deliver_pending_notifications.delay()
        _wait(lambda: pending() == 0, timeout=90, what="the sweep after the restart finished")
        time.sleep(1)
    finally:
        for worker in workers:
            worker.stop()
        celery_app.control.purge()

    emails = _emails(mail_dir)
    assert sum(emails.values()) == len(emails) == 24, {k: v for k, v in emails.items() if v > 1}
    assert set(Notification.objects.values_list("attempts", flat=True)) <= {1, 2}
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
