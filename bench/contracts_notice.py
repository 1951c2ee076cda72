"""Benchmark of the contracts capability (issue 4): the daily notice query among 100,000 contracts, and imports.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_contracts .venv/bin/python bench/contracts_notice.py

1. Seeds 100,000 contracts (``--contracts``) of one unit with their customers,
   products, cover rows and terms in set-based SQL (``INSERT ... SELECT
   generate_series``): end dates spread over three years around today, terms
   lapsed, renewed and active, and every active term whose window began before
   today already noticed, as yesterday's run would have left them (those that
   ended in the last three days still active: the run lapses them). ANALYZE.
2. Times the query the daily job runs to find the terms due for notice
   (``terms_due_for_notice``, with its ``FOR UPDATE SKIP LOCKED`` batch claim),
   prints its EXPLAIN ANALYZE and fails if it does not use the partial index
   ``term_notice_due_idx`` or takes more than 50 ms. Then the whole daily run
   (notices, follow-ups, lapses) for today, and a second run with nothing to do.
3. Imports a generated file of 100,000 new contracts (``--import-rows``), CSV
   and Excel .xlsx, through the same service the upload page uses, timing
   reading, validation and the insert; fails if the CSV takes a minute or more.

Everything runs in one transaction that is rolled back at the end: the database
is left as it was. PostgreSQL only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from contracts.models import ContractImport, ContractTerm, ContractType, ExpiryNotice  # noqa: E402
from contracts.services import contract_daily_run, contract_import_run, contract_import_upload  # noqa: E402
from contracts.services import imports as import_service  # noqa: E402
from contracts.services.notices import NOTICE_BATCH, terms_due_for_notice  # noqa: E402
from servicedesk.models import OrgUnit, User  # noqa: E402
from servicedesk.roles import Role  # noqa: E402

LIMIT_MS = 50.0
IMPORT_LIMIT_S = 60.0


class Rollback(Exception):
    pass


def seed(*, contracts: int, today: dt.date) -> dict:
    unit = OrgUnit.objects.create(code="bench-contracts", name="Bench contracts unit", kind="service_centre")
    user = User.objects.create(username="bench-contracts", unit=unit, email="bench@example.com")
    from django.contrib.auth.models import Group

    user.groups.set(Group.objects.filter(name=Role.DISPATCHER))
    contract_type = ContractType.objects.get(code="standard")
    customers = max(contracts // 10, 1)
    now = timezone.now()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO repairs_customer (unit_id, name, phone, email, address, created_at)
            SELECT %s, 'Bench customer ' || g, '021-5555-' || lpad(g::text, 6, '0'),
                   CASE WHEN g %% 3 = 0 THEN '' ELSE 'c' || g || '@example.com' END, '', %s
            FROM generate_series(1, %s) g
            """,
            [unit.pk, now, customers],
        )
        cursor.execute("SELECT min(id) FROM repairs_customer WHERE unit_id = %s", [unit.pk])
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO repairs_product (customer_id, model, serial_number, warranty_end)
            SELECT %s + (g %% %s), 'SX-' || (g %% 7), 'BENCH-SN-' || g, NULL
            FROM generate_series(1, %s) g
            """,
            [first_customer, customers, contracts],
        )
        cursor.execute(
            """
            INSERT INTO contracts_contract (number, unit_id, customer_id, contract_type_id, note, created_at)
            SELECT 'BENCH-MC-' || g, %s, %s + (g %% %s), %s, '', %s
            FROM generate_series(1, %s) g
            """,
            [unit.pk, first_customer, customers, contract_type.pk, now, contracts],
        )
        cursor.execute(
            """
            INSERT INTO contracts_contractproduct (contract_id, product_id)
            SELECT c.id, p.id FROM contracts_contract c
            JOIN repairs_product p ON p.serial_number = 'BENCH-SN-' || substr(c.number, 10)
            WHERE c.unit_id = %s
            """,
            [unit.pk],
        )
        # End dates over three years around today (about 90 a day); one month's window, as the default type.
        cursor.execute(
            """
            INSERT INTO contracts_contractterm (contract_id, sequence, start_on, end_on, fee, visit_frequency,
                status, notice_on, noticed_at, created_at, updated_at, version)
            SELECT c.id, 1, e.end_on - interval '1 year' + interval '1 day', e.end_on, 1200.00, 'quarterly',
                   CASE WHEN e.end_on < %(today)s - 3 AND c.id %% 5 = 0 THEN 'renewed'
                        WHEN e.end_on < %(today)s - 3 THEN 'expired'
                        ELSE 'active' END,
                   (e.end_on - interval '1 month')::date,
                   CASE WHEN (e.end_on - interval '1 month')::date < %(today)s THEN %(now)s END,
                   %(now)s, %(now)s, 1
            FROM contracts_contract c
            CROSS JOIN LATERAL (SELECT (%(today)s::date - 545 + (c.id %% 1095)::int) AS end_on) e
            WHERE c.unit_id = %(unit)s
            """,
            {"today": today, "now": now, "unit": unit.pk},
        )
        for table in (
            "repairs_customer",
            "repairs_product",
            "contracts_contract",
            "contracts_contractproduct",
            "contracts_contractterm",
        ):
            cursor.execute(f"ANALYZE {table}")
    seconds = time.perf_counter() - start
    return {"unit": unit, "user": user, "seconds": seconds}


def time_due_query(*, today: dt.date, repeat: int = 30) -> tuple[list[float], int, str]:
    query = (
        terms_due_for_notice(today=today)
        .order_by("notice_on", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:NOTICE_BATCH]
    )
    timings, found = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = len(list(query.all()))  # a fresh queryset each time, not the cached rows
        timings.append((time.perf_counter() - start) * 1000)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return timings, found, plan


def import_file(*, rows: int, excel: bool, tag: str) -> bytes:
    header = import_service.TEMPLATE_HEADER
    start_on, end_on = dt.date(2030, 4, 1), dt.date(2031, 3, 31)

    def row(i):
        return [
            f"IMP-{tag}-{i}",
            f"Imported customer {tag} {i % (rows // 10 or 1)}",
            f"0512-{i % 10_000:04d}-{i % 97:02d}",
            "",
            "standard",
            start_on if excel else start_on.isoformat(),
            end_on if excel else end_on.isoformat(),
            1200 + i % 500 if excel else f"{1200 + i % 500}.00",
            "quarterly",
            f"IMP-{tag}-SN-{i}",
            "SX-9",
        ]

    if excel:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(header)
        for i in range(rows):
            sheet.append(row(i))
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(row(i) for i in range(rows))
    return buffer.getvalue().encode("utf-8")


def time_import(*, user, unit, content: bytes, filename: str) -> dict:
    phases = {}
    original_read, original_validate, original_import = (
        import_service.read_table,
        import_service.validate_rows,
        import_service.import_rows,
    )

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = time.perf_counter() - start

        return wrapper

    import_service.read_table = timed("read", original_read)
    import_service.validate_rows = timed("validate", original_validate)
    import_service.import_rows = timed("insert", original_import)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        batch = contract_import_upload(user=user, unit=unit, filename=filename, content=content)
        phases["upload"] = time.perf_counter() - start
        batch = contract_import_run(import_id=batch.pk)
        # The foreign keys are checked at commit; this run rolls back, so check them now, inside the timing.
        checked = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        phases["constraints"] = time.perf_counter() - checked
        total = time.perf_counter() - start
        phases["cpu"] = time.process_time() - cpu
    finally:
        import_service.read_table, import_service.validate_rows, import_service.import_rows = (
            original_read,
            original_validate,
            original_import,
        )
    assert batch.status == ContractImport.Status.IMPORTED, (batch.status, batch.message, batch.errors[:5])
    return {"total": total, "rows": batch.rows_imported, "bytes": len(content), **phases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--skip-excel", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("PostgreSQL only: set DATABASE_URL.")
        return 2
    today = timezone.localdate()
    failures = []
    try:
        with transaction.atomic():
            seeded = seed(contracts=args.contracts, today=today)
            total_terms = ContractTerm.objects.filter(contract__unit=seeded["unit"]).count()
            print(f"Seeded {total_terms:,} contracts with terms in {seeded['seconds']:.1f} s (set-based SQL)")

            timings, found, plan = time_due_query(today=today)
            median, worst = statistics.median(timings), max(timings)
            print(f"\nDue-for-notice query ({len(timings)} runs): {found} terms due today")
            print(f"  median {median:.2f} ms, max {worst:.2f} ms (limit {LIMIT_MS:.0f} ms)")
            print("\nEXPLAIN (ANALYZE, BUFFERS):\n" + plan)
            if "term_notice_due_idx" not in plan:
                failures.append("the due query does not use term_notice_due_idx")
            if median > LIMIT_MS:
                failures.append(f"the due query takes {median:.1f} ms")

            start = time.perf_counter()
            result = contract_daily_run(today=today)
            first_run = time.perf_counter() - start
            start = time.perf_counter()
            again = contract_daily_run(today=today)
            second_run = time.perf_counter() - start
            print(
                f"\nDaily run: {result['notices']} notices + follow-ups, {result['expired']} terms lapsed "
                f"in {first_run * 1000:.0f} ms; run again: {again} in {second_run * 1000:.1f} ms"
            )
            if again != {"notices": 0, "expired": 0} or ExpiryNotice.objects.count() < result["notices"]:
                failures.append("the second run did something")

            for excel in (False, True):
                if excel and args.skip_excel:
                    continue
                kind = "Excel .xlsx" if excel else "CSV"
                start = time.perf_counter()
                content = import_file(rows=args.import_rows, excel=excel, tag="X" if excel else "C")
                made = time.perf_counter() - start
                figures = time_import(
                    user=seeded["user"],
                    unit=seeded["unit"],
                    content=content,
                    filename="bench.xlsx" if excel else "bench.csv",
                )
                print(
                    f"\nImport of {figures['rows']:,} rows from {kind} ({figures['bytes'] / 1e6:.1f} MB, "
                    f"generated in {made:.1f} s): {figures['total']:.1f} s in all — store the upload "
                    f"{figures['upload']:.1f} s, read {figures['read']:.1f} s, validate {figures['validate']:.1f} s, "
                    f"insert {figures['insert']:.1f} s, foreign-key checks at commit {figures['constraints']:.1f} s; "
                    f"CPU time of this process {figures['cpu']:.1f} s"
                )
                if not excel and figures["total"] >= IMPORT_LIMIT_S:
                    failures.append(f"the CSV import took {figures['total']:.1f} s")
            raise Rollback
    except Rollback:
        print("\nRolled back: the database is as it was.")
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
