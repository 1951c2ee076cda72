"""Benchmark of the service dashboard (dashboard/) on the seeded 1,000,000-call database.

Times the page in-process (Django's test client, so the figures include rendering) and the selector alone,
for a branch supervisor over one month and for head office over twelve months; prints median and p95 of
``--runs`` runs and the load average (the page's query count is tested in tests/dashboard).
Seed as for ``bench/exports.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def timed(fn, runs: int) -> dict:
    fn()  # warm: connections, template and translation caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--summary",
        choices=("live", "record"),
        default="live",
        help="live: every month computed from the calls (the summary table emptied first); record: the month "
        "summary job is run (and timed) first, so closed months are read from dashboard.ServiceMonth",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("DJANGO_HTTPS", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # No collectstatic for a benchmark: the plain static storage (the tests' own) instead of the manifest.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        return run(args)


def run(args) -> int:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from dashboard.selectors import add_months, dashboard_for
    from repairs.models import RepairCall
    from servicedesk.models import User
    from servicedesk.roles import Role

    assert connection.vendor == "postgresql"
    print("load average before:", os.getloadavg(), flush=True)
    hq = User.objects.filter(unit__code="bench-hq").order_by("pk").first()
    supervisor = User.objects.filter(username="bench-sup-05").first()
    assert hq and supervisor, "seed the database first: bench/seed_calls.py"
    for user in (hq, supervisor):
        assert user.has_perm("dashboard.view_dashboard") or user.groups.filter(name=Role.SUPERVISOR).exists()
    newest = RepairCall.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    last = timezone.localtime(newest).date().replace(day=1)
    cases = {
        "branch supervisor, one month": (supervisor, last, last),
        "head office, twelve months": (hq, add_months(last, -11), last),
    }
    from dashboard.models import RecordedMonth, ServiceMonth
    from dashboard.services import service_months_record

    RecordedMonth.objects.all().delete()
    ServiceMonth.objects.all().delete()
    if args.summary == "record":
        for run_number in (1, 2):  # the second run: the job is idempotent; how long a rerun takes
            started = time.perf_counter()
            written = service_months_record()
            print(
                {
                    "summary job run": run_number,
                    "rows written": written,
                    "months": RecordedMonth.objects.count(),
                    "seconds": round(time.perf_counter() - started, 1),
                    "load": os.getloadavg(),
                },
                flush=True,
            )
    url = reverse("dashboard:index")
    for label, (user, first, final) in cases.items():
        client = Client()
        client.force_login(user)
        query = {"first": f"{first:%Y-%m}", "last": f"{final:%Y-%m}"}
        assert client.get(url, query).status_code == 200
        result = dashboard_for(user=user, first=first, last=final)
        calls = sum(r.received for r in result.rows)
        page = timed(lambda client=client, query=query: client.get(url, query), args.runs)
        selector = timed(
            lambda user=user, first=first, final=final: dashboard_for(user=user, first=first, last=final), args.runs
        )
        print(
            {
                "what": label,
                "months": f"{first:%Y-%m}..{final:%Y-%m}",
                "calls": calls,
                "rows": len(result.rows),
                "page": page,
                "selector": selector,
                "summary": args.summary,
                "load": os.getloadavg(),
            },
            flush=True,
        )
    print("load average after:", os.getloadavg(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
