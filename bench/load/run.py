"""Load test of issue 8: locust against gunicorn + PostgreSQL + Redis + a Celery worker and beat.

    bench/load/run.sh                       # 3 minutes, 14 users, on postgres://…/sd_load, Redis db 11
    bench/load/run.sh --run-time 60 --users 8

1. The database (``--database-url``; its name must start with ``sd_load``) must hold the
   1,000,000 seeded calls: when it has none it is made again, as a copy of ``sd_bench``
   (``CREATE DATABASE … TEMPLATE``, only when nobody is connected to it) or, failing that,
   migrated and seeded with ``bench/seed_calls.py``. Then ``migrate`` and ``collectstatic``.
2. Set-up through the services (idempotent, so a second run reuses it): a general manager's
   office user, four open repair cards per technician in the load (voucher, signature,
   carry-in, booked into the register), 30 maintenance contracts per unit in the load, and
   on every run five more per unit entering their expiry-notice window. Outbox rows left pending by earlier
   benchmarks are marked sent first, so the worker's delivery sweep works on this run's
   notices only (said in the report).
3. Starts gunicorn (``deploy/gunicorn.conf.py`` on 127.0.0.1, ``--workers`` processes × 2
   threads, ``DJANGO_DEBUG=0 DJANGO_HTTPS=0``, a random secret key), a Celery worker (prefork
   × 2) and Celery beat (the DatabaseScheduler, so the overdue check runs every minute), with
   the file-based e-mail backend so every e-mail sent can be counted.
4. Runs ``locust --headless`` with a fixed number of users for ``--run-time`` seconds
   (``bench/load/locustfile.py``). During the run the contracts' daily job is sent twice at
   once, twice (the worker runs the two copies concurrently), and a second overdue check is
   sent beside beat's.
5. Afterwards: waits (bounded) for the overdue check to catch up and the outbox to drain,
   stops every process, prints throughput, median and p95 per page and the errors, then the
   invariants; exits 1 when one fails:
   - no call lost: every call the load logged (its id from the redirect, its number from the
     page) exists with that number;
   - each overdue call notified exactly once: never two outbox rows (or two e-mails) for one
     call and supervisor, and every call marked overdue during the run, in a unit with
     supervisors, has one notice per supervisor; no call due before the end left unmarked;
   - each contract term noticed once: at most one expiry notice (and one e-mail) per term, and
     every term whose window has begun has its notice after the daily runs;
   - no 5xx (locust's count and gunicorn's access log).
   The slowest pages are profiled in-process (queries per request, the slowest query and its
   EXPLAIN ANALYZE).

Loopback only; every wait is bounded; ``--time-limit`` stops the whole run; every process
started is stopped on exit (and listed in ``bench/out/load/pids`` for run.sh's trap).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import email
import email.header
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "bench" / "out" / "load"
HOST = "127.0.0.1"
TEMPLATE_DB = "sd_bench"
CARDS_PER_TECHNICIAN = 4
CONTRACTS_PER_UNIT = 30
CONTRACTS_DUE_PER_UNIT = 5
LOAD_TAG = "bench-load"

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

_T0 = time.monotonic()


class TimeLimit(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {msg}", flush=True)


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- processes ------------------------------------------------------------------------------------


class Processes:
    """Children in their own process groups; all stopped by ``stop_all`` (and listed for run.sh)."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp, self.env = tmp, env
        self.procs: list[tuple[str, subprocess.Popen, object]] = []
        self.pidfile = OUT / "pids"
        self.pidfile.write_text("")

    def start(self, name: str, argv: list[str], *, env: dict | None = None) -> subprocess.Popen:
        logfile = open(OUT / f"{name}.log", "wb")
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append((name, popen, logfile))
        with open(self.pidfile, "a") as fh:
            fh.write(f"{popen.pid}\n")
        return popen

    def text(self, name: str) -> str:
        path = OUT / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for name, popen, logfile in reversed(self.procs):
            try:
                if popen.poll() is None:
                    os.killpg(popen.pid, signal.SIGTERM)
                    try:
                        popen.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        log(f"{name} did not stop within 20 s: SIGKILL")
                        os.killpg(popen.pid, signal.SIGKILL)
                        popen.wait(timeout=10)
                try:
                    os.killpg(popen.pid, signal.SIGKILL)  # stragglers of the group (pool children)
                except ProcessLookupError:
                    pass
            except Exception as err:  # keep stopping the others
                log(f"stopping {name}: {err}")
            finally:
                logfile.close()
        self.procs.clear()
        self.pidfile.write_text("")


def wait_until(predicate, *, timeout: float, interval: float = 0.5, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


class LoadAverage(threading.Thread):
    """Samples /proc/loadavg every 5 s while the load runs (the machine is shared)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))
            self.halt.wait(5)

    def summary(self) -> dict:
        s = self.samples
        return {"min": min(s), "max": max(s), "mean": round(sum(s) / len(s), 2), "n": len(s)} if s else {}


# --- database -------------------------------------------------------------------------------------


def ensure_database(args, env) -> str:
    import psycopg2

    url = urllib.parse.urlsplit(args.database_url)
    dbname = url.path.lstrip("/")
    if not dbname.startswith("sd_load"):
        raise SystemExit(f"refusing to use {dbname!r}: this script may recreate it (its name must start sd_load)")
    admin = psycopg2.connect(urllib.parse.urlunsplit(url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        exists = cur.fetchone() is not None
    calls = 0
    if exists:
        conn = psycopg2.connect(args.database_url)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('repairs_repaircall') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'repairs_repaircall'")
                calls = cur.fetchone()[0]
        conn.close()
    if calls >= args.calls * 0.99:
        log(f"database {dbname}: ~{calls:,} calls already seeded")
        admin.close()
        return "reused"
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [TEMPLATE_DB])
        busy = cur.fetchone()[0]
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE_DB])
        template_exists = cur.fetchone() is not None
        how = "seeded"
        if template_exists and not busy:
            try:
                cur.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{TEMPLATE_DB}"')
                how = f"copied from {TEMPLATE_DB}"
            except psycopg2.Error as err:  # someone connected in the meantime
                log(f"copying {TEMPLATE_DB} failed ({err.pgerror or err}); seeding instead")
                cur.execute(f'CREATE DATABASE "{dbname}"')
        else:
            cur.execute(f'CREATE DATABASE "{dbname}"')
    admin.close()
    if how == "seeded":
        manage(env, "migrate", "-v0")
        log("seeding 1,000,000 calls with bench/seed_calls.py …")
        subprocess.run(
            [
                str(VENV_BIN / "python"),
                "-c",
                "import django; django.setup(); import seed_calls; "
                f"seed_calls.seed(calls={args.calls}, open_calls={args.calls // 10}, units=20, log=print)",
            ],
            cwd=ROOT / "bench",
            env={**env, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"},
            check=True,
            timeout=1800,
        )
    log(f"database {dbname}: {how}")
    return how


def manage(env: dict, *argv: str) -> None:
    subprocess.run([str(VENV_BIN / "python"), "manage.py", *argv], cwd=ROOT, env=env, check=True, timeout=900)


# --- set-up through the services ------------------------------------------------------------------


def set_up(args, run_started) -> dict:
    """Users, repair cards, contracts; returns the plan the locustfile reads."""
    import seed_calls
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from contracts.models import Contract, ContractType
    from contracts.services import contract_create
    from repairs import services
    from repairs.demo import _demo_signature
    from repairs.models import Customer, Product, RepairCall, RepairCard
    from servicedesk.models import Notification, OrgUnit
    from servicedesk.roles import Role

    User = get_user_model()
    now = timezone.now()
    today = timezone.localdate()

    # bench/dispatch.py marks calls overdue by running the check at future moments; calls not due yet by the
    # real clock are un-marked, so the ones that fall due during this run are the real check's work.
    from dispatch import unmark_calls_ahead_of_the_clock

    unmarked = unmark_calls_ahead_of_the_clock()
    # Outbox rows an earlier benchmark left pending (tens of thousands) are not this run's work.
    backlog = Notification.objects.filter(sent_at__isnull=True, created_at__lt=run_started).update(
        sent_at=now, last_error="bench/load: pending from an earlier benchmark, not e-mailed"
    )

    hq = OrgUnit.objects.get(code=seed_calls.HQ_CODE)
    gm, created = User.objects.get_or_create(
        username="bench-gm",
        defaults={
            "unit": hq,
            "last_name": "周",
            "first_name": "总经理室",
            "email": "bench-gm@bench.example.com",
            "password": make_password(seed_calls.BENCH_PASSWORD),
        },
    )
    gm.groups.add(Group.objects.get(name=Role.GM_OFFICE))

    units = list(OrgUnit.objects.filter(code__startswith=seed_calls.UNIT_PREFIX).order_by("code")[: args.units])
    signature = _demo_signature()
    plan_units, technicians, managers = [], [], []
    mix = args.mix
    for index in range(mix["technicians"]):
        unit = units[index % len(units)]
        number = index // len(units) + 1
        technicians.append({"username": f"bench-tech-{unit.code[-2:]}-{number:02d}", "unit": unit.pk})
    cards_made = contracts_made = 0
    contract_type = ContractType.objects.filter(is_active=True).order_by("pk").first()
    for unit in units:
        n = unit.code[-2:]
        dispatcher = User.objects.get(username=f"bench-disp-{n}")
        with connection.cursor() as cur:
            cur.execute(
                """
                SELECT p.id, p.customer_id, p.site_id, p.serial_number, z.response_hours
                FROM repairs_product p JOIN repairs_site s ON s.id = p.site_id JOIN repairs_zone z ON z.id = s.zone_id
                JOIN repairs_customer c ON c.id = p.customer_id
                WHERE c.unit_id = %s ORDER BY p.id LIMIT 400
                """,
                [unit.pk],
            )
            targets = [
                {"product": r[0], "customer": r[1], "site": r[2], "serial": r[3], "hours": float(r[4])}
                for r in cur.fetchall()
            ]
        load_techs = [t for t in technicians if t["unit"] == unit.pk]
        for tech in load_techs:
            user = User.objects.get(username=tech["username"])
            tech["id"] = user.pk
            open_cards = list(
                RepairCard.objects.filter(technician=user, status__in=RepairCard.OPEN).values_list("pk", flat=True)
            )
            calls = RepairCall.objects.filter(
                technician=user, status=RepairCall.Status.ON_SITE, arrived_at__isnull=False
            ).order_by("id")[: max(0, CARDS_PER_TECHNICIAN - len(open_cards))]
            for call in calls:
                voucher = services.service_voucher_create(
                    user=user,
                    call_id=call.pk,
                    departed_at=timezone.now(),
                    work_done="检查设备，无法现场修复 Cannot be fixed on site",
                    labour_charge=Decimal("0.00"),
                )
                services.service_voucher_sign(
                    user=user, voucher_id=voucher.pk, signature_png=signature, signed_by_name=call.contact_name
                )
                card = services.carry_in_open(
                    user=user,
                    call_id=call.pk,
                    voucher_id=voucher.pk,
                    fault_found="电源板烧毁 Power board burnt",
                    work_planned="更换电源板 Replace the power board",
                    promised_at=timezone.now() + dt.timedelta(days=5),
                )
                services.register_entry_receive(
                    user=dispatcher, entry_id=card.register_entry.pk, storage_location="维修间 A-1"
                )
                open_cards.append(card.pk)
                cards_made += 1
            tech["cards"] = open_cards
            tech["dispatched"] = list(
                RepairCall.objects.filter(technician=user, status=RepairCall.Status.DISPATCHED)
                .order_by("attend_by")
                .values_list("pk", flat=True)[:300]
            )
            tech["on_site"] = list(
                RepairCall.objects.filter(technician=user, status=RepairCall.Status.ON_SITE)
                .order_by("id")
                .values_list("pk", flat=True)[:300]
            )

        # Maintenance contracts: a list to browse (once), and on every run new terms entering their
        # notice window, so the daily job has fresh work while the load runs.
        if contract_type:
            first_time = not Contract.objects.filter(unit=unit, note=LOAD_TAG).exists()
            wanted = CONTRACTS_PER_UNIT if first_time else CONTRACTS_DUE_PER_UNIT
            products = list(
                Product.objects.filter(customer__unit=unit, contracts__isnull=True)
                .select_related("customer")
                .order_by("-id")[:wanted]
            )
            for i, product in enumerate(products):
                end_on = today + dt.timedelta(days=20 if i < CONTRACTS_DUE_PER_UNIT else 90 + 7 * i)
                if not product.customer.email:
                    Customer.objects.filter(pk=product.customer_id).update(
                        email=f"customer-{product.customer_id}@bench.example.com"
                    )
                contract_create(
                    user=dispatcher,
                    unit=unit,
                    customer=product.customer,
                    contract_type=contract_type,
                    start_on=end_on - dt.timedelta(days=364),
                    end_on=end_on,
                    fee=Decimal("1200.00"),
                    visit_frequency="quarterly",
                    serial_numbers=[product.serial_number],
                    note=LOAD_TAG,
                )
                contracts_made += 1
        plan_units.append(
            {
                "id": unit.pk,
                "code": unit.code,
                "dispatcher": dispatcher.username,
                "log_targets": targets,
                "load_technicians": [{"id": t["id"], "username": t["username"]} for t in load_techs],
            }
        )
    kinds = ["service_department", "gm_office"]
    for index in range(mix["managers"]):
        if index < len(kinds) and mix["managers"] > 2:
            managers.append(
                {"username": "bench-hq" if kinds[index] == "service_department" else "bench-gm", "kind": kinds[index]}
            )
        else:
            unit = units[index % len(units)]
            managers.append({"username": f"bench-sup-{unit.code[-2:]}", "kind": "supervisor"})
    log(
        f"set-up: {unmarked:,} calls marked ahead of the clock by earlier benchmarks un-marked; "
        f"{backlog:,} old pending outbox rows marked sent; GM office user "
        f"{'created' if created else 'reused'}; {cards_made} repair cards and {contracts_made} contracts made"
    )
    return {
        "time_zone": settings.TIME_ZONE,
        "password": seed_calls.BENCH_PASSWORD,
        "mix": mix,
        "units": plan_units,
        "technicians": technicians,
        "managers": managers,
        "made": {"backlog_marked_sent": backlog, "cards": cards_made, "contracts": contracts_made},
    }


# --- figures --------------------------------------------------------------------------------------


def page_stats(times: dict[str, list[float]], failures: list[dict], seconds: float) -> list[dict]:
    """Per page: requests, failures, req/s, median, p95, max (exact, from every response time)."""
    failed = Counter()
    for f in failures:
        failed[f"{f['method']} {f['name']}"] += f["count"]
    rows = []
    everything, without_login = [], []
    for name, values in times.items():
        everything += values
        if not name.endswith(("login", "login page")):
            without_login += values
        rows.append(_row(name, values, failed[name], seconds))
    rows.sort(key=lambda r: -r["median_ms"])
    rows.append(_row("ALL", everything, sum(failed.values()), seconds))
    rows.append(_row("ALL except logging in", without_login, None, seconds))
    return rows


def _row(name, values, failures, seconds) -> dict:
    return {
        "name": name,
        "requests": len(values),
        "failures": failures,
        "rps": round(len(values) / seconds, 2),
        "median_ms": round(percentile(values, 50), 1) if values else None,
        "p95_ms": round(percentile(values, 95), 1) if values else None,
        "max_ms": round(max(values), 1) if values else None,
    }


def read_locust_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [
            {"method": r["Method"], "name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
            for r in csv.DictReader(fh)
        ]


def gunicorn_5xx(text: str) -> Counter:
    found: Counter = Counter()
    for match in re.finditer(r'"(GET|POST) (\S+) HTTP/[\d.]+" (5\d\d) ', text):
        found[f"{match.group(1)} {re.sub(r'/\d+/', '/<id>/', match.group(2))} {match.group(3)}"] += 1
    return found


def emails_sent(mail_dir: Path) -> Counter:
    """(recipient, subject) → how many times it was e-mailed, from the file-based backend's files."""
    sent: Counter = Counter()
    separator = "\n" + "-" * 79 + "\n"
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text(errors="replace").split(separator):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk)
            subject = str(email.header.make_header(email.header.decode_header(message.get("Subject", ""))))
            sent[(message.get("To", ""), subject)] += 1
    return sent


# --- invariants -----------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_invariants(*, out: dict, run_started, load_ended, mail: Counter, premarked: list[int]) -> dict:
    from django.db import connection

    from contracts.models import ContractTerm, ExpiryNotice
    from repairs.models import RepairCall
    from servicedesk.models import Notification

    results = {}

    # 1. No call lost.
    logged = out["logged_calls"]
    numbers = dict(RepairCall.objects.filter(pk__in=[c["pk"] for c in logged]).values_list("pk", "number"))
    missing = [c for c in logged if c["pk"] not in numbers]
    wrong = [c for c in logged if c["pk"] in numbers and c["number"] and numbers[c["pk"]] != c["number"]]
    unnumbered = [c for c in logged if not c["number"]]
    results["no call lost"] = {
        "ok": bool(logged) and not missing and not wrong and not unnumbered,
        "logged": len(logged),
        "found": len(numbers),
        "missing": missing[:10],
        "number_mismatch": wrong[:10],
        "number_not_shown": len(unnumbered),
    }

    # 2. Each overdue call notified exactly once (per supervisor of its unit).
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT split_part(dedupe_key, ':', 2), split_part(dedupe_key, ':', 3), count(*)
            FROM servicedesk_notification WHERE dedupe_key LIKE 'repair-call-overdue:%%'
            GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 10
            """
        )
        duplicate_rows = cur.fetchall()
        # Calls marked overdue during this run whose unit has active supervisors with an address,
        # and the supervisors who have no notice for them.
        cur.execute(
            """
            WITH sup AS (
                SELECT u.id, u.unit_id FROM servicedesk_user u
                JOIN servicedesk_user_groups ug ON ug.user_id = u.id
                JOIN auth_group g ON g.id = ug.group_id AND g.name = 'supervisor'
                WHERE u.is_active AND u.email <> ''
            ), marked AS (
                SELECT c.id, c.unit_id FROM repairs_repaircall c
                WHERE c.overdue_marked_at >= %s AND c.unit_id IN (SELECT unit_id FROM sup)
                  AND NOT (c.id = ANY(%s))
            )
            SELECT (SELECT count(*) FROM marked),
                   (SELECT count(*) FROM marked m JOIN sup s ON s.unit_id = m.unit_id),
                   (SELECT count(*) FROM marked m JOIN sup s ON s.unit_id = m.unit_id
                     WHERE NOT EXISTS (SELECT 1 FROM servicedesk_notification n
                                       WHERE n.dedupe_key = 'repair-call-overdue:' || m.id || ':' || s.id))
            """,
            [run_started, premarked],
        )
        marked, expected_notices, missing_notices = cur.fetchone()
        cur.execute(
            """
            SELECT count(*) FROM repairs_repaircall
            WHERE status IN ('logged', 'dispatched') AND overdue_marked_at IS NULL AND attend_by < %s
            """,
            [load_ended],
        )
        left_unmarked = cur.fetchone()[0]
        cur.execute(
            """
            SELECT count(*) FILTER (WHERE sent_at IS NOT NULL), count(*) FILTER (WHERE sent_at IS NULL)
            FROM servicedesk_notification WHERE dedupe_key LIKE 'repair-call-overdue:%%' AND created_at >= %s
            """,
            [run_started],
        )
        sent_rows, pending_rows = cur.fetchone()
    logged_overdue = [c["pk"] for c in logged if c["overdue_soon"]]
    logged_marked = RepairCall.objects.filter(pk__in=logged_overdue, overdue_marked_at__isnull=False).count()
    # E-mails: each outbox row of this run sent once (recipient and subject as the row has them).
    by_mail = Counter()
    for (to, subject), count in mail.items():
        by_mail[(to, _norm(subject))] += count
    rows = Notification.objects.filter(dedupe_key__startswith="repair-call-overdue:", created_at__gte=run_started)
    twice, emails, sent_unmailed = {}, 0, 0
    for to, subject, sent_at in rows.values_list("to_email", "subject", "sent_at"):
        count = by_mail[(to, _norm(subject))]
        emails += count
        if count > 1:
            twice[f"{to} / {subject}"] = count
        if sent_at is not None and count == 0 and to:
            sent_unmailed += 1
    results["each overdue call notified exactly once"] = {
        "ok": not duplicate_rows and not missing_notices and not twice and not left_unmarked and not sent_unmailed,
        "calls_marked_during_run": marked,
        "of_them_logged_by_the_load": logged_marked,
        "notices_expected": expected_notices,
        "notices_missing": missing_notices,
        "duplicate_notice_rows": duplicate_rows,
        "emails": emails,
        "rows_marked_sent_without_an_email": sent_unmailed,
        "emails_sent_twice": dict(list(twice.items())[:10]),
        "outbox_rows_sent": sent_rows,
        "outbox_rows_still_pending": pending_rows,
        "due_before_end_but_unmarked": left_unmarked,
    }

    # 3. Each contract term noticed once.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT term_id, count(*) FROM contracts_expirynotice GROUP BY term_id HAVING count(*) > 1 LIMIT 10"
        )
        duplicate_notices = cur.fetchall()
    from django.utils import timezone

    today = timezone.localdate()
    due_without = ContractTerm.objects.filter(
        status=ContractTerm.Status.ACTIVE, notice_on__lte=today, expiry_notice__isnull=True
    ).count()
    notices = list(
        ExpiryNotice.objects.filter(created_at__gte=run_started).values_list("email_to", "term__contract__number")
    )
    notice_mail = Counter()
    for to, number in notices:
        notice_mail[number] += sum(count for (m_to, subject), count in mail.items() if m_to == to and number in subject)
    results["each contract noticed once"] = {
        "ok": not duplicate_notices and not due_without and all(v <= 1 for v in notice_mail.values()),
        "notices_issued_during_run": len(notices),
        "terms_with_two_notices": duplicate_notices,
        "terms_due_without_notice": due_without,
        "notice_emails": sum(notice_mail.values()),
        "notices_emailed_twice": [k for k, v in notice_mail.items() if v > 1][:10],
    }
    return results


# --- the slowest pages, in-process ----------------------------------------------------------------


def profile_pages(pages: list[tuple[str, str, str]]) -> list[dict]:
    """(name, path, username) → queries per request, the slowest query and its plan."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    found = []
    for name, path, username in pages:
        client = Client(SERVER_NAME=HOST)
        client.force_login(User.objects.get(username=username))
        client.get(path)  # warm
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        total_ms = (time.perf_counter() - started) * 1000
        queries = [q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET "))]
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        slowest = max(queries, key=lambda q: float(q["time"]), default=None)
        plan = ""
        sql = slowest["sql"] if slowest else ""
        if sql.startswith("DECLARE "):  # a server-side cursor (.iterator()): explain its query
            sql = sql.split(" CURSOR WITH HOLD FOR ", 1)[-1]
        if sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
            try:
                with transaction.atomic():
                    with connection.cursor() as cur:
                        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        plan = "\n".join(r[0] for r in cur.fetchall())
                    transaction.set_rollback(True)
            except Exception as err:  # a statement EXPLAIN cannot take as printed
                plan = f"(no plan: {err})"
        found.append(
            {
                "name": name,
                "path": path,
                "user": username,
                "status": response.status_code,
                "in_process_ms": round(total_ms, 1),
                "queries": len(queries),
                "sql_ms": round(sql_ms, 1),
                "slowest_query_ms": round(float(slowest["time"]) * 1000, 1) if slowest else None,
                "slowest_query": slowest["sql"][:600] if slowest else "",
                "plan": plan,
            }
        )
    return found


def probe_for(name: str, plan: dict) -> tuple[str, str] | None:
    unit = plan["units"][0]
    tech = plan["technicians"][0]
    sup = next((m["username"] for m in plan["managers"] if m["kind"] == "supervisor"), "bench-sup-01")
    probes = {
        "board": ("/calls/", unit["dispatcher"]),
        "board (logged only)": ("/calls/?status=logged", unit["dispatcher"]),
        "board (head office, all units)": ("/calls/", "bench-hq"),
        "my calls (technician)": ("/calls/mine/", tech["username"]),
        "repair cards (list)": ("/calls/cards/", tech["username"]),
        "contracts (list)": ("/contracts/", sup),
        "contracts (list, head office)": ("/contracts/", "bench-hq"),
        "opinions (list)": ("/complaints/opinions/", sup),
        "opinions (list, head office)": ("/complaints/opinions/", "bench-hq"),
        "complaint cases (list)": ("/complaints/cases/", sup),
        "complaint cases (list, head office)": ("/complaints/cases/", "bench-hq"),
        "technicians' appraisal": ("/complaints/appraisal/", sup),
        "technicians' appraisal (head office)": ("/complaints/appraisal/", "bench-hq"),
        "complaint case reports": ("/complaints/reports/", "bench-hq"),
        "supervision of repair cards": ("/calls/supervision/", sup),
        "penalty ledger": ("/penalties/ledger/", "bench-gm"),
        "penalty rulings (list)": ("/penalties/", "bench-gm"),
        "GM office desk": ("/complaints/gm-office/", "bench-gm"),
        "log a call (form)": ("/calls/new/", unit["dispatcher"]),
    }
    return probes.get(name)


# --- main -----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-time", type=int, default=180, help="seconds of load (locust --run-time)")
    parser.add_argument("--users", type=int, default=14, help="locust users: 4/14 dispatchers, 6/14 technicians…")
    parser.add_argument("--spawn-rate", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (2-4 here), 2 threads each")
    parser.add_argument("--units", type=int, default=4, help="units whose staff are in the load")
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls the database must hold")
    parser.add_argument("--time-limit", type=int, default=1200, help="stop everything after this many seconds")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/sd_load")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args(argv)
    if not 2 <= args.workers <= 4:
        raise SystemExit("--workers: 2 to 4 on this machine")
    for url in (args.database_url, args.redis_url):
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"loopback only: {url}")
    dispatchers = max(1, round(args.users * 4 / 14))
    managers = max(1, round(args.users * 4 / 14))
    args.mix = {
        "dispatchers": dispatchers,
        "managers": managers,
        "technicians": max(1, args.users - dispatchers - managers),
    }
    args.users = sum(args.mix.values())

    def on_alarm(signum, frame):
        raise TimeLimit(f"stopped after {args.time_limit} s (--time-limit)")

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(args.time_limit)

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="sd-load-"))
    mail_dir = tmp / "mail"
    mail_dir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "GUNICORN_"))},
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(OUT / "static"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
        "SERVICEDESK_VAR_DIR": str(tmp / "var"),
        "SERVICEDESK_BASE_URL": f"http://{HOST}",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.clear()
    os.environ.update(env)
    procs = Processes(tmp, env)
    sampler = LoadAverage()
    results: dict = {"args": {k: v for k, v in vars(args).items()}}
    try:
        results["database"] = ensure_database(args, env)
        manage(env, "migrate", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")

        import django

        django.setup()
        import redis
        from django.db import connection
        from django.utils import timezone

        redis.Redis.from_url(args.redis_url).flushdb()  # our own db number: no stale tasks
        run_started = timezone.now()
        from repairs.models import RepairCall

        # Calls an earlier benchmark marked overdue "in the future" (bench/dispatch.py runs the check at a
        # later moment): not this run's work, left out of "marked during the run".
        premarked = list(RepairCall.objects.filter(overdue_marked_at__gte=run_started).values_list("pk", flat=True))
        plan = set_up(args, run_started)
        plan_path, out_path = OUT / "plan.json", OUT / "load-out.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False))
        out_path.unlink(missing_ok=True)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM repairs_repaircall")
            results["calls_before"] = cur.fetchone()[0]
        connection.close()
        log(f"{results['calls_before']:,} calls in the database; users {args.mix}")

        port = free_port()
        procs.start(
            "gunicorn",
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "servicedesk.wsgi:application"],
            env={
                "GUNICORN_BIND": f"{HOST}:{port}",
                "GUNICORN_WORKERS": str(args.workers),
                "GUNICORN_THREADS": "2",
                "GUNICORN_TIMEOUT": "30",
            },
        )
        wait_until(lambda: http_status(f"http://{HOST}:{port}/healthz") == 200, timeout=60, what="gunicorn up")
        log(f"gunicorn on {HOST}:{port}, {args.workers} workers × 2 threads")
        celery = [str(VENV_BIN / "celery"), "-A", "servicedesk"]
        procs.start(
            "worker",
            [
                *celery,
                "worker",
                "-l",
                "info",
                "-P",
                "prefork",
                "-c",
                "2",
                "-n",
                f"load-{secrets.token_hex(3)}@bench",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )
        wait_until(lambda: "ready." in procs.text("worker"), timeout=90, what="celery worker ready")
        procs.start(
            "beat", [*celery, "beat", "-l", "info", "--pidfile", str(tmp / "beat.pid"), "-s", str(tmp / "beat")]
        )
        wait_until(lambda: "beat: Starting" in procs.text("beat"), timeout=90, what="celery beat started")
        log("celery worker (prefork × 2) and beat (DatabaseScheduler) running")

        # During the load: the contracts' daily job twice at once (twice), and an overdue check beside beat's.
        from contracts.tasks import issue_expiry_notices
        from repairs.tasks import check_overdue_calls

        def extra_work():
            for fraction in (1 / 3, 2 / 3):
                if halt.wait(args.run_time * fraction - (time.monotonic() - load_t0)):
                    return
                try:
                    issue_expiry_notices.apply_async(retry=False)
                    issue_expiry_notices.apply_async(retry=False)
                    check_overdue_calls.apply_async(retry=False)
                    extra_sent.append(time.monotonic() - load_t0)
                except Exception as err:
                    log(f"could not send the extra tasks: {err}")

        halt, extra_sent = threading.Event(), []
        sampler.start()
        load_t0 = time.monotonic()
        extra = threading.Thread(target=extra_work, daemon=True)
        extra.start()
        prefix = OUT / "locust"
        log(f"locust: {args.users} users for {args.run_time} s …")
        locust = subprocess.run(
            [
                str(VENV_BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "load" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.run_time}s",
                "--stop-timeout",
                "15",
                "--host",
                f"http://{HOST}:{port}",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--exit-code-on-error",
                "0",
            ],
            cwd=ROOT,
            env={**env, "LOAD_PLAN": str(plan_path), "LOAD_OUT": str(out_path)},
            capture_output=True,
            text=True,
            timeout=args.run_time + 180,
        )
        halt.set()
        load_ended = timezone.now()
        wall = time.monotonic() - load_t0
        sampler.halt.set()
        (OUT / "locust.log").write_text(locust.stdout + locust.stderr)
        if not out_path.exists():
            raise RuntimeError(f"locust wrote no results (exit {locust.returncode}); see {OUT / 'locust.log'}")
        out = json.loads(out_path.read_text())
        log(f"load done in {wall:.0f} s; {len(out['logged_calls'])} calls logged; extra tasks sent at {extra_sent}")

        # The overdue check catches up with every call due before the end (beat runs it each minute),
        # then the outbox drains; both bounded.
        from servicedesk.models import Notification

        def caught_up():
            return not RepairCall.objects.filter(
                status__in=RepairCall.AWAITING_ARRIVAL, overdue_marked_at__isnull=True, attend_by__lt=load_ended
            ).exists()

        try:
            results["overdue_catch_up_wait_s"] = round(
                wait_until(caught_up, timeout=150, interval=2, what="overdue check caught up"), 1
            )
        except TimeoutError as err:
            log(str(err))
        try:
            results["outbox_drain_wait_s"] = round(
                wait_until(
                    lambda: not Notification.objects.filter(sent_at__isnull=True, created_at__gte=run_started).exists(),
                    timeout=150,
                    interval=2,
                    what="outbox drained",
                ),
                1,
            )
        except TimeoutError as err:
            log(str(err))
        gunicorn_log = procs.text("gunicorn")
        worker_log = procs.text("worker")
        procs.stop_all()

        failures = read_locust_failures(prefix)
        stats = page_stats(out["response_times"], failures, wall)
        mail = emails_sent(mail_dir)
        invariants = check_invariants(
            out=out, run_started=run_started, load_ended=load_ended, mail=mail, premarked=premarked
        )
        results["premarked_by_earlier_benchmarks"] = len(premarked)
        errors_5xx = gunicorn_5xx(gunicorn_log)
        locust_5xx = sum(v for k, v in out["status_codes"].items() if k.startswith("5"))
        invariants["no 5xx"] = {
            "ok": not errors_5xx and not locust_5xx,
            "locust_5xx": locust_5xx,
            "gunicorn_5xx": dict(errors_5xx),
            "examples": out["server_errors"][:10],
        }
        results.update(
            {
                "load_seconds": round(wall, 1),
                "stats": stats,
                "failures": failures,
                "status_codes": out["status_codes"],
                "invariants": invariants,
                "load_average": sampler.summary(),
                "worker_errors": len(re.findall(r"\bERROR/", worker_log)),
                "tasks_succeeded": Counter(re.findall(r"Task (\S+)\[[^\]]+\] succeeded", worker_log)),
                "made": plan["made"],
            }
        )
        gets = [s for s in stats if s["name"].startswith("GET ") and s["median_ms"] and probe_for(s["name"][4:], plan)]
        slowest = sorted(gets, key=lambda s: s["median_ms"], reverse=True)[:3]
        results["profiles"] = profile_pages([(s["name"][4:], *probe_for(s["name"][4:], plan)) for s in slowest])
        report(results)
        (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
        failed = [name for name, r in invariants.items() if not r["ok"]]
        if failed:
            log(f"INVARIANTS FAILED: {failed}")
            return 1
        log("all invariants hold")
        return 0
    finally:
        signal.alarm(0)
        sampler.halt.set()
        procs.stop_all()
        try:
            if (tmp / "mail").exists():
                shutil.copytree(tmp / "mail", OUT / "mail", dirs_exist_ok=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def report(r: dict) -> None:
    line = "=" * 110
    print(
        f"\n{line}\nLOAD: {r['args']['users']} users {r['args']['mix']} for {r['load_seconds']} s; "
        f"gunicorn {r['args']['workers']} workers × 2 threads; {r['calls_before']:,} calls in the database"
    )
    la = r["load_average"]
    print(
        f"1-minute load average during the run: min {la.get('min')} mean {la.get('mean')} max {la.get('max')} "
        f"(2 CPUs, shared)"
    )
    print(f"\n{'page':48} {'reqs':>6} {'fail':>5} {'req/s':>6} {'median':>8} {'p95':>8} {'max':>8}")
    for s in r["stats"]:
        fails = "" if s["failures"] is None else s["failures"]
        print(
            f"{s['name'][:48]:48} {s['requests']:6d} {fails:>5} {s['rps']:6.2f} "
            f"{(s['median_ms'] or 0):6.0f}ms {(s['p95_ms'] or 0):6.0f}ms {s['max_ms']:6.0f}ms"
        )
    print(f"\nstatus codes: {r['status_codes']}")
    if r["failures"]:
        print("errors:")
        for f in r["failures"]:
            print(f"  {f['count']:5d} × {f['method']} {f['name']}: {f['error'][:160]}")
    else:
        print("errors: none")
    print(f"worker: tasks succeeded {dict(r['tasks_succeeded'])}; ERROR lines {r['worker_errors']}")
    print("\ninvariants:")
    for name, v in r["invariants"].items():
        detail = {k: val for k, val in v.items() if k != "ok"}
        print(f"  [{'OK' if v['ok'] else 'FAILED'}] {name}: {json.dumps(detail, ensure_ascii=False, default=str)}")
    print("\nslowest pages (by median), profiled in-process:")
    for p in r["profiles"]:
        print(
            f"  {p['name']} ({p['path']} as {p['user']}): {p['in_process_ms']} ms in-process, {p['queries']} queries "
            f"({p['sql_ms']} ms SQL), slowest query {p['slowest_query_ms']} ms:\n    {p['slowest_query'][:300]}"
        )
        for row in p["plan"].splitlines()[:25]:
            print(f"      {row[:160]}")
    print(line)


if __name__ == "__main__":
    sys.exit(main())
