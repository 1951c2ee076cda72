"""Fault 3: beat down for a day and restarted: the missed checks catch up in one pass, with no burst.

    .venv/bin/python bench/faults/beat_downtime.py [--late 300]

Setup (through the ORM, since the service refuses deadlines already past): the beat's entries as a beat
leaves them, last run a day ago; ``--late`` calls whose deadlines passed over the last 24 h, calls not due
yet, calls marked overdue before the beat went down and calls resolved late (neither may be marked again).
Then a worker and beat start (the schedule as configured: the overdue check every 60 s) and run until
the check has run twice.

PASS when the beat sends each entry once on start (no catch-up burst), the first check marks every late
call, the next marks none, and each supervisor gets each call's e-mail once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import log

CHECK = "repairs.tasks.check_overdue_calls"
ENTRY = "repairs.check-overdue-calls"


def body(stack: harness.Stack, verdict: harness.Verdict, *, late: int) -> None:
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    from repairs.models import RepairCall
    from servicedesk.celery import app
    from servicedesk.models import Notification
    from servicedesk.schedule import beat_schedule

    data = harness.seed(supervisors=2)
    now = timezone.now()
    for name, entry in beat_schedule().items():  # the entries as the last beat left them
        ModelEntry.from_entry(name, app=app, **entry)
    PeriodicTask.objects.filter(name__in=beat_schedule()).update(
        last_run_at=now - dt.timedelta(days=1), total_run_count=1440
    )
    rng = random.Random(3)
    backlog = harness.bulk_calls(
        data, [now - dt.timedelta(seconds=rng.randint(60, 86400)) for _ in range(late)], prefix="LATE"
    )
    future = harness.bulk_calls(
        data, [now + dt.timedelta(seconds=rng.randint(3600, 5 * 3600)) for _ in range(50)], prefix="SOON"
    )
    marked_before = now - dt.timedelta(hours=29)
    premarked = harness.bulk_calls(
        data, [now - dt.timedelta(hours=30)] * 20, prefix="OLD", overdue_marked_at=marked_before
    )
    resolved = harness.bulk_calls(
        data,
        [now - dt.timedelta(hours=3)] * 20,
        prefix="DONE",
        status=RepairCall.Status.RESOLVED,
        arrived_at=now - dt.timedelta(hours=2),
        resolved_at=now - dt.timedelta(hours=1),
    )
    log(f"{late} calls late by up to a day, 50 not due, 20 marked before the outage, 20 resolved late")

    worker = stack.worker()
    started = time.monotonic()
    beat = stack.beat()
    harness.wait_until(
        lambda: (
            RepairCall.objects.filter(id__in=[c.pk for c in backlog], overdue_marked_at__isnull=False).count() == late
        ),
        timeout=90,
        what="the backlog marked",
    )
    caught_up = time.monotonic() - started
    first_pass_sends = {name: harness.beat_sends(beat.text(), name) for name in beat_schedule()}
    overdue_notices = Notification.objects.filter(dedupe_key__startswith="repair-call-overdue:")
    harness.wait_until(
        lambda: not overdue_notices.filter(sent_at__isnull=True).exists(), timeout=120, what="the notices sent"
    )
    log("waiting for the beat's next regular check (60 s after the first)")
    harness.wait_until(
        lambda: len(harness.task_results(worker.text(), CHECK)) >= 2, timeout=100, what="the second check"
    )
    time.sleep(3)

    results = [int(v) for v in harness.task_results(worker.text(), CHECK)]
    emails = {k: v for k, v in stack.emails().items() if " is overdue" in k[1]}
    duplicates = {k: v for k, v in emails.items() if v > 1}
    expected_notices = late * 2
    verdict.measure(
        late_calls=late,
        catch_up_seconds=round(caught_up, 1),
        beat_sends_on_start=first_pass_sends,
        check_results=results,
        notices=overdue_notices.count(),
        emails_sent=sum(emails.values()),
    )
    verdict.check(
        "no burst: each beat entry sent once on start",
        all(n <= 1 for n in first_pass_sends.values()) and first_pass_sends[ENTRY] == 1,
        str(first_pass_sends),
    )
    verdict.check(
        "one pass catches up, the next does nothing",
        results[:2] == [late, 0] and sum(results) == late,
        f"check results {results}",
    )
    verdict.check(
        "calls not due, marked before, or resolved are untouched",
        not RepairCall.objects.filter(
            id__in=[c.pk for c in future + resolved], overdue_marked_at__isnull=False
        ).exists()
        and set(RepairCall.objects.filter(id__in=[c.pk for c in premarked]).values_list("overdue_marked_at", flat=True))
        == {marked_before}
        and not Notification.objects.filter(
            dedupe_key__in=[f"repair-call-overdue:{c.pk}:{s.pk}" for c in premarked for s in data["supervisors"]]
        ).exists(),
    )
    verdict.check(
        "one notice per late call and supervisor", overdue_notices.count() == expected_notices, str(expected_notices)
    )
    verdict.check(
        "each e-mail sent exactly once",
        sum(emails.values()) == expected_notices == len(emails) and not duplicates,
        f"{sum(emails.values())} e-mails, duplicates {list(duplicates.items())[:3]}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--late", type=int, default=300)
    parser.add_argument("--time-limit", type=int, default=420)
    args = parser.parse_args()
    return harness.run("beat_downtime", lambda s, v: body(s, v, late=args.late), time_limit=args.time_limit)


if __name__ == "__main__":
    sys.exit(main())
