"""Benchmark of the technicians' monthly appraisal (issue 5) on PostgreSQL.

    .venv/bin/python bench/appraisal.py [--technicians 200] [--calls 50000] [--months 12] [--reuse]

1. Resets the PostgreSQL database named by ``BENCH_DATABASE_URL`` (default
   ``postgres://postgres@127.0.0.1:5432/sd_bench_surveys``; only a database whose
   name starts with ``sd_bench`` is ever dropped), migrates it and bulk-seeds, in
   set-based SQL: one unit with ``--technicians`` technicians, ``--calls`` repair
   calls in each of ``--months`` months (the last one measured, the others feed
   the twelve-month charts), a survey card for every call (60 % answered, the
   ratings 1–5, some left blank) and complaints for 2 % of the answered cards.
2. Measures in-process, through Django's test client as a logged-in supervisor:
   the appraisal page of the unit and month (table + 8 charts), the CSV and the
   Excel export; and the two aggregate functions on their own. Each is run
   ``--repeat`` times after one warm-up; median and worst are printed with the
   number of SQL queries per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sd_bench_surveys"


def _reset_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    name = url.rsplit("/", 1)[1]
    if not name.startswith("sd_bench"):
        sys.exit(f"refusing to reset {name!r}: the benchmark only drops databases named sd_bench*")
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.test_settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _insert_select(model, exprs: dict, from_sql: str, params: dict | None = None) -> int:
    """INSERT INTO model's table SELECT the given SQL per column; other columns get their Python default."""
    from django.db import connection

    params = dict(params or {})
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in exprs:
            values.append(exprs[field.name])
        else:
            key = f"default_{field.column}"
            default = field.get_default()
            params[key] = field.get_db_prep_save(default, connection) if default is not None else None
            values.append(f"%({key})s")
    statement = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {from_sql}"
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.rowcount


def _seed(*, technicians: int, calls: int, months: int):
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from complaints.appraisal import add_months
    from complaints.models import CustomerOpinion, SurveyBatch, SurveyCard
    from repairs.models import Customer, RepairCall, Site, Zone
    from servicedesk.models import OrgUnit
    from servicedesk.roles import Role

    User = get_user_model()
    this_month = timezone.localdate().replace(day=1)
    target = add_months(this_month, -1)  # the last whole month
    first = add_months(target, -(months - 1))
    started = time.monotonic()
    with transaction.atomic():
        unit = OrgUnit.objects.create(code="bench-sh", name="上海服务中心 Bench centre", kind="service_centre")
        password = make_password("bench-pass-2026")
        supervisor = User.objects.create(username="bench-supervisor", unit=unit, password=password)
        supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))
        techs = User.objects.bulk_create(
            [
                User(username=f"bench-tech-{n:03d}", first_name=f"技术员{n:03d}", unit=unit, password=password)
                for n in range(1, technicians + 1)
            ]
        )
        Group.objects.get(name=Role.TECHNICIAN).user_set.add(*techs)
        tech_ids = [t.pk for t in techs]
        zone = Zone.objects.get(code="urban")
        customers = max(1000, calls // 10)
        _insert_select(
            Customer,
            {
                "unit": "%(unit)s",
                "name": "'客户 ' || g",
                "phone": "'021-5555-' || lpad(g::text, 6, '0')",
                "address": "'上海市测试路 ' || g || ' 号'",
                "created_at": "now()",
            },
            "FROM generate_series(1, %(n)s) g",
            {"unit": unit.pk, "n": customers},
        )
        _insert_select(
            Site,
            {"customer": "c.id", "address": "c.address", "zone": "%(zone)s"},
            "FROM repairs_customer c WHERE c.unit_id = %(unit)s",
            {"unit": unit.pk, "zone": zone.pk},
        )
        for m in range(months):
            start = timezone.make_aware(dt.datetime.combine(add_months(first, m), dt.time.min))
            end = timezone.make_aware(dt.datetime.combine(add_months(first, m + 1), dt.time.min))
            # received uniformly over the month; 3 % cancelled; arrival 0–8 h after the call (6 h deadline).
            _insert_select(
                RepairCall,
                {
                    "number": "'BN-' || %(m)s || '-' || g",
                    "unit": "%(unit)s",
                    "customer": "s.customer_id",
                    "site": "s.id",
                    "contact_name": "'联系人'",
                    "contact_phone": "'021-5555-0000'",
                    "problem": "'设备故障'",
                    "received_at": "x.received_at",
                    "zone": "%(zone)s",
                    "attend_by": "x.received_at + interval '6 hours'",
                    "status": "CASE WHEN x.r < 0.03 THEN 'cancelled' ELSE 'closed' END",
                    "technician": "(%(techs)s::bigint[])[1 + (g %% %(ntech)s)]",
                    "dispatched_at": "x.received_at + interval '10 minutes'",
                    "arrived_at": "CASE WHEN x.r < 0.03 THEN NULL "
                    "ELSE x.received_at + (random() * 8) * interval '1 hour' END",
                    "closed_at": "CASE WHEN x.r < 0.03 THEN NULL ELSE x.received_at + interval '1 day' END",
                    "created_by": "%(by)s",
                    "created_at": "x.received_at",
                    "updated_at": "x.received_at",
                },
                "FROM (SELECT g, random() AS r, "
                "%(start)s::timestamptz + random() * (%(end)s::timestamptz - %(start)s::timestamptz) AS received_at "
                "FROM generate_series(1, %(n)s) g) x "
                "JOIN repairs_site s ON s.id = (SELECT min(id) FROM repairs_site) + (x.g %% %(customers)s)",
                {
                    "m": m,
                    "unit": unit.pk,
                    "zone": zone.pk,
                    "techs": tech_ids,
                    "ntech": len(tech_ids),
                    "by": supervisor.pk,
                    "start": start,
                    "end": end,
                    "n": calls,
                    "customers": customers,
                },
            )
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO complaints_surveybatch (unit_id, day, created_at) "
                "SELECT DISTINCT unit_id, (received_at AT TIME ZONE 'Asia/Shanghai')::date, now() "
                "FROM repairs_repaircall WHERE unit_id = %s",
                [unit.pk],
            )
        rating = "CASE WHEN c.answered AND random() < 0.95 THEN 1 + floor(random() * 5)::int END"
        _insert_select(
            SurveyCard,
            {
                "call": "c.id",
                "batch": "b.id",
                "unit": "c.unit_id",
                "customer": "c.customer_id",
                "survey_day": "c.day",
                "token": "substr(md5(random()::text), 1, 16)",
                "link_expires_at": "c.day + interval '31 days'",
                "status": "CASE WHEN c.answered THEN 'answered' ELSE 'issued' END",
                "rating_attitude": rating,
                "rating_technique": rating,
                "rating_arrival": rating,
                "rating_follow_through": rating,
                "answered_at": "CASE WHEN c.answered THEN c.received_at + interval '5 days' END",
                "answer_channel": "CASE WHEN c.answered THEN 'paper' ELSE '' END",
                "created_at": "c.received_at + interval '1 day'",
                "updated_at": "c.received_at + interval '1 day'",
            },
            "FROM (SELECT id, unit_id, customer_id, received_at, random() < 0.6 AS answered, "
            "(received_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM repairs_repaircall "
            "WHERE unit_id = %(unit)s) c JOIN complaints_surveybatch b ON b.unit_id = c.unit_id AND b.day = c.day",
            {"unit": unit.pk},
        )
        _insert_select(
            CustomerOpinion,
            {
                "unit": "k.unit_id",
                "customer": "k.customer_id",
                "call": "k.call_id",
                "technician": "c.technician_id",
                "survey_card": "k.id",
                "kind": "'complaint'",
                "source": "'survey_card'",
                "text": "'技术员晚到'",
                "received_at": "k.answered_at",
                "created_at": "k.answered_at",
                "updated_at": "k.answered_at",
            },
            "FROM complaints_surveycard k JOIN repairs_repaircall c ON c.id = k.call_id "
            "WHERE k.status = 'answered' AND random() < 0.02",
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    counts = {
        "calls": RepairCall.objects.count(),
        "cards": SurveyCard.objects.count(),
        "complaints": CustomerOpinion.objects.count(),
        "batches": SurveyBatch.objects.count(),
    }
    print(f"seeded in {time.monotonic() - started:.1f} s: {counts}; measured month {target:%Y-%m}")
    return unit, supervisor, target


def _measure(label: str, fn, *, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm-up: connections, templates, caches
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        queries = len(ctx.captured_queries)
    result = {
        "label": label,
        "median_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "queries": queries,
    }
    print(f"{label:<48} median {result['median_ms']:7.1f} ms   worst {result['max_ms']:7.1f} ms   {queries} queries")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--technicians", type=int, default=200)
    parser.add_argument("--calls", type=int, default=50_000, help="calls per month")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="measure an already seeded database")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    if not args.reuse:
        _reset_database(url)
    _setup_django(url)
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from complaints import appraisal
    from servicedesk.models import OrgUnit

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if args.reuse:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from complaints.appraisal import add_months

        unit = OrgUnit.objects.get(code="bench-sh")
        supervisor = get_user_model().objects.get(username="bench-supervisor")
        target = add_months(timezone.localdate().replace(day=1), -1)
    else:
        unit, supervisor, target = _seed(technicians=args.technicians, calls=args.calls, months=args.months)

    client = Client()
    client.force_login(supervisor)
    query = {"month": target.strftime("%Y-%m"), "sort": "-avg_attitude"}
    page_url = reverse("complaints:appraisal")

    def page():
        response = client.get(page_url, query)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b"<tr>") >= args.technicians

    def export(fmt):
        def run():
            response = client.get(reverse("complaints:appraisal_export", args=[fmt]), query)
            assert response.status_code == 200, response.status_code

        return run

    from django.utils import timezone as tz

    from complaints.models import TechnicianMonth
    from complaints.services import appraisal_months_record

    started = time.perf_counter()
    written = appraisal_months_record(now=tz.now(), months_back=args.months)
    print(f"month-end job, {args.months} months recorded: {written} rows in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    appraisal_months_record(now=tz.now())
    print(f"nightly run (the last 2 closed months): {time.perf_counter() - started:.2f} s")

    recorded = _measure("page, month recorded by the month-end job", page, repeat=args.repeat)
    # The worst case: the month is computed live from its 50,000 calls (the current
    # month, or a closed one before its first month-end run); the other 11 are stored.
    TechnicianMonth.objects.filter(unit=unit, month=target).delete()
    results = [
        recorded,
        _measure("page, month computed live (+ 11 stored months)", page, repeat=args.repeat),
        _measure("CSV export (live)", export("csv"), repeat=args.repeat),
        _measure("Excel export (live)", export("xlsx"), repeat=args.repeat),
        _measure(
            "appraisal_for_month, live (grouped aggregates)",
            lambda: appraisal.appraisal_for_month(unit_id=unit.pk, month=target),
            repeat=args.repeat,
        ),
        _measure(
            "appraisal_trend, 12 months",
            lambda: appraisal.appraisal_trend(unit_id=unit.pk, month=target),
            repeat=args.repeat,
        ),
    ]
    TechnicianMonth.objects.all().delete()
    results.append(
        _measure(
            "page, nothing recorded (12 months live)",
            page,
            repeat=max(2, args.repeat // 3),
        )
    )
    worst_page = max(results[0]["max_ms"], results[1]["max_ms"])
    print(
        ("PASS" if worst_page < 1000 else "FAIL") + f": the page's worst time is {worst_page:.0f} ms (target < 1000 ms)"
    )


if __name__ == "__main__":
    main()
