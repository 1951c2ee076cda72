"""Fault 5: PostgreSQL restarted (``pg_ctl restart -m fast``) while dispatchers log calls over HTTP.

    .venv/bin/python bench/faults/postgres_restart.py [--seconds 30] [--threads 4]

gunicorn (2 workers x 2 threads, as deploy/gunicorn.conf.py, timeout 30 s) runs against this script's own
PostgreSQL and Redis. ``--threads`` dispatchers log calls (and look at the board every fifth request) for
``--seconds``, each at most 200 requests; a few seconds in, the cluster is restarted with ``-m fast``,
which ends every connection. Afterwards one more dispatcher logs 10 calls, with gunicorn never restarted.

PASS when no request took longer than the hang limit, every request that failed got a 5xx page (not a
dropped connection), the failures are confined to the restart, the app serves again by itself (the last
requests of the load and the 10 after it all succeed; gunicorn's workers were not replaced), and every
call acknowledged with a redirect is in the database and no other.
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

MAX_REQUESTS_PER_THREAD = 200


def body(stack: harness.Stack, verdict: harness.Verdict, *, seconds: int, threads: int) -> None:
    from django.db import close_old_connections

    from repairs.models import RepairCall

    data = harness.seed(dispatchers=threads)
    gunicorn, port = stack.gunicorn()
    workers_before = sorted(gunicorn.children())
    sessions = [harness.Session(port, timeout=40) for _ in range(threads)]
    for session, user in zip(sessions, data["dispatchers"], strict=True):
        session.login(user.username)

    t0 = time.monotonic()
    stop_at = t0 + seconds
    rows: list[dict] = []

    def load(session: harness.Session, k: int) -> None:
        for i in range(MAX_REQUESTS_PER_THREAD):
            if time.monotonic() > stop_at:
                return
            start = time.monotonic() - t0
            if i % 5 == 4:
                status, _h, _body, took = session.request("GET", "/calls/")
                call_id = None
                kind = "board"
            else:
                status, call_id, took = session.log_call(data, k * 1000 + i)
                kind = "log"
            rows.append({"kind": kind, "start": start, "end": start + took, "status": status, "call": call_id})

    pool = [threading.Thread(target=load, args=(s, k)) for k, s in enumerate(sessions)]
    for thread in pool:
        thread.start()
    time.sleep(min(8, seconds / 3))
    restart_start = time.monotonic() - t0
    log("pg_ctl restart -m fast")
    took = stack.pg_restart()
    restart_end = time.monotonic() - t0
    log(f"PostgreSQL back after {took:.1f} s")
    for thread in pool:
        thread.join(timeout=seconds + 60)

    close_old_connections()
    after = []
    for n in range(10):
        status, call_id, _took = sessions[0].log_call(data, 900_000 + n)
        after.append(status)
        rows.append({"kind": "log", "start": 0, "end": 0, "status": status, "call": call_id, "after": True})
    workers_after = sorted(gunicorn.children())

    load_rows = [r for r in rows if not r.get("after")]
    failed = [r for r in load_rows if r["status"] != (302 if r["kind"] == "log" else 200)]
    ok_after_restart = [r for r in load_rows if r["start"] > restart_end and r not in failed]
    acknowledged = {r["call"] for r in rows if r["kind"] == "log" and r["status"] == 302}
    in_db = set(RepairCall.objects.values_list("id", flat=True))
    max_seconds = max(r["end"] - r["start"] for r in load_rows)
    last_failure = max((r["end"] for r in failed), default=None)
    first_ok_after = min((r["end"] for r in ok_after_restart), default=None)
    verdict.measure(
        requests=len(load_rows),
        load=harness.summary([r["end"] - r["start"] for r in load_rows]),
        restart_window_s=[round(restart_start, 2), round(restart_end, 2)],
        failed_requests=len(failed),
        failed_statuses=sorted({r["status"] for r in failed}),
        failed_latency=harness.summary([r["end"] - r["start"] for r in failed]),
        last_failure_s=round(last_failure, 2) if last_failure is not None else None,
        first_success_after_restart_s=round(first_ok_after, 2) if first_ok_after is not None else None,
        after_statuses=after,
        calls_acknowledged=len(acknowledged),
        calls_in_db=len(in_db),
        gunicorn_workers_replaced=workers_before != workers_after,
    )
    verdict.check("no request hangs", max_seconds < HANG_LIMIT_SECONDS, f"max {max_seconds:.2f} s")
    verdict.check(
        "failures are 5xx pages, not dropped connections",
        all(r["status"] >= 500 for r in failed),
        f"statuses {sorted({r['status'] for r in failed})}",
    )
    verdict.check(
        "failures confined to the restart",
        last_failure is None or last_failure < restart_end + 5,
        f"last failure at {last_failure}, restart ended at {restart_end:.2f}",
    )
    verdict.check(
        "the app recovers by itself",
        bool(ok_after_restart) and after == [302] * 10 and "WORKER TIMEOUT" not in gunicorn.text(),
        f"{len(ok_after_restart)} ok after the restart, then {after}",
    )
    verdict.check(
        "gunicorn workers not replaced", workers_before == workers_after, f"{workers_before} → {workers_after}"
    )
    verdict.check(
        "every acknowledged call is in the database, and no other",
        acknowledged == in_db,
        f"{len(acknowledged)} acknowledged, {len(in_db)} in the database",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--time-limit", type=int, default=300)
    args = parser.parse_args()
    return harness.run(
        "postgres_restart",
        lambda s, v: body(s, v, seconds=args.seconds, threads=args.threads),
        time_limit=args.time_limit,
    )


if __name__ == "__main__":
    sys.exit(main())
