"""Fault 4: two beats running at once (a second beat started by mistake): no duplicate marks or notices.

    .venv/bin/python bench/faults/two_beats.py [--calls 300] [--seconds 45]

Two ``celery beat`` processes with the DatabaseScheduler run against the same database, with one worker
(prefork x 2, so two checks really run at the same time). The overdue check is set to every 2 s and the
delivery sweep to every 5 s (in the database; both beats pick the change up). A third of the calls are late
already, the rest fall due one by one over the next ``--seconds``.

PASS when both beats really sent the check (duplicates were sent), every late call was marked exactly once
(the worker's marked counts add up to the number of calls; none marked before its deadline) and each
supervisor's e-mail was sent once.
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


def body(stack: harness.Stack, verdict: harness.Verdict, *, calls: int, seconds: int) -> None:
    from django.db.models import F
    from django.utils import timezone

    from repairs.models import RepairCall
    from servicedesk.models import Notification

    data = harness.seed(supervisors=1)
    worker = stack.worker(concurrency=2)
    beats = [stack.beat("beat1"), stack.beat("beat2")]
    harness.set_intervals({ENTRY: 2, "servicedesk.deliver-notifications": 5})
    time.sleep(6)  # both beats reload the changed schedule within their 5 s maximum interval
    now = timezone.now()
    rng = random.Random(4)
    already = calls // 3
    harness.bulk_calls(
        data,
        [now - dt.timedelta(seconds=rng.randint(60, 7200)) for _ in range(already)]
        + [now + dt.timedelta(seconds=rng.uniform(1, seconds)) for _ in range(calls - already)],
        prefix="TWO",
    )
    sends_before = [harness.beat_sends(b.text(), ENTRY) for b in beats]
    log(f"{already} calls late, {calls - already} falling due over {seconds} s; two beats running")
    time.sleep(seconds + 5)
    harness.wait_until(
        lambda: RepairCall.objects.filter(overdue_marked_at__isnull=False).count() == calls,
        timeout=60,
        what="every call marked",
    )
    notices = Notification.objects.filter(dedupe_key__startswith="repair-call-overdue:")
    harness.wait_until(lambda: not notices.filter(sent_at__isnull=True).exists(), timeout=120, what="notices sent")
    time.sleep(8)  # more checks and sweeps from both beats: nothing more may happen

    sends = [harness.beat_sends(b.text(), ENTRY) - s for b, s in zip(beats, sends_before, strict=True)]
    results = [int(v) for v in harness.task_results(worker.text(), CHECK)]
    early = RepairCall.objects.filter(overdue_marked_at__lt=F("attend_by")).count()
    emails = {k: v for k, v in stack.emails().items() if " is overdue" in k[1]}
    duplicates = {k: v for k, v in emails.items() if v > 1}
    verdict.measure(
        calls=calls,
        check_sends_per_beat=sends,
        checks_run=len(results),
        checks_that_marked=sum(1 for r in results if r),
        marked_total=sum(results),
        notices=notices.count(),
        emails_sent=sum(emails.values()),
    )
    verdict.check("both beats sent the check (duplicates were sent)", all(n >= 3 for n in sends), str(sends))
    verdict.check("every call marked exactly once", sum(results) == calls, f"{sum(results)} marks for {calls} calls")
    verdict.check("no call marked before its deadline", early == 0, f"{early} early")
    verdict.check("one notice per call", notices.count() == calls)
    verdict.check(
        "each e-mail sent exactly once",
        sum(emails.values()) == calls == len(emails) and not duplicates,
        f"{sum(emails.values())} e-mails, duplicates {list(duplicates.items())[:3]}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=45)
    parser.add_argument("--time-limit", type=int, default=420)
    args = parser.parse_args()
    return harness.run(
        "two_beats", lambda s, v: body(s, v, calls=args.calls, seconds=args.seconds), time_limit=args.time_limit
    )


if __name__ == "__main__":
    sys.exit(main())
