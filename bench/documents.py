"""Benchmark of the printed documents (issue 3): render time of a one-page document in a warm process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_field .venv/bin/python bench/documents.py [--renders 50]

Builds a signed service voucher (with its signature image and parts), a carry-in
with its repair card and pickup receipt, a signed repair quote and a stock issue
note (issue 14), through the services, inside a
transaction that is rolled back at the end. Renders each document once to warm
the process (WeasyPrint import, fonts, the shared URL fetcher and stylesheet),
then ``--renders`` times through ``servicedesk.documents.render_pdf`` exactly as
the views do, and prints median / p90 / max per document. Fails (exit 1) when a
median is above the 150 ms target. Works on SQLite too (without DATABASE_URL).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

TARGET_MS = 150.0


class Rollback(Exception):
    pass


def main() -> int:
    import django

    django.setup()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone
    from pypdf import PdfReader

    from repairs import services
    from repairs.demo import _demo_signature
    from repairs.models import Zone
    from servicedesk.documents import render_pdf
    from servicedesk.models import OrgUnit, User
    from servicedesk.roles import Role

    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument(
        "--profile", metavar="DOCUMENT", help="profile the warm renders of the document whose name starts so"
    )
    args = parser.parse_args()
    results = {}
    try:
        with transaction.atomic():
            unit = OrgUnit.objects.create(code="bench-docs", name="基准测试服务中心", kind=OrgUnit.Kind.SERVICE_CENTRE)
            boss = User.objects.create(username="bench-docs-admin", is_superuser=True, unit=unit, first_name="基准")
            boss.groups.set(Group.objects.filter(name=Role.TECHNICIAN))
            now = timezone.now()
            # Catalogue parts in the technician's van (issue 14): the voucher takes them when signed.
            from parts import services as parts_services
            from parts.models import Part

            issued = {}
            for number, name, price in (("FUSE-5A", "保险丝 5A", "3.50"), ("MB-100", "主控板", "260.00")):
                part, _created = Part.objects.get_or_create(
                    part_number=number, defaults={"name": name, "unit_price": Decimal(price)}
                )
                parts_services.part_stock_receive(user=boss, unit_id=unit.pk, part_id=part.pk, quantity=10)
                issued[number] = parts_services.part_issue_to_technician(
                    user=boss, technician_id=boss.pk, part_id=part.pk, quantity=5
                )
            call = services.repair_call_log(
                user=boss,
                unit=unit,
                received_at=now,
                contact_name="钱女士",
                contact_phone="021-5555-0999",
                problem="设备无法启动",
                new_customer=services.NewCustomer(name="上海精密机械有限公司", phone="021-5555-0999"),
                new_site=services.NewSite(address="上海市浦东新区张江路 100 号", zone=Zone.objects.get(code="urban")),
                new_product=services.NewProduct(
                    model="SX-900", serial_number="BENCH-DOCS-0001", warranty_end=(now - dt.timedelta(days=30)).date()
                ),
            )
            services.repair_call_dispatch(user=boss, call_id=call.pk, technician=boss)
            services.repair_call_record_arrival(user=boss, call_id=call.pk)
            call.refresh_from_db()
            voucher = services.service_voucher_create(
                user=boss,
                call_id=call.pk,
                departed_at=timezone.now(),
                work_done="检查电源，更换保险丝与主板，测试正常。",
                parts=[
                    services.PartLine(part_number="FUSE-5A", quantity=2),
                    services.PartLine(part_number="MB-100", quantity=1),
                ],
                labour_charge=Decimal("120.00"),
            )
            voucher = services.service_voucher_sign(
                user=boss, voucher_id=voucher.pk, signature_png=_demo_signature(), signed_by_name="钱女士"
            )
            card = services.carry_in_open(
                user=boss,
                call_id=call.pk,
                voucher_id=voucher.pk,
                fault_found="主板烧毁",
                work_planned="更换主板，老化测试 24 小时",
                parts_planned="MB-100 × 1",
                promised_at=now + dt.timedelta(days=2),
                items_received="电源线一根",
            )
            fee = services.fee_collection_record(user=boss, voucher_id=voucher.pk, amount=Decimal("300.00"))
            from contracts.models import Contract, PlannedVisit
            from repairs.selectors_field import fee_get_for_user, fee_receipt_context
            from servicedesk.workflow import history_for

            # The week's planned-visit list (issue 14) with 20 visits: rows built in memory, as the page reads them.
            week = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
            planned = [
                PlannedVisit(
                    contract=Contract(number=f"BM-2026-{n:03d}"),
                    site=call.site,
                    call=call,
                    planned_on=week + dt.timedelta(days=n % 5),
                    period_start=week,
                    period_end=week + dt.timedelta(days=90),
                )
                for n in range(20)
            ]
            quote = services.repair_quote_save(
                user=boss,
                card_id=card.pk,
                labour_charge=Decimal("150.00"),
                lines=[services.QuoteLine(part_id=issued["MB-100"].part_id, quantity=1)],
            )
            quote = services.repair_quote_approve_signed(
                user=boss, card_id=card.pk, signature_png=_demo_signature(), approved_by_name="钱女士"
            )

            documents = {
                "service voucher": (
                    "repairs/pdf/voucher.html",
                    {"voucher": voucher, "call": voucher.call, "fee": None},
                ),
                "pickup receipt": (
                    "repairs/pdf/pickup_receipt.html",
                    {"card": card, "entry": card.register_entry, "call": card.call},
                ),
                "repair card": (
                    "repairs/pdf/repair_card.html",
                    {"card": card, "entry": card.register_entry, "call": card.call, "history": list(history_for(card))},
                ),
                "fee receipt": (
                    "repairs/pdf/fee_receipt.html",
                    fee_receipt_context(fee=fee_get_for_user(user=boss, pk=fee.pk)),
                ),
                "planned-visit list (20 visits)": (
                    "contracts/pdf/planned_week.html",
                    {"visits": planned, "week": week, "week_end": week + dt.timedelta(days=6)},
                ),
                "repair quote": (
                    "repairs/pdf/quote.html",
                    {
                        "quote": quote,
                        "card": card,
                        "call": card.call,
                        "lines": list(quote.lines.select_related("part")),
                    },
                ),
                "stock issue note": ("parts/pdf/issue_note.html", {"movement": issued["MB-100"]}),
            }
            for name, (template, context) in documents.items():
                first = time.perf_counter()
                pdf = render_pdf(template=template, context=context)
                cold_ms = (time.perf_counter() - first) * 1000
                pages = len(PdfReader(io.BytesIO(pdf)).pages)
                if os.environ.get("BENCH_PDF_DIR"):
                    Path(os.environ["BENCH_PDF_DIR"], name.split(" (")[0].replace(" ", "_") + ".pdf").write_bytes(pdf)
                timings, cpu = [], []
                profiler = cProfile.Profile() if args.profile and name.startswith(args.profile) else None
                if profiler:
                    profiler.enable()
                for _ in range(args.renders):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    render_pdf(template=template, context=context)
                    timings.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                timings.sort()
                results[name] = {
                    "first_ms": cold_ms,
                    "median_ms": statistics.median(timings),
                    "p90_ms": timings[int(len(timings) * 0.9) - 1],
                    "max_ms": timings[-1],
                    "cpu_median_ms": statistics.median(cpu),
                    "pages": pages,
                    "bytes": len(pdf),
                }
            raise Rollback
    except Rollback:
        pass

    print(f"{args.renders} warm renders per document (first render shown separately)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'document':<16} {'pages':>5} {'first':>8} {'median':>8} {'p90':>8} {'max':>8} {'cpu med':>8} {'size':>8}")
    failed = False
    for name, r in results.items():
        print(
            f"{name:<16} {r['pages']:>5} {r['first_ms']:>6.0f}ms {r['median_ms']:>6.1f}ms {r['p90_ms']:>6.1f}ms"
            f" {r['max_ms']:>6.1f}ms {r['cpu_median_ms']:>6.1f}ms {r['bytes'] / 1024:>6.0f}kB"
        )
        failed |= r["median_ms"] > TARGET_MS
    print("target: wall-clock median ≤ %.0f ms → %s" % (TARGET_MS, "FAIL" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
