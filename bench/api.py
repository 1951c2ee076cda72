"""Benchmark of the REST API (issue 15): the call list on 1,000,000 calls and logging a call, in-process.

Uses its own database (``--seed`` resets it and seeds 1,000,000 calls with ``bench/seed_calls.py``, as
``bench/records.py`` does; the name must start ``sd_bench``). Requests go through the Django test client with
a real API token (its look-up is in every request), p50/p95 over ``--rounds`` requests, queries counted.

``--profile [N]`` adds a cProfile of the first page and of the create (the N heaviest lines by cumulative
time). With ``--seed --calls 40000`` the bench is tried out on a small database (the deep page is then half the
unit's calls down instead of 20,000): a check that it runs, not a figure.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def pct(values, p):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/sd_bench_api")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--seed", action="store_true", help="reset, migrate and seed the calls first")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=25,
        metavar="N",
        help="after the timings, profile the first page and the create (cProfile, N lines each, cumulative)",
    )
    args = parser.parse_args(argv)
    import dispatch

    db = dispatch.configure_environment(args)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["SERVICEDESK_API_RATE"] = "100000/min"  # the bench measures the API, not its throttle
    if args.seed:
        dispatch.reset_database(db)
    dispatch.manage("migrate", "-v0")
    import django

    django.setup()
    import seed_calls
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from api.services import api_token_create
    from repairs.models import RepairCall, Site
    from servicedesk.models import User

    if args.seed:
        started = time.perf_counter()
        seed_calls.seed(calls=args.calls, open_calls=args.calls // 10, units=20, log=print)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    total = RepairCall.objects.count()
    print(f"calls: {total:,}; load average {os.getloadavg()}")

    dispatcher = User.objects.get(username="bench-disp-01")
    head_office = User.objects.get(username="bench-hq")
    tokens = {u.pk: api_token_create(user=u, name="bench", lifetime_days=1)[1] for u in (dispatcher, head_office)}
    unit_calls = RepairCall.objects.filter(unit=dispatcher.unit)
    # 20,000 calls down; half the unit's calls on a small seed (a try-out of the bench, not a figure).
    depth = min(20000, unit_calls.count() // 2)
    deep = unit_calls.order_by("-received_at", "-id").values_list("received_at", "id")[depth]
    deep_cursor = f"1_{int(deep[0].timestamp() * 1_000_000)}_{deep[1]}"
    sample = RepairCall.objects.filter(unit=dispatcher.unit).order_by("-id").first()
    url = "/api/v1/calls/"
    cases = [
        ("API calls: first page", dispatcher, {}, 30),
        ("API calls: deep keyset page", dispatcher, {"after": deep_cursor}, 30),
        ("API calls: filtered", dispatcher, {"status": "closed", "coverage": "paid"}, 30),
        ("API calls: deep page, filtered", dispatcher, {"status": "closed", "after": deep_cursor}, 30),
        ("API calls: head office first page", head_office, {}, 30),
        ("API calls: search by number", dispatcher, {"q": sample.number}, 30),
        ("API calls: search Chinese phrase", dispatcher, {"q": "打印模糊"}, None),
    ]
    client = Client()
    print(f"\n{'case':38} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'queries':>8}  load average")
    for name, user, params, target in cases:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user.pk]}"}
        client.get(url, params, **headers)  # warm
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            response = client.get(url, params, **headers)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (name, response.status_code, response.content[:200])
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, params, **headers)
        verdict = "" if target is None else ("ok" if pct(times, 95) <= target else "MISSED")
        print(
            f"{name:38} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {target or '-'!s:>7} "
            f"{len(ctx.captured_queries):8d}  {os.getloadavg()[0]:.2f} {verdict}"
        )

    # Logging a call: an existing customer and site of the dispatcher's unit, a new call each time.
    sites = list(Site.objects.filter(customer__unit=dispatcher.unit).order_by("id")[: args.rounds + 1])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[dispatcher.pk]}"}
    times = []
    for n, site in enumerate(sites):
        body = {
            "customer": site.customer_id,
            "site": site.pk,
            "contact_name": "Bench",
            "contact_phone": "021-5555-0000",
            "channel": "phone",
            "coverage": "unknown",
            "problem": f"API bench call {n}",
            "received_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        }
        t = time.perf_counter()
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 201, response.content[:300]
        if n:  # the first one warms the caches
            times.append(elapsed)
    with CaptureQueriesContext(connection) as ctx:
        body["problem"] = "API bench call, queries counted"
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 201, response.content[:300]
    print(
        f"{'API create a call':38} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {25:>7} "
        f"{len(ctx.captured_queries):8d}  {os.getloadavg()[0]:.2f} {'ok' if pct(times, 95) <= 25 else 'MISSED'}"
    )
    if args.profile:
        _profile(args, client, url, tokens[dispatcher.pk], body)
    return 0


def _profile(args, client, url, raw, body) -> None:
    """cProfile of ``--rounds`` first pages and as many creates (timings off: the profiler slows everything)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for name, request in (
        ("API calls: first page", lambda n: client.get(url, **headers)),
        (
            "API create a call",
            lambda n: client.post(
                url,
                json.dumps({**body, "problem": f"API profile call {n}"}),
                content_type="application/json",
                **headers,
            ),
        ),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.rounds):
            request(n)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(f"\n--- profile: {name}, {args.rounds} requests ---")
        print(out.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
