"""Benchmark of the records (issue 13): call history, search, customer and product pages on 1,000,000 calls.

Uses a database seeded by ``bench/seed_calls.py`` (``--seed`` resets and seeds it first, as
``bench/dispatch.py`` does; the name must start ``sd_bench``). Measured in-process through the Django test
client (session and user included in the query counts, reported apart), p50/p95 over ``--rounds`` requests.
For the customer page one customer is given 2,000 calls first (moved from other customers of its unit).
Prints EXPLAIN of each search's page query and whether it reads the calls table sequentially.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def pct(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/sd_bench_records")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--seed", action="store_true", help="reset, migrate and seed 1,000,000 calls first")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    import dispatch

    db = dispatch.configure_environment(args)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    if args.seed:
        dispatch.reset_database(db)
    dispatch.manage("migrate", "-v0")
    dispatch.manage("collectstatic", "--noinput", "-v0")
    import django

    django.setup()
    import seed_calls
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from repairs.models import Customer, Product, RepairCall
    from servicedesk.models import User

    if args.seed:
        seed_calls.seed(calls=1_000_000, open_calls=100_000, units=20, log=print)
    total = RepairCall.objects.count()
    print(f"calls: {total:,}; load average {Path('/proc/loadavg').read_text().split()[:3]}")

    dispatcher = User.objects.get(username="bench-disp-01")
    head_office = User.objects.get(username="bench-hq")
    big = Customer.objects.filter(unit=dispatcher.unit).order_by("id").first()
    have = RepairCall.objects.filter(customer=big).count()
    if have < 2000:
        with connection.cursor() as cur:
            cur.execute(
                """UPDATE repairs_repaircall SET customer_id = %s, site_id = (SELECT id FROM repairs_site
                   WHERE customer_id = %s ORDER BY id LIMIT 1), product_id = NULL
                   WHERE id IN (SELECT id FROM repairs_repaircall WHERE unit_id = %s AND customer_id <> %s
                   ORDER BY id LIMIT %s)""",
                [big.pk, big.pk, dispatcher.unit_id, big.pk, 2000 - have],
            )
            cur.execute("ANALYZE repairs_repaircall")
    print(f"customer {big.pk}: {RepairCall.objects.filter(customer=big).count():,} calls")

    sample = RepairCall.objects.filter(unit=dispatcher.unit, product__isnull=False).order_by("-id").first()
    product = Product.objects.get(pk=sample.product_id)
    # A deep keyset page: a cursor 20,000 calls down the unit's history.
    deep = (
        RepairCall.objects.filter(unit=dispatcher.unit).order_by("-received_at", "-id").values_list("received_at", "id")
    )[20000]
    deep_cursor = f"1_{int(deep[0].timestamp() * 1_000_000)}_{deep[1]}"

    calls_url = reverse("records:calls")
    phone = sample.contact_phone
    dashed = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    cases = [
        ("calls: first page (dispatcher)", dispatcher, calls_url, {"all": "1"}, 30),
        ("calls: deep keyset page", dispatcher, calls_url, {"all": "1", "after": deep_cursor}, 30),
        ("calls: first page, filtered", dispatcher, calls_url, {"status": "closed", "coverage": "paid"}, 30),
        ("calls: deep page, filtered", dispatcher, calls_url, {"status": "closed", "after": deep_cursor}, 30),
        ("calls: attended late", dispatcher, calls_url, {"attended": "late"}, 30),
        ("calls: head office first page", head_office, calls_url, {"all": "1"}, 30),
        ("calls: head office, one unit", head_office, calls_url, {"unit": dispatcher.unit_id}, 30),
        ("search: number", dispatcher, calls_url, {"q": sample.number}, 50),
        ("search: phone with dashes", dispatcher, calls_url, {"q": dashed}, 50),
        ("search: serial", dispatcher, calls_url, {"q": product.serial_number}, 50),
        ("search: Chinese phrase", dispatcher, calls_url, {"q": "打印模糊"}, 50),
        ("search: Chinese two short words", dispatcher, calls_url, {"q": "打印 模糊"}, 50),
        ("search: 打印机 卡纸 (no match)", dispatcher, calls_url, {"q": "打印机 卡纸"}, 50),
        ("search: Chinese 3+ chars", dispatcher, calls_url, {"q": "设备无法启动"}, 50),
        ("search: head office Chinese", head_office, calls_url, {"q": "漏水 unit"}, 50),
        ("customer page (2,000 calls)", dispatcher, reverse("records:customer", args=[big.pk]), {}, 60),
        ("product page", dispatcher, reverse("records:product", args=[product.serial_number]), {}, 40),
        ("board (with repeat-repair flag)", dispatcher, reverse("repairs:board"), {"all": "1"}, None),
    ]
    clients = {}
    for user in (dispatcher, head_office):
        c = Client()
        c.force_login(user)
        clients[user.pk] = c
    print()
    print(f"{'case':38} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'queries':>8}  beyond session+user")
    for name, user, url, params, target in cases:
        client = clients[user.pk]
        client.get(url, params)  # warm
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, params)
        own = [
            q
            for q in ctx.captured_queries
            # Beyond the session and the user: the session row, the user row and the user's permissions.
            if not any(t in q["sql"] for t in ('"django_session"', 'FROM "servicedesk_user"', '"auth_permission"'))
        ]
        if name in ("calls: first page (dispatcher)", "search: serial"):
            print("    queries: " + " | ".join(q["sql"][:60] for q in own))
        verdict = "" if target is None else ("ok" if pct(times, 95) <= target else "MISSED")
        print(
            f"{name:38} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {target or '-'!s:>7} "
            f"{len(own):8d}  {verdict}"
        )
        if name.startswith("search"):
            page_sql = [q["sql"] for q in own if "repairs_repaircall" in q["sql"] and "ORDER BY" in q["sql"]]
            for sql in page_sql[-1:]:
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(r[0] for r in cur.fetchall())
                seq = "Seq Scan on repairs_repaircall" in plan
                print(f"    EXPLAIN ({'SEQ SCAN OF CALLS' if seq else 'no seq scan of the calls'}):")
                print("\n".join("      " + line[:160] for line in plan.splitlines()[:40]))
    print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
