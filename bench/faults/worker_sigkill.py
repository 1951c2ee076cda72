"""Fault 2: a Celery worker killed with SIGKILL in the middle of a task; the work is done exactly once.

    .venv/bin/python bench/faults/worker_sigkill.py [--overdue 3000] [--notices 30]

One worker (prefork x 2) and one beat (the overdue check and the delivery sweep set to every 5 s in the
database) run against this script's own PostgreSQL and Redis; e-mails go through a slow file-based
backend (bench/faults/slow_email.py), so every e-mail sent is a file.

A. The overdue check over ``--overdue`` late calls (inserted through the ORM, deadlines up to 10 h ago):
   once its first batch has committed, the whole worker (main process and pool) is killed with SIGKILL,
   then started again. Each call must be marked once (the marks made before the kill are kept, and the
   checks after the restart mark exactly the rest) and each supervisor's e-mail sent once.
B. Delivery of ``--notices`` notices (0.3 s per e-mail): the pool process running it is killed with
   SIGKILL after a few e-mails; the worker's main process re-queues the task (acks_late +
   reject_on_worker_lost). Each e-mail must be sent once.
C. The same, killing the whole worker, then starting it again; the beat's sweep finishes the work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import log

CHECK = "repairs.tasks.check_overdue_calls"
EMAIL_DELAY = "0.3"


def body(stack: harness.Stack, verdict: harness.Verdict, *, overdue: int, notices: int) -> None:
    from django.utils import timezone

    import servicedesk.celery  # noqa: F401  (the app the script's kicks go through)
    from repairs.models import RepairCall
    from servicedesk.models import Notification
    from servicedesk.notifications import notifications_queue

    data = harness.seed(supervisors=1)
    supervisor = data["supervisors"][0]
    worker_env = {"FAULTS_EMAIL_DELAY": EMAIL_DELAY}
    workers = [stack.worker("worker1", env=worker_env)]
    stack.beat()
    harness.set_intervals({"repairs.check-overdue-calls": 5, "servicedesk.deliver-notifications": 5})

    def pending(prefix: str) -> int:
        return Notification.objects.filter(subject__startswith=prefix, sent_at__isnull=True).count()

    def sent_emails(prefix: str) -> dict:
        return {k: v for k, v in stack.emails().items() if k[1].startswith(prefix)}

    def queue(prefix: str) -> None:
        notifications_queue(  # autocommit: the delivery task is kicked at once, as after a service's commit
            notices=[
                Notification(
                    dedupe_key=f"faults:{prefix}:{n}",
                    recipient=supervisor,
                    to_email=f"person{n}@example.com",
                    subject=f"{prefix} {n}",
                    body="Fault test notice",
                )
                for n in range(notices)
            ]
        )

    def once(prefix: str, expected: int, label: str) -> None:
        emails = sent_emails(prefix)
        duplicates = {k: v for k, v in emails.items() if v > 1}
        total = sum(emails.values())
        verdict.measure(**{f"{label}_emails_sent": total, f"{label}_emails_distinct": len(emails)})
        verdict.check(f"{label}: every notice sent", pending(prefix) == 0, f"{pending(prefix)} pending")
        verdict.check(
            f"{label}: each e-mail sent exactly once",
            total == expected == len(emails) and not duplicates,
            f"{total} e-mails for {expected} notices, duplicates {list(duplicates.items())[:3]}",
        )

    # --- B: the pool process killed during delivery ---------------------------------------------
    prefix = "Fault B notice"
    queue(prefix)
    harness.wait_until(lambda: sum(sent_emails(prefix).values()) >= 5, timeout=60, interval=0.1, what="5 e-mails")
    children = workers[0].children()
    before = sum(sent_emails(prefix).values())
    for pid in children:
        harness.os.kill(pid, signal.SIGKILL)
    log(f"B: killed the pool processes {children} after {before} e-mails")
    harness.wait_until(lambda: pending(prefix) == 0, timeout=120, what="B delivered")
    time.sleep(6)  # one more sweep
    verdict.measure(B_emails_before_kill=before)
    once(prefix, notices, "B (pool process killed)")
    verdict.check(
        "B: the worker lost the task and re-queued it",
        "WorkerLostError" in workers[0].text() or "Process" in workers[0].text(),
    )

    # --- C: the whole worker killed during delivery -----------------------------------------------
    prefix = "Fault C notice"
    queue(prefix)
    harness.wait_until(lambda: sum(sent_emails(prefix).values()) >= 5, timeout=60, interval=0.1, what="5 e-mails")
    before = sum(sent_emails(prefix).values())
    workers[0].signal_group(signal.SIGKILL)
    log(f"C: killed the whole worker (SIGKILL to its process group) after {before} e-mails")
    time.sleep(3)
    workers.append(stack.worker("worker2", env=worker_env))
    harness.wait_until(lambda: pending(prefix) == 0, timeout=120, what="C delivered")
    time.sleep(6)
    verdict.measure(C_emails_before_kill=before)
    once(prefix, notices, "C (whole worker killed)")

    # --- A: the whole worker killed during the overdue check ------------------------------------
    # The slow mail server would take overdue x 0.3 s here; this part counts marks and e-mails only.
    workers[-1].stop()
    workers.append(stack.worker("worker3"))
    now = timezone.now()
    rng = random.Random(8)
    harness.bulk_calls(data, [now - dt.timedelta(seconds=rng.randint(60, 36000)) for _ in range(overdue)], prefix="OV")
    log(f"A: {overdue} late calls inserted; waiting for the first batch of the check to commit")

    def marked() -> int:
        return RepairCall.objects.filter(overdue_marked_at__isnull=False).count()

    harness.wait_until(lambda: marked() > 0, timeout=60, interval=0.02, what="the first batch marked")
    workers[-1].signal_group(signal.SIGKILL)
    at_kill = dict(RepairCall.objects.filter(overdue_marked_at__isnull=False).values_list("id", "overdue_marked_at"))
    log(f"A: killed the whole worker with {len(at_kill)} of {overdue} calls marked")
    killed_log = workers[-1].text()
    time.sleep(3)
    workers.append(stack.worker("worker4"))
    harness.wait_until(lambda: marked() == overdue, timeout=180, what="every late call marked")
    harness.wait_until(lambda: pending("Repair call") == 0, timeout=240, what="every overdue notice sent")
    time.sleep(12)  # two more checks and sweeps: nothing more may happen

    after_kill = sum(int(v) for v in harness.task_results(workers[-1].text(), CHECK))
    kept = dict(RepairCall.objects.filter(id__in=at_kill).values_list("id", "overdue_marked_at"))
    notices_a = Notification.objects.filter(subject__startswith="Repair call").count()
    verdict.measure(
        A_calls=overdue,
        A_marked_before_kill=len(at_kill),
        A_marked_by_checks_after_restart=after_kill,
        A_checks_in_flight_at_kill=killed_log.count(f"Task {CHECK}[")
        - 2 * len(harness.task_results(killed_log, CHECK)),
        A_notices=notices_a,
    )
    verdict.check("A: killed in the middle of the check", 0 < len(at_kill) < overdue, f"{len(at_kill)} of {overdue}")
    verdict.check("A: every late call marked", marked() == overdue)
    verdict.check("A: marks made before the kill kept (not re-marked)", kept == at_kill)
    verdict.check(
        "A: the checks after the restart marked exactly the rest",
        after_kill == overdue - len(at_kill),
        f"{after_kill} + {len(at_kill)} vs {overdue}",
    )
    verdict.check("A: one notice per call and supervisor", notices_a == overdue)
    once("Repair call", overdue, "A (worker killed during the overdue check)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overdue", type=int, default=3000)
    parser.add_argument("--notices", type=int, default=30)
    parser.add_argument("--time-limit", type=int, default=600)
    args = parser.parse_args()
    return harness.run(
        "worker_sigkill",
        lambda s, v: body(s, v, overdue=args.overdue, notices=args.notices),
        time_limit=args.time_limit,
    )


if __name__ == "__main__":
    sys.exit(main())
