"""Seed the benchmark database with a realistic volume of repair calls, in SQL.

1,000,000 calls (100,000 of them open) over 20 units, their customers, sites in
both zones, products and technicians, written with ``INSERT ... SELECT
generate_series`` (not the ORM row by row), in one transaction:

- reference rows (units, users, groups) through the ORM, since there are few;
- customers, sites, products and calls with set-based SQL; the calls table's
  secondary indexes and foreign keys are dropped for the load and recreated
  from their own definitions afterwards (the foreign keys re-validated in one
  pass each), exactly as Django created them;
- every call satisfies the model: numbers unique and in the form the numbering
  service hands out (``RC-<local year>-NNNNNN``, the counters set to continue
  after them), ``attend_by = received_at + zone.response_hours`` for the
  site's zone, the call's unit = its customer's unit, technicians of that unit,
  status consistent with the timestamps (dispatched → dispatched_at and a
  technician, on site → arrived_at, resolved → resolved_at and an outcome,
  closed → closed_at, cancelled → a reason, the version = transitions + 1) and
  every open call that is past its deadline already marked overdue, as the
  periodic check would have left it.

Not seeded: the status history (StatusChange) and the outbox rows of past
overdue notices; neither is read by the board or the overdue check.

Run on its own with ``.venv/bin/python bench/seed_calls.py --calls 1000000`` (it
expects a migrated, empty database: ``bench/dispatch.py`` resets one first).
"""

from __future__ import annotations

import datetime as dt
import time

BENCH_PASSWORD = "bench-pass-2026"  # printed on purpose: a throw-away benchmark database
UNIT_PREFIX = "bench-u"
HQ_CODE = "bench-hq"


def _seed_reference(*, units: int, technicians: int) -> dict:
    """Units, a dispatcher, a supervisor and technicians per unit, one head-office user."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from servicedesk.models import OrgUnit
    from servicedesk.roles import Role

    User = get_user_model()
    groups = {g.name: g for g in Group.objects.all()}
    hq = OrgUnit.objects.create(
        code=HQ_CODE, name="服务部 Bench Service Department", kind=OrgUnit.Kind.SERVICE_DEPARTMENT
    )
    unit_rows = []
    for n in range(1, units + 1):
        kind = OrgUnit.Kind.SERVICE_CENTRE if n <= max(1, units // 5) else OrgUnit.Kind.BRANCH
        name = f"第{n}服务单位 Bench unit {n:02d}"
        unit_rows.append(OrgUnit(code=f"{UNIT_PREFIX}{n:02d}", name=name, kind=kind, parent=hq))
    unit_objs = OrgUnit.objects.bulk_create(unit_rows)

    # One hash for everyone: hashing a password per user would take most of the seed.
    password = make_password(BENCH_PASSWORD)
    people = [("bench-hq", "孙", "服务部", hq, Role.SERVICE_DEPARTMENT)]
    for n, unit in enumerate(unit_objs, start=1):
        people.append((f"bench-disp-{n:02d}", "王", f"调度{n:02d}", unit, Role.DISPATCHER))
        people.append((f"bench-sup-{n:02d}", "赵", f"主任{n:02d}", unit, Role.SUPERVISOR))
        for t in range(1, technicians + 1):
            people.append((f"bench-tech-{n:02d}-{t:02d}", "李", f"技术{n:02d}-{t:02d}", unit, Role.TECHNICIAN))
    users = User.objects.bulk_create(
        [
            User(
                username=username,
                last_name=last,
                first_name=first,
                unit=unit,
                email=f"{username}@bench.example.com",
                password=password,
            )
            for username, last, first, unit, _role in people
        ]
    )
    through = User.groups.through
    through.objects.bulk_create(
        [through(user_id=user.pk, group_id=groups[role].pk) for user, (*_rest, role) in zip(users, people, strict=True)]
    )
    return {"hq": hq, "units": unit_objs}


CUSTOMERS_SQL = """
INSERT INTO repairs_customer (unit_id, name, phone, email, address, created_at)
SELECT u.id,
       '客户 ' || u.code || '-' || lpad(c::text, 5, '0') || ' 有限公司',
       '021-' || lpad(((u.id * 7919 + c * 104729) %% 100000000)::text, 8, '0'),
       '',
       '上海市 路 ' || c || ' 号',
       %(now)s - interval '800 days'
FROM servicedesk_orgunit u CROSS JOIN generate_series(1, %(customers)s) AS c
WHERE u.code LIKE 'bench-u%%'
ORDER BY u.id, c
"""

# Every customer has a site; every second one a second site. 60 % urban, 40 % suburban.
SITES_SQL = """
INSERT INTO repairs_site (customer_id, address, zone_id)
SELECT c.id,
       '站点 ' || s || ' / ' || c.name,
       CASE WHEN random() < 0.6 THEN (SELECT id FROM repairs_zone WHERE code = 'urban')
            ELSE (SELECT id FROM repairs_zone WHERE code = 'suburban') END
FROM repairs_customer c CROSS JOIN generate_series(1, 2) AS s
WHERE s = 1 OR c.id % 2 = 0
ORDER BY c.id, s
"""

PRODUCTS_SQL = """
INSERT INTO repairs_product (customer_id, site_id, model, serial_number, warranty_end)
SELECT s.customer_id, s.id,
       (ARRAY['KX-200', 'KX-350', 'PT-10', 'PT-20 Pro', 'MX-9000'])[1 + (s.id %% 5)],
       'BSN' || lpad(s.id::text, 9, '0'),
       (%(now)s::date - 700 + (random() * 1400)::int)
FROM repairs_site s
ORDER BY s.id
"""

# Small helper tables: pick a site (with its customer, zone and product) and a
# technician of the call's unit by index.
HELPERS_SQL = [
    "DROP TABLE IF EXISTS bench_site, bench_tech, bench_unit",
    """
    CREATE TEMP TABLE bench_site AS
    SELECT c.unit_id, s.id AS site_id, s.customer_id, s.zone_id, z.response_hours, p.id AS product_id,
           (row_number() OVER (PARTITION BY c.unit_id ORDER BY s.id) - 1)::int AS k
    FROM repairs_site s
    JOIN repairs_customer c ON c.id = s.customer_id
    JOIN repairs_zone z ON z.id = s.zone_id
    LEFT JOIN repairs_product p ON p.site_id = s.id
    """,
    """
    CREATE TEMP TABLE bench_tech AS
    SELECT u.unit_id, u.id AS user_id, (row_number() OVER (PARTITION BY u.unit_id ORDER BY u.id) - 1)::int AS k
    FROM servicedesk_user u
    JOIN servicedesk_user_groups ug ON ug.user_id = u.id
    JOIN auth_group g ON g.id = ug.group_id AND g.name = 'technician'
    WHERE u.username LIKE 'bench-tech-%'
    """,
    """
    CREATE TEMP TABLE bench_unit AS
    SELECT (row_number() OVER (ORDER BY o.id) - 1)::int AS u, o.id AS unit_id,
           (SELECT count(*) FROM bench_site s WHERE s.unit_id = o.id)::int AS n_sites,
           (SELECT count(*) FROM bench_tech t WHERE t.unit_id = o.id)::int AS n_techs,
           (SELECT d.id FROM servicedesk_user d WHERE d.unit_id = o.id AND d.username LIKE 'bench-disp-%'
            ORDER BY d.id LIMIT 1) AS dispatcher_id
    FROM servicedesk_orgunit o WHERE o.code LIKE 'bench-u%'
    """,
    "CREATE INDEX ON bench_site (unit_id, k)",
    "CREATE INDEX ON bench_tech (unit_id, k)",
    "ANALYZE bench_site",
    "ANALYZE bench_tech",
    "ANALYZE bench_unit",
]

# The calls. Closed-type calls are received over two years (up to a week ago),
# open ones over the last ten days, most of them recent. Each row follows one
# path through the transition table; the timestamps follow the path.
CALLS_SQL = """
INSERT INTO repairs_repaircall (
    number, unit_id, customer_id, site_id, product_id, contact_name, contact_phone, channel, coverage, problem,
    received_at, zone_id, attend_by, status, technician_id, dispatched_at, arrived_at, resolved_at, closed_at,
    outcome, cancel_reason, overdue_marked_at, created_by_id, created_at, updated_at, version,
    arrival_typed, visit_count, logged_late)
WITH g AS (
    SELECT i, i > %(n_closed)s AS is_open,
           random() AS r_time, random() AS r_path, random() AS r_site, random() AS r_tech, random() AS r_disp,
           random() AS r_arr, random() AS r_res, random() AS r_close, random() AS r_misc
    FROM generate_series(1, %(n_calls)s) AS i
), a AS (
    SELECT g.*, i %% %(n_units)s AS u,
           CASE WHEN is_open THEN %(now)s - interval '10 days' * (r_time * r_time)
                ELSE %(now)s - interval '7 days' - interval '723 days' * r_time END AS received_at,
           CASE WHEN is_open THEN
                CASE WHEN r_path < 0.30 THEN 'logged' WHEN r_path < 0.70 THEN 'dispatched' ELSE 'on_site' END
           ELSE CASE WHEN r_path < 0.60 THEN 'closed_resolved' WHEN r_path < 0.80 THEN 'closed_carried'
                     WHEN r_path < 0.86 THEN 'resolved' WHEN r_path < 0.91 THEN 'carried_in'
                     WHEN r_path < 0.955 THEN 'cancelled_logged' ELSE 'cancelled_dispatched' END
           END AS path
    FROM g
), b AS (
    SELECT a.*, bu.unit_id, bu.dispatcher_id, s.site_id, s.customer_id, s.zone_id, s.product_id, t.user_id AS tech_id,
           a.received_at + s.response_hours * interval '1 hour' AS attend_by
    FROM a
    JOIN bench_unit bu ON bu.u = a.u
    JOIN bench_site s ON s.unit_id = bu.unit_id AND s.k = floor(a.r_site * bu.n_sites)::int
    JOIN bench_tech t ON t.unit_id = bu.unit_id AND t.k = floor(a.r_tech * bu.n_techs)::int
), c AS (
    SELECT b.*,
           CASE WHEN path IN ('logged', 'cancelled_logged') THEN NULL
                ELSE least(received_at + interval '1 minute' * (5 + r_disp * 115), %(now)s) END AS dispatched_at
    FROM b
), d AS (
    SELECT c.*,
           CASE WHEN path IN ('on_site', 'resolved', 'carried_in', 'closed_resolved', 'closed_carried')
                THEN least(dispatched_at + interval '1 minute' * (15 + r_arr * 390), %(now)s) END AS arrived_at
    FROM c
), e AS (
    SELECT d.*,
           CASE WHEN path IN ('resolved', 'closed_resolved')
                THEN arrived_at + interval '1 minute' * (30 + r_res * 150) END AS resolved_at
    FROM d
), f AS (
    SELECT e.*,
           CASE WHEN path = 'closed_resolved' THEN resolved_at + interval '1 hour' * (1 + r_close * 47)
                WHEN path = 'closed_carried' THEN arrived_at + interval '1 day' * (1 + r_close * 4) END AS closed_at,
           least(received_at + interval '1 second' * (20 + r_misc * 160), %(now)s) AS created_at,
           extract(year FROM received_at AT TIME ZONE %(tz)s)::int AS yr
    FROM e
)
SELECT 'RC-' || yr || '-' || lpad(row_number() OVER (PARTITION BY yr ORDER BY received_at, i)::text, 6, '0'),
       unit_id, customer_id, site_id, product_id,
       '联系人 ' || (i %% 997),
       '13' || (i %% 10) || lpad(((i::bigint * 7919) %% 100000000)::text, 8, '0'),
       (ARRAY['phone', 'phone', 'phone', 'written', 'walk_in', 'email'])[1 + floor(r_misc * 6)::int],
       (ARRAY['warranty', 'contract', 'paid', 'unknown'])[1 + floor(r_close * 4)::int],
       (ARRAY['设备无法启动 The unit does not start', '运行噪音异常 Unusual noise when running',
              '显示错误代码 E-17 Error code E-17', '漏水 Water leak under the unit',
              '打印模糊 Print is blurred', '无法联网 Cannot connect to the network'])[1 + (i %% 6)],
       received_at, zone_id, attend_by,
       CASE path WHEN 'closed_resolved' THEN 'closed' WHEN 'closed_carried' THEN 'closed'
                 WHEN 'cancelled_logged' THEN 'cancelled' WHEN 'cancelled_dispatched' THEN 'cancelled'
                 ELSE path END,
       CASE WHEN path IN ('logged', 'cancelled_logged') THEN NULL ELSE tech_id END,
       dispatched_at, arrived_at, resolved_at, closed_at,
       CASE WHEN resolved_at IS NOT NULL THEN '更换部件，试机正常 Part replaced, tested OK' ELSE '' END,
       CASE WHEN path LIKE 'cancelled%%' THEN '客户已自行解决 Customer solved it' ELSE '' END,
       -- What the minute-by-minute overdue check would have recorded.
       CASE WHEN path IN ('logged', 'dispatched') AND attend_by < %(now)s
                THEN least(attend_by + interval '1 minute', %(now)s)
            WHEN arrived_at > attend_by + interval '1 minute' THEN attend_by + interval '1 minute' END,
       dispatcher_id, created_at,
       greatest(created_at, dispatched_at, arrived_at, resolved_at, closed_at),
       CASE path WHEN 'logged' THEN 1 WHEN 'dispatched' THEN 2 WHEN 'on_site' THEN 3 WHEN 'resolved' THEN 4
                 WHEN 'carried_in' THEN 4 WHEN 'closed_resolved' THEN 5 WHEN 'closed_carried' THEN 5
                 WHEN 'cancelled_logged' THEN 2 ELSE 3 END,
       -- Issue 14: arrivals tapped on site (none typed), one visit per arrival, no call logged late.
       false, CASE WHEN arrived_at IS NULL THEN 0 ELSE 1 END, false
FROM f
ORDER BY received_at, i
"""

COUNTERS_SQL = """
INSERT INTO servicedesk_numbersequence (series, year, last_value)
SELECT 'RC', split_part(number, '-', 2)::int, max(split_part(number, '-', 3)::int)
FROM repairs_repaircall GROUP BY 2
ON CONFLICT (series, year) DO UPDATE SET last_value = greatest(servicedesk_numbersequence.last_value,
                                                               EXCLUDED.last_value)
"""


def _calls_table_extras(cursor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The calls table's secondary indexes and foreign keys, as PostgreSQL itself would recreate them."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'repairs_repaircall'::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'repairs_repaircall'::regclass AND contype = 'f'
        """
    )
    return indexes, cursor.fetchall()


def seed(
    *,
    calls: int = 1_000_000,
    open_calls: int = 100_000,
    units: int = 20,
    customers_per_unit: int = 2_000,
    technicians_per_unit: int = 10,
    now: dt.datetime | None = None,
    log=print,
) -> dict:
    """Seed everything in one transaction; returns timings in seconds and the counts."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from repairs.models import RepairCall

    if RepairCall.objects.exists():
        raise SystemExit("The database already has repair calls: seed an empty, migrated database.")
    now = now or timezone.now()
    timings = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cur.execute("SET LOCAL work_mem = '64MB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        t = time.perf_counter()
        _seed_reference(units=units, technicians=technicians_per_unit)
        cur.execute(CUSTOMERS_SQL, {"now": now, "customers": customers_per_unit})
        cur.execute(SITES_SQL)
        cur.execute(PRODUCTS_SQL, {"now": now})
        for statement in HELPERS_SQL:
            cur.execute(statement)
        timings["reference"] = time.perf_counter() - t

        t = time.perf_counter()
        # Check the deferred foreign keys of the rows so far now: a table with pending trigger events can't be altered.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        indexes, foreign_keys = _calls_table_extras(cur)
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for name, _definition in foreign_keys:
            cur.execute(f'ALTER TABLE repairs_repaircall DROP CONSTRAINT "{name}"')
        cur.execute(
            CALLS_SQL,
            {"now": now, "n_calls": calls, "n_closed": calls - open_calls, "n_units": units, "tz": settings.TIME_ZONE},
        )
        inserted = cur.rowcount
        timings["insert_calls"] = time.perf_counter() - t

        t = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        for name, definition in foreign_keys:
            cur.execute(f'ALTER TABLE repairs_repaircall ADD CONSTRAINT "{name}" {definition}')
        timings["indexes_and_foreign_keys"] = time.perf_counter() - t
        cur.execute(COUNTERS_SQL)
        cur.execute("DROP TABLE bench_site, bench_tech, bench_unit")
    t = time.perf_counter()
    with connection.cursor() as cur:
        for table in ("repairs_repaircall", "repairs_customer", "repairs_site", "repairs_product", "servicedesk_user"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    timings["vacuum_analyze"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    log(
        f"seeded {inserted:,} calls ({open_calls:,} open) over {units} units in {timings['total']:.1f} s "
        + "("
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
        + ")"
    )
    return {"timings": timings, "calls": inserted, "now": now}


def check_consistency() -> dict:
    """Set-based checks that the seeded calls obey the model's rules; returns counts of violations (all 0)."""
    from django.db import connection

    checks = {
        "number not unique": "SELECT count(*) - count(DISTINCT number) FROM repairs_repaircall",
        "attend_by != received_at + zone hours": """
            SELECT count(*) FROM repairs_repaircall c JOIN repairs_zone z ON z.id = c.zone_id
            WHERE c.attend_by <> c.received_at + z.response_hours * interval '1 hour'""",
        "zone != site zone": """
            SELECT count(*) FROM repairs_repaircall c JOIN repairs_site s ON s.id = c.site_id
            WHERE s.zone_id <> c.zone_id""",
        "unit != customer unit": """
            SELECT count(*) FROM repairs_repaircall c JOIN repairs_customer k ON k.id = c.customer_id
            WHERE k.unit_id <> c.unit_id""",
        "technician of another unit": """
            SELECT count(*) FROM repairs_repaircall c JOIN servicedesk_user u ON u.id = c.technician_id
            WHERE u.unit_id <> c.unit_id""",
        "status inconsistent with timestamps": """
            SELECT count(*) FROM repairs_repaircall WHERE NOT (
                (status = 'logged' AND technician_id IS NULL AND dispatched_at IS NULL AND arrived_at IS NULL)
             OR (status = 'dispatched' AND technician_id IS NOT NULL AND dispatched_at >= received_at
                 AND arrived_at IS NULL)
             OR (status = 'on_site' AND arrived_at >= dispatched_at AND resolved_at IS NULL AND closed_at IS NULL)
             OR (status = 'resolved' AND resolved_at >= arrived_at AND outcome <> '' AND closed_at IS NULL)
             OR (status = 'carried_in' AND arrived_at IS NOT NULL AND closed_at IS NULL)
             OR (status = 'closed' AND closed_at >= arrived_at)
             OR (status = 'cancelled' AND cancel_reason <> '' AND arrived_at IS NULL))""",
        "timestamp in the future": """
            SELECT count(*) FROM repairs_repaircall
            WHERE greatest(received_at, dispatched_at, arrived_at, resolved_at, closed_at) > now()""",
        "open, past due and not marked": """
            SELECT count(*) FROM repairs_repaircall
            WHERE status IN ('logged', 'dispatched') AND overdue_marked_at IS NULL AND attend_by < %s""",
    }
    from django.utils import timezone

    found = {}
    with connection.cursor() as cur:
        for name, sql in checks.items():
            cur.execute(sql, [timezone.now() - dt.timedelta(minutes=10)] if "%s" in sql else None)
            found[name] = cur.fetchone()[0]
    return found


if __name__ == "__main__":
    import argparse
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    import django

    django.setup()
    seed(calls=args.calls, open_calls=args.open, units=args.units)
    print(check_consistency())
