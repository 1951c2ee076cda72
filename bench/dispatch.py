"""Benchmark of the dispatch capability (issue 2): seed a million calls, then measure.

    .venv/bin/python bench/dispatch.py --calls 1000000
    .venv/bin/python bench/dispatch.py --reuse --only overdue

1. Resets the PostgreSQL database named by ``BENCH_DATABASE_URL`` (default
   ``postgres://postgres@127.0.0.1:5432/sd_bench``; only a database whose name
   starts with ``sd_bench`` is ever dropped), migrates it and seeds it with
   ``bench/seed_calls.py`` (``--reuse`` keeps an already seeded one).
2. Starts gunicorn on a free loopback port (``DJANGO_DEBUG=0``, ``DJANGO_HTTPS=0``,
   a random secret key), logs four dispatchers of four units in through the
   login form, and measures the dispatch board's first and last page (the last
   page's keyset cursor is computed from the data) with the four users at once.
   Queries per request are counted in-process with ``CaptureQueriesContext``.
3. Logging a call: through the service in-process, and through the form over HTTP.
4. The overdue check (``repair_calls_mark_overdue``) with nothing new, with
   1,000 newly overdue and catching up 50,000; EXPLAIN shows which indexes the
   board and the check use, and the run fails if either scans the calls table.
   After each run of 1,000 newly overdue, the delivery sweep sends their notices
   (rendered then, with Django's locmem e-mail backend); rendering 1,000 alone is
   timed too. ``--only overdue`` measures this part only (no gunicorn), and
   prints the load average with it.

Traffic goes to 127.0.0.1 only; every loop is bounded and the whole run stops
itself after ``--time-limit`` seconds; gunicorn is always stopped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


class TimeLimit(Exception):
    pass


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values_ms: list[float]) -> dict:
    return {
        "n": len(values_ms),
        "median_ms": round(statistics.median(values_ms), 2) if values_ms else None,
        "p95_ms": round(_percentile(values_ms, 95), 2) if values_ms else None,
        "max_ms": round(max(values_ms), 2) if values_ms else None,
    }


def log(msg: str) -> None:
    print(msg, flush=True)


# --- environment ----------------------------------------------------------------------------------


def configure_environment(args) -> dict:
    url = urllib.parse.urlsplit(args.database_url)
    dbname = url.path.lstrip("/")
    if not dbname.startswith("sd_bench"):
        raise SystemExit(f"refusing to use database {dbname!r}: the benchmark resets it (its name must start sd_bench)")
    env = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(OUT / "static"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "SERVICEDESK_BASE_URL": f"http://{HOST}",
        # The delivery sweep is measured without a mail server.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    os.environ.update(env)
    return {"dbname": dbname, "url": url}


def reset_database(db: dict) -> None:
    import psycopg2

    admin = urllib.parse.urlunsplit(db["url"]._replace(path="/postgres"))
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [db["dbname"]],
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{db["dbname"]}"')
        cur.execute(f'CREATE DATABASE "{db["dbname"]}"')
    conn.close()


def manage(*argv: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *argv], cwd=ROOT, check=True, env=os.environ.copy())


# --- HTTP -----------------------------------------------------------------------------------------


class Session:
    """A browser-like session against gunicorn: cookies, CSRF token, one request at a time."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: dict | None = None, extra_headers: dict | None = None
    ) -> tuple[int, dict, bytes, float]:
        headers = {"Host": f"{HOST}:{self.port}", "Connection": "close", **(extra_headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        started = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), payload, elapsed_ms

    def csrf_from(self, html: bytes) -> str:
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if not match:
            raise RuntimeError("no CSRF token on the page")
        return match.group(1).decode()

    def login(self, username: str, password: str) -> None:
        status, _h, html, _t = self.request("GET", "/accounts/login/")
        if status != 200:
            raise RuntimeError(f"login page answered {status}")
        token = self.csrf_from(html)
        status, _headers, _b, _t = self.request(
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed: {status}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, workers: int):
        self.port = free_port()
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.logfile = open(OUT / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "servicedesk.wsgi:application",
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {OUT / 'gunicorn.log'}")
            try:
                status, *_ = Session(self.port).request("GET", "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.logfile.close()


def run_concurrently(
    sessions: list[Session], paths: list[str], requests_each: int, check, *, before=None, headers=None
) -> list[float]:
    """Each session requests its path ``requests_each`` times, all sessions at once; returns latencies (ms).

    ``before(i)``, if given, runs in session i's thread before each of its requests (not timed).
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions))

    def worker(index: int, session: Session, path: str):
        barrier.wait()
        mine = []
        for _ in range(requests_each):
            if before is not None:
                before(index)
            status, _h, body, elapsed = session.request("GET", path, extra_headers=headers)
            problem = check(status, body)
            if problem:
                with lock:
                    errors.append(problem)
                return
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(index, session, path))
        for index, (session, path) in enumerate(zip(sessions, paths, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} bad responses, first: {errors[0]}")
    return latencies


# --- measurements ---------------------------------------------------------------------------------


def board_paths(dispatchers) -> tuple[list[str], list[str], list[int]]:
    """First-page and last-page URLs per dispatcher; the last page's cursor computed from the data."""
    from django.db import connection

    from repairs.selectors import BOARD_PAGE_SIZE, BoardCursor

    firsts, lasts, open_counts = [], [], []
    with connection.cursor() as cur:
        for user in dispatchers:
            # The row just before the last page in the board's order (attended, attend_by, id).
            cur.execute(
                """
                SELECT CASE WHEN status = 'on_site' THEN 1 ELSE 0 END AS attended, attend_by, id
                FROM repairs_repaircall WHERE unit_id = %s AND status IN ('logged', 'dispatched', 'on_site')
                ORDER BY 1 DESC, 2 DESC, 3 DESC OFFSET %s LIMIT 1
                """,
                [user.unit_id, BOARD_PAGE_SIZE],
            )
            attended, attend_by, pk = cur.fetchone()
            cur.execute(
                "SELECT count(*) FROM repairs_repaircall WHERE unit_id = %s AND status IN ('logged', 'dispatched', "
                "'on_site')",
                [user.unit_id],
            )
            open_counts.append(cur.fetchone()[0])
            firsts.append("/calls/")
            lasts.append("/calls/?after=" + BoardCursor(attended, attend_by, pk).encode())
    return firsts, lasts, open_counts


def capture_queries():
    """CaptureQueriesContext on an emptied log: once Django's log holds its 9,000 queries, it captures none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    return CaptureQueriesContext(connection)


def explain(sql: str, params=None, *, analyze: bool = True) -> str:
    """The plan of one statement; with ANALYZE inside a transaction that is rolled back."""
    from django.db import connection, transaction

    plan = ""
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + sql, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
        transaction.set_rollback(True)
    return plan


def scans_calls_table(plan: str) -> bool:
    return bool(re.search(r"Seq Scan on repairs_repaircall\b", plan))


def board_in_process(dispatcher, paths: dict[str, str], head_office) -> dict:
    """Queries per request and the board query's plan, through the real view in-process.

    Each measured request follows a change to one of the unit's calls, so it reads the database
    (a cache miss); ``queries_cached`` counts the same page served from the board's page cache.
    """
    from django.test import Client

    from repairs.board_cache import board_changed

    client = Client(SERVER_NAME=HOST)
    client.force_login(dispatcher)
    result = {}
    for name, path in paths.items():
        client.get(path)  # warm
        board_changed(unit_id=dispatcher.unit_id)
        with capture_queries() as ctx:
            response = client.get(path)
        assert response.status_code == 200, response.status_code
        queries = list(ctx.captured_queries)  # a view of the log, which the next capture empties
        with capture_queries() as cached:
            client.get(path)
        board_sql = [q["sql"] for q in queries if "repairs_repaircall" in q["sql"]]
        plan = explain(board_sql[0]) if board_sql else ""
        result[name] = {
            "queries": len(queries),
            "queries_cached": len(cached.captured_queries),
            "rows": response.content.count(b"data-call="),
            "plan": plan,
            "uses_call_board_idx": "call_board_idx" in plan,
            "seq_scan_on_calls": scans_calls_table(plan),
        }
    # Head office sees every unit: informational, not a target.
    client.force_login(head_office)
    client.get("/calls/")
    times = []
    for _ in range(10):
        board_changed(unit_id=dispatcher.unit_id)  # every unit's change reaches head office's pages
        started = time.perf_counter()
        client.get("/calls/")
        times.append((time.perf_counter() - started) * 1000)
    board_changed(unit_id=dispatcher.unit_id)
    with capture_queries() as ctx:
        client.get("/calls/")
    board_sql = [q["sql"] for q in ctx.captured_queries if "repairs_repaircall" in q["sql"]]
    plan = explain(board_sql[0]) if board_sql else ""
    result["head_office_first"] = {
        **summary(times),
        "queries": len(ctx.captured_queries),
        "plan": plan,
        "seq_scan_on_calls": scans_calls_table(plan),
    }
    return result


def pick_log_targets(unit_id: int, count: int):
    """Existing customers of the unit with a site and a product (a caller already on file)."""
    from repairs.models import Product

    return list(
        Product.objects.filter(customer__unit_id=unit_id, site__isnull=False)
        .select_related("customer", "site")
        .order_by("id")[:count]
    )


def log_call_service(dispatcher, n: int) -> dict:
    from django.utils import timezone

    from repairs.services import repair_call_log

    times = []
    for product in pick_log_targets(dispatcher.unit_id, n):
        now = timezone.now()
        started = time.perf_counter()
        repair_call_log(
            user=dispatcher,
            unit=dispatcher.unit,
            received_at=now - dt.timedelta(minutes=3),
            contact_name="王先生",
            contact_phone="138 0000 1234",
            problem="设备无法启动 The unit does not start",
            customer=product.customer,
            site=product.site,
            product=product,
        )
        times.append((time.perf_counter() - started) * 1000)
    return summary(times)


def log_call_http(session: Session, dispatcher, n: int) -> dict:
    from django.utils import timezone

    status, _h, html, _t = session.request("GET", "/calls/new/")
    if status != 200:
        raise RuntimeError(f"log form answered {status}")
    token = session.csrf_from(html)
    targets = pick_log_targets(dispatcher.unit_id, 2 * n)[n:]
    times = []
    for product in targets:
        received = timezone.localtime() - dt.timedelta(minutes=1)
        status, headers, body, elapsed = session.request(
            "POST",
            "/calls/new/",
            {
                "csrfmiddlewaretoken": token,
                "customer": product.customer_id,
                "site": product.site_id,
                "product": product.pk,
                "contact_name": "李女士",
                "contact_phone": "139-0000-5678",
                "channel": "phone",
                "coverage": "unknown",
                "problem": "运行噪音异常 Unusual noise when running",
                "received_at": received.strftime("%Y-%m-%dT%H:%M"),
            },
        )
        if status != 302 or "/calls/" not in headers.get("Location", ""):
            raise RuntimeError(f"logging a call over HTTP answered {status}: {body[:300]!r}")
        times.append(elapsed)
    return summary(times)


def overdue_measurements(*, empty_runs: int, newly: int, newly_rounds: int, catch_up: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from repairs.models import RepairCall
    from repairs.services import repair_calls_mark_overdue

    def timed(now):
        started = time.perf_counter()
        marked = repair_calls_mark_overdue(now=now)
        return marked, (time.perf_counter() - started) * 1000

    from django.core import mail

    def timed_delivery():
        from servicedesk.notifications import notifications_deliver_pending

        with capture_queries() as ctx:
            started = time.perf_counter()
            sent = notifications_deliver_pending()
            ms = (time.perf_counter() - started) * 1000
        return sent, ms, len(ctx.captured_queries)

    result = {"load_before": os.getloadavg(), "unmarked_ahead_of_the_clock": unmark_calls_ahead_of_the_clock()}
    # What came due between the seed and now: the every-minute check would have caught it already.
    result["since_seed"] = dict(zip(("marked", "ms"), timed(timezone.now()), strict=True))

    times, marked_total = [], 0
    for _ in range(empty_runs):
        marked, ms = timed(timezone.now())
        marked_total += marked
        times.append(ms)
    result["empty"] = {**summary(times), "marked": marked_total}

    # What earlier runs left pending is not this run's delivery: mark it sent (the bench database only).
    from servicedesk.models import Notification

    result["left_pending_by_earlier_runs"] = Notification.objects.filter(sent_at__isnull=True).update(
        sent_at=timezone.now()
    )

    # N newly overdue: run the check at the moment the next N waiting calls have come due, then deliver
    # its notices (Django's locmem e-mail backend, set in configure_environment).
    awaiting = RepairCall.objects.filter(status__in=RepairCall.AWAITING_ARRIVAL, overdue_marked_at__isnull=True)
    rounds, deliveries = [], []
    for _ in range(newly_rounds):
        due = list(awaiting.order_by("attend_by").values_list("attend_by", flat=True)[newly - 1 : newly])
        if not due:
            break
        marked, ms = timed(due[0] + dt.timedelta(microseconds=1))
        rounds.append((marked, ms))
        deliveries.append(timed_delivery())
        mail.outbox = []
    result["newly"] = {
        **summary([ms for _m, ms in rounds]),
        "runs_ms": [round(ms, 1) for _m, ms in rounds],
        "marked_per_run": [m for m, _ms in rounds],
    }
    result["delivery"] = {
        **summary([ms for _s, ms, _q in deliveries]),
        "sent_per_run": [s for s, _ms, _q in deliveries],
        "queries_per_run": [q for _s, _ms, q in deliveries],
        "render": rendering_alone(newly),
    }

    # The plans of the check's statements, from one more round of N.
    due = list(awaiting.order_by("attend_by").values_list("attend_by", flat=True)[newly - 1 : newly])
    plans = []
    if due:
        with capture_queries() as ctx:
            repair_calls_mark_overdue(now=due[0] + dt.timedelta(microseconds=1))
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "repairs_repaircall" in sql and not sql.startswith(("SAVEPOINT", "RELEASE")):
                is_select = sql.lstrip().upper().startswith("SELECT")
                plan = explain(sql, analyze=is_select)
                plans.append({"sql": sql[:160] + ("…" if len(sql) > 160 else ""), "plan": plan})
    result["plans"] = plans
    result["newly"]["queries"] = len(ctx.captured_queries) if due else None
    result["seq_scan_on_calls"] = any(scans_calls_table(p["plan"]) for p in plans)
    result["uses_call_overdue_due_idx"] = any("call_overdue_due_idx" in p["plan"] for p in plans)

    # Catching up: the check was down while the last N calls came due (they are unmarked, nobody notified).
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH late AS (
                SELECT id FROM repairs_repaircall
                WHERE status IN ('logged', 'dispatched') AND overdue_marked_at IS NOT NULL AND attend_by < %s
                ORDER BY attend_by DESC LIMIT %s
            )
            UPDATE repairs_repaircall c SET overdue_marked_at = NULL FROM late WHERE c.id = late.id RETURNING c.id
            """,
            [now, catch_up],
        )
        ids = [row[0] for row in cur.fetchall()]
        cur.execute(
            "DELETE FROM servicedesk_notification WHERE dedupe_key LIKE 'repair-call-overdue:%%' "
            "AND split_part(dedupe_key, ':', 2)::bigint = ANY(%s)",
            [ids],
        )
    marked, ms = timed(timezone.now())
    result["catch_up"] = {"unmarked": len(ids), "marked": marked, "ms": round(ms, 1)}
    marked, ms = timed(timezone.now())
    result["after_catch_up"] = {"marked": marked, "ms": round(ms, 2)}
    result["load_after"] = os.getloadavg()
    return result


def unmark_calls_ahead_of_the_clock() -> int:
    """Undo what earlier runs marked by running the check at future moments, so every ``--reuse`` run has calls to mark.

    Calls not yet due by the real clock cannot have been marked by a real check; their notices go too.
    """
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            WITH ahead AS (
                UPDATE repairs_repaircall SET overdue_marked_at = NULL
                WHERE status IN ('logged', 'dispatched') AND overdue_marked_at IS NOT NULL AND attend_by >= now()
                RETURNING id
            ), gone AS (
                DELETE FROM servicedesk_notification
                WHERE dedupe_key LIKE 'repair-call-overdue:%%'
                  AND split_part(dedupe_key, ':', 2)::bigint IN (SELECT id FROM ahead)
            )
            SELECT count(*) FROM ahead
            """
        )
        (count,) = cur.fetchone()
        cur.execute("VACUUM ANALYZE repairs_repaircall")
    return count


def rendering_alone(count: int, rounds: int = 5) -> dict:
    """Rendering the last ``count`` overdue notices again in memory, as the delivery sweep does (nothing saved)."""

    from servicedesk.models import Notification
    from servicedesk.notifications import notices_render

    notices = list(Notification.objects.filter(kind="repairs.call_overdue").order_by("-pk")[:count])
    times = []
    for _ in range(rounds):
        for notice in notices:  # as they were before they were sent
            notice.subject = notice.body = ""
        with capture_queries() as ctx:
            started = time.perf_counter()
            notices_render(notices=notices)
            times.append((time.perf_counter() - started) * 1000)
    return {**summary(times), "notices": len(notices), "queries": len(ctx.captured_queries)}


def measure_board_and_logging(args, results: dict) -> None:
    import seed_calls
    from django.contrib.auth import get_user_model

    User = get_user_model()
    dispatchers = list(
        User.objects.filter(username__startswith="bench-disp-")
        .select_related("unit")
        .order_by("username")[: args.users]
    )
    head_office = User.objects.get(username="bench-hq")
    firsts, lasts, open_counts = board_paths(dispatchers)
    results["board_open_calls_per_unit"] = open_counts

    log("board in-process: queries per request and plans …")
    results["board_in_process"] = board_in_process(dispatchers[0], {"first": firsts[0], "last": lasts[0]}, head_office)
    for name in ("first", "last"):
        info = results["board_in_process"][name]
        if info["seq_scan_on_calls"]:
            raise SystemExit(f"the board's {name} page scans the whole calls table:\n{info['plan']}")

    def board_ok(status, body):
        if status != 200:
            return f"status {status}"
        if body.count(b"data-call=") != 50:
            return f"{body.count(b'data-call=')} rows instead of 50"
        return None

    with Gunicorn(workers=args.workers) as server:
        log(f"gunicorn on {HOST}:{server.port} with {args.workers} workers; logging {len(dispatchers)} users in …")
        sessions = [Session(server.port) for _ in dispatchers]
        for session, user in zip(sessions, dispatchers, strict=True):
            session.login(user.username, seed_calls.BENCH_PASSWORD)
        # Warm every worker: templates, translations, connections.
        run_concurrently(sessions, firsts, 10, board_ok)
        run_concurrently(sessions, lasts, 10, board_ok)
        results["board_http"] = {}
        # The board's page cache (repairs/board_cache.py) keeps a unit's rows until one of its calls
        # changes. "first"/"last": the pages as a unit's dispatchers see them while nothing changes
        # (each request after the first of a run is a cache hit); "*_miss": a call of the unit
        # changed before every request (the token replaced by the bench, untimed), so every
        # request reads the database; "refresh*": the table alone, as the page asks every 30 s.
        from repairs.board_cache import board_changed

        def changed(index: int) -> None:
            board_changed(unit_id=dispatchers[index].unit_id)

        refresh = {"HX-Request": "true", "HX-Target": "board-table"}
        results["board_load_before"] = os.getloadavg()
        for name, paths, before, headers in (
            ("first", firsts, None, None),
            ("last", lasts, None, None),
            ("first_miss", firsts, changed, None),
            ("last_miss", lasts, changed, None),
            ("refresh", firsts, None, refresh),
            ("refresh_miss", firsts, changed, refresh),
        ):
            t0 = time.perf_counter()
            latencies = run_concurrently(sessions, paths, args.requests, board_ok, before=before, headers=headers)
            wall = time.perf_counter() - t0
            results["board_http"][name] = {**summary(latencies), "req_per_s": round(len(latencies) / wall, 1)}
            log(f"board {name} over HTTP, {len(sessions)} users: {results['board_http'][name]}")

        results["board_load_after"] = os.getloadavg()
        log("logging calls …")
        results["log_call_http"] = log_call_http(sessions[0], dispatchers[0], args.log_calls)
        log(f"log a call over HTTP (form POST → redirect), 1 user: {results['log_call_http']}")
    results["log_call_service"] = log_call_service(dispatchers[1], args.log_calls)
    log(f"log a call through the service in-process: {results['log_call_service']}")


# --- main -----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark of the dispatch board, call logging and the overdue check.")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000, help="open calls among them")
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--users", type=int, default=4, help="concurrent dispatchers on the board")
    parser.add_argument("--requests", type=int, default=100, help="board requests per user and page")
    parser.add_argument("--log-calls", type=int, default=100, help="calls logged per method")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (2-4 on this machine)")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--time-limit", type=int, default=900, help="stop the whole run after this many seconds")
    parser.add_argument(
        "--only",
        choices=["overdue"],
        help="measure one part only (overdue: the overdue check and the delivery of its notices; no gunicorn)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    args = parser.parse_args(argv)

    def on_alarm(signum, frame):
        raise TimeLimit(f"stopped after {args.time_limit} s (--time-limit)")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    OUT.mkdir(parents=True, exist_ok=True)
    db = configure_environment(args)
    results: dict = {"args": vars(args) | {"database_url": args.database_url}}
    started = time.perf_counter()

    if not args.reuse:
        log(f"resetting database {db['dbname']} …")
        reset_database(db)
    manage("migrate", "-v0")
    if args.only != "overdue":
        manage("collectstatic", "--noinput", "-v0")

    import django

    django.setup()
    import seed_calls

    from repairs.models import RepairCall

    if not args.reuse:
        results["seed"] = seed_calls.seed(calls=args.calls, open_calls=args.open, units=args.units, log=log)
        results["seed"]["now"] = results["seed"]["now"].isoformat()
    elif not RepairCall.objects.exists():
        raise SystemExit("--reuse: the database has no calls; run without --reuse first")
    results["consistency"] = seed_calls.check_consistency()
    log(f"consistency checks (violations): {results['consistency']}")
    if any(results["consistency"].values()):
        raise SystemExit("the seeded calls break the model's rules")
    results["volume"] = {
        "calls": RepairCall.objects.count(),
        "open": RepairCall.objects.filter(status__in=RepairCall.OPEN).count(),
    }

    if args.only != "overdue":
        measure_board_and_logging(args, results)

    log("overdue check …")
    results["overdue"] = overdue_measurements(empty_runs=50, newly=1000, newly_rounds=5, catch_up=50_000)
    if results["overdue"]["seq_scan_on_calls"]:
        raise SystemExit("the overdue check scans the whole calls table")
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    signal.alarm(0)
    report(results)
    (OUT / "dispatch-results.json").write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    return 0


def _short(plan: str, width: int = 200) -> str:
    return "\n".join(line if len(line) <= width else line[:width] + "…" for line in plan.splitlines())


def report(r: dict) -> None:
    od = r["overdue"]

    def verdict(value, target):
        return "OK" if value is not None and value <= target else "MISSED"

    log("")
    log("=" * 100)
    if "seed" in r:
        s = r["seed"]
        log(f"seed: {s['calls']:,} calls in {s['timings']['total']:.1f} s ({s['timings']})")
    log(f"volume: {r['volume']['calls']:,} calls, {r['volume']['open']:,} open")
    if "board_http" in r:
        report_board_and_logging(r, verdict)
    log(f"load average (1, 5, 15 min) before / after the overdue part: {od['load_before']} / {od['load_after']}")
    e = od["empty"]
    log(
        f"overdue check, nothing new: median {e['median_ms']} ms  p95 {e['p95_ms']} ms (n={e['n']}, marked "
        f"{e['marked']})  target ≤ 5 ms: {verdict(e['p95_ms'], 5)}"
    )
    n = od["newly"]
    log(
        f"overdue check, 1,000 newly overdue: median {n['median_ms']} ms  p95 {n['p95_ms']} ms  runs {n['runs_ms']} "
        f"marked per run {n['marked_per_run']}  queries {n['queries']}  target ≤ 200 ms: {verdict(n['p95_ms'], 200)}"
    )
    d = od["delivery"]
    log(
        f"delivery sweep after each of those runs (locmem e-mail): median {d['median_ms']} ms  p95 {d['p95_ms']} ms "
        f"sent per run {d['sent_per_run']}  queries per run {d['queries_per_run']}; rendering alone "
        f"{d['render']['median_ms']} ms median for {d['render']['notices']} notices ({d['render']['queries']} queries)"
    )
    log(f"calls un-marked first (marked ahead of the clock by earlier runs): {od['unmarked_ahead_of_the_clock']:,}")
    c = od["catch_up"]
    log(
        f"overdue check, catching up {c['unmarked']:,}: {c['ms']} ms, marked {c['marked']:,}; the run after it: "
        f"{od['after_catch_up']}"
    )
    log(
        f"overdue check uses call_overdue_due_idx: {od['uses_call_overdue_due_idx']}; "
        f"seq scan on the calls table: {od['seq_scan_on_calls']}"
    )
    log(f"elapsed {r['elapsed_s']} s; plans and raw figures in {OUT / 'dispatch-results.json'}")
    log("=" * 100)
    if "board_in_process" in r:
        bp = r["board_in_process"]
        log("")
        log("board first page plan:\n" + _short(bp["first"]["plan"]))
        log("")
        log("board last page plan:\n" + _short(bp["last"]["plan"]))
    for p in od["plans"]:
        log("")
        log(f"overdue check statement: {p['sql']}\n{_short(p['plan'])}")


def report_board_and_logging(r: dict, verdict) -> None:
    bp, bh = r["board_in_process"], r["board_http"]
    log(f"open calls per measured unit {r['board_open_calls_per_unit']}")
    for name in ("first", "last"):
        p = bp[name]
        log(
            f"board {name} page: queries/request {p['queries']} read from the database, {p['queries_cached']} "
            f"from the page cache; rows {p['rows']}  call_board_idx {p['uses_call_board_idx']}  "
            f"seq scan {p['seq_scan_on_calls']}"
        )
    log(f"load average (1, 5, 15 min) before / after the board: {r['board_load_before']} / {r['board_load_after']}")
    labels = {
        "first": "first page, nothing changed",
        "last": "last page, nothing changed",
        "first_miss": "first page, a change before each",
        "last_miss": "last page, a change before each",
        "refresh": "30-s refresh (table), nothing changed",
        "refresh_miss": "30-s refresh (table), a change before each",
    }
    for name, label in labels.items():
        h = bh[name]
        log(
            f"board {label:44} HTTP {r['args']['users']} users: median {h['median_ms']:6.1f} ms  p95 "
            f"{h['p95_ms']:6.1f} ms  ({h['req_per_s']} req/s, n={h['n']})  target p95 ≤ 30 ms: "
            f"{verdict(h['p95_ms'], 30)}"
        )
    ho = bp["head_office_first"]
    log(
        f"board, head office (all units), in-process, 1 user: median {ho['median_ms']} ms p95 {ho['p95_ms']} ms "
        f"queries {ho['queries']} seq scan {ho['seq_scan_on_calls']} (informational)"
    )
    for name, key in (("HTTP form, 1 user", "log_call_http"), ("service, in-process", "log_call_service")):
        v = r[key]
        log(
            f"log a call ({name}): median {v['median_ms']} ms  p95 {v['p95_ms']} ms  (n={v['n']})  "
            f"target p95 ≤ 25 ms: {verdict(v['p95_ms'], 25)}"
        )


if __name__ == "__main__":
    sys.exit(main())
