"""Fault 1: Redis stopped, then Redis hung (SIGSTOP), while dispatchers log and dispatch calls over HTTP.

    .venv/bin/python bench/faults/redis_outage.py [--pairs 10]

gunicorn (2 workers x 2 threads), one Celery worker and one beat run against this script's own
PostgreSQL and Redis. Phases: Redis up → Redis stopped → Redis started again → Redis hung → Redis
resumed. In each phase two dispatchers log calls and dispatch each to the technician over HTTP (each
dispatch queues one e-mail to the technician in the outbox). The beat's delivery sweep is set to every
10 s (in the database, as an administrator would). The worker is supervised as systemd supervises it
(Restart=always): if it exits, it is started again and the exit is reported (``worker_exits``).

PASS when: no request took longer than the hang limit, no request answered 5xx (or failed to answer),
every call posted is in the database and dispatched, and after Redis is back every notice is sent and
every e-mail is in the mail folder exactly once.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import HANG_LIMIT_SECONDS, log


def body(stack: harness.Stack, verdict: harness.Verdict, *, pairs: int) -> None:
    from repairs.models import RepairCall
    from servicedesk.models import Notification

    data = harness.seed(dispatchers=2)
    _gunicorn, port = stack.gunicorn()
    workers = [stack.worker("worker1")]
    exits: list[str] = []

    def supervised() -> None:
        """Start the worker again if it exited, as systemd's Restart=always does (deploy/systemd)."""
        if not workers[-1].alive():
            text = workers[-1].text()
            reason = (
                "Unrecoverable error" if "Unrecoverable error" in text else f"exit status {workers[-1].popen.poll()}"
            )
            exits.append(f"{workers[-1].name}: {reason}")
            log(f"{workers[-1].name} exited ({reason}); starting it again as systemd would")
            workers.append(stack.worker(f"worker{len(workers) + 1}"))

    def delivered_under_supervision() -> bool:
        supervised()
        return all_delivered()

    stack.beat()
    harness.set_intervals({"servicedesk.deliver-notifications": 10})
    sessions = [harness.Session(port) for _ in data["dispatchers"]]
    for session, user in zip(sessions, data["dispatchers"], strict=True):
        session.login(user.username)

    results: list[dict] = []  # one per request
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def dispatcher_loop(session: harness.Session, phase: str) -> None:
        for _ in range(pairs):
            with lock:
                n = next(counter)
            status, call_id, took = session.log_call(data, n)
            results.append({"phase": phase, "kind": "log", "status": status, "seconds": took, "call": call_id})
            if call_id is None:
                continue
            status, took = session.dispatch(call_id, data["technician"].pk)
            results.append({"phase": phase, "kind": "dispatch", "status": status, "seconds": took, "call": call_id})

    def phase(name: str) -> None:
        started = time.monotonic()
        threads = [threading.Thread(target=dispatcher_loop, args=(s, name)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=pairs * 2 * HANG_LIMIT_SECONDS * 4)
        rows = [r for r in results if r["phase"] == name]
        statuses = sorted({r["status"] for r in rows})
        log(
            f"phase {name}: {len(rows)} requests in {time.monotonic() - started:.1f} s, "
            f"statuses {statuses}, max {max(r['seconds'] for r in rows):.2f} s"
        )
        for kind in ("log", "dispatch"):
            seconds = [r["seconds"] for r in rows if r["kind"] == kind]
            verdict.measure(**{f"{name}_{kind}": harness.summary(seconds) | {"statuses": statuses}})

    def all_delivered() -> bool:
        return not Notification.objects.filter(sent_at__isnull=True).exists()

    phase("redis_up")

    log("stopping Redis")
    stack.redis_stop()
    phase("redis_stopped")
    pending_after_stop = Notification.objects.filter(sent_at__isnull=True).count()
    log(f"{pending_after_stop} notices pending while Redis is down; starting Redis again")
    stack.redis_start()
    waited = harness.wait_until(
        delivered_under_supervision, timeout=90, what="every notice delivered after Redis restarted"
    )
    verdict.measure(pending_while_stopped=pending_after_stop, stopped_delivered_within_s=round(waited, 1))

    log("hanging Redis (SIGSTOP)")
    stack.redis_pause()
    try:
        phase("redis_hung")
        pending_after_hang = Notification.objects.filter(sent_at__isnull=True).count()
    finally:
        log("resuming Redis (SIGCONT)")
        stack.redis_resume()
    waited = harness.wait_until(
        delivered_under_supervision, timeout=90, what="every notice delivered after Redis resumed"
    )
    verdict.measure(pending_while_hung=pending_after_hang, hung_delivered_within_s=round(waited, 1))
    log("waiting 15 s more (another sweep or two) to catch any late duplicate")
    time.sleep(15)
    supervised()

    posted_logs = [r for r in results if r["kind"] == "log"]
    max_seconds = max(r["seconds"] for r in results)
    bad = [r for r in results if r["status"] >= 500 or r["status"] == 0]
    calls = RepairCall.objects.count()
    dispatched = RepairCall.objects.filter(status=RepairCall.Status.DISPATCHED).count()
    notices = Notification.objects.count()
    emails = stack.emails()
    duplicates = {k: v for k, v in emails.items() if v > 1}
    verdict.measure(
        requests=len(results),
        max_latency_s=round(max_seconds, 2),
        calls_posted=len(posted_logs),
        calls_in_db=calls,
        calls_dispatched=dispatched,
        notices=notices,
        emails_sent=sum(emails.values()),
        distinct_emails=len(emails),
        worker_exits=exits,
    )
    verdict.check("no request hangs", max_seconds < HANG_LIMIT_SECONDS, f"max {max_seconds:.2f} s")
    verdict.check("no 5xx and no dropped connection", not bad, f"{len(bad)} bad: {bad[:3]}")
    verdict.check(
        "no call lost",
        calls == len(posted_logs) == 3 * len(sessions) * pairs and dispatched == calls,
        f"{len(posted_logs)} posted, {calls} in the database, {dispatched} dispatched",
    )
    verdict.check("notices queued while Redis was down", pending_after_stop > 0 and pending_after_hang > 0)
    verdict.check("every notice sent", all_delivered() and notices == calls, f"{notices} notices for {calls} calls")
    verdict.check(
        "each e-mail sent exactly once",
        sum(emails.values()) == notices and not duplicates,
        f"{sum(emails.values())} e-mails for {notices} notices, duplicates {list(duplicates.items())[:3]}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="log+dispatch pairs per dispatcher per phase")
    parser.add_argument("--time-limit", type=int, default=480)
    args = parser.parse_args()
    return harness.run("redis_outage", lambda s, v: body(s, v, pairs=args.pairs), time_limit=args.time_limit)


if __name__ == "__main__":
    sys.exit(main())
