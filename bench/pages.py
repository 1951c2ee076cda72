"""Issue 17: the pages people open most, in-process and over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_lean .venv/bin/python bench/pages.py [--before-root DIR]
        [--pages "call detail,repair card"] [--in-process-only]

Uses the demo data (``manage.py seed_demo`` on the database named by DATABASE_URL; run it first); the first
run writes one draft voucher on the technician's call on site, for the voucher-sign page.
For each page: queries (of a request after the first), median and p95 of ``--n`` requests through Django's test client
(in-process, no network). Over HTTP: gunicorn (4 sync workers, DJANGO_DEBUG=0) on a free
loopback port and ``wrk`` with 8 connections for ``--seconds`` per page; with ``--before-root``
(a checkout of an earlier commit, e.g. ``git worktree add /work/wt/lean-before 15e5889``) a
second gunicorn serves that code on the same database, and the call page is measured on both,
alternating, three rounds. Sessions are made in-process and sent as cookies (both servers get
the same throw-away secret key). The load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-" + secrets.token_hex(16)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
os.environ["DJANGO_SECRET_KEY"] = SECRET
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ["DJANGO_HTTPS"] = "0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from complaints.models import ComplaintCase, CustomerOpinion  # noqa: E402
from contracts.models import Contract  # noqa: E402
from penalties.models import PenaltyRuling  # noqa: E402
from repairs.models import RepairCall, RepairCard, ServiceVoucher  # noqa: E402
from repairs.services import service_voucher_create  # noqa: E402
from servicedesk.models import User  # noqa: E402


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * p / 100))]


def client_for(username: str) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    return client


def pages() -> list[tuple[str, str, str, dict | None]]:
    """(name, user, url, POST data or None)."""
    on_site = RepairCall.objects.filter(status=RepairCall.Status.ON_SITE, technician__username="tech").first()
    any_call = on_site or RepairCall.objects.filter(technician__username="tech").first()
    draft = ServiceVoucher.objects.filter(status=ServiceVoucher.Status.DRAFT, technician__username="tech").first()
    if draft is None and on_site is not None:
        # The demo's vouchers are all signed: the voucher-sign page needs a draft, written once as the phone would.
        draft = service_voucher_create(
            user=User.objects.get(username="tech"),
            call_id=on_site.pk,
            departed_at=timezone.now(),
            work_done="Cleaned the fuser; test print OK.",
            parts=[],
            labour_charge=Decimal("80.00"),
        )
    card = RepairCard.objects.filter(unit__code="sh-centre").first()
    known = RepairCall.objects.filter(unit__code="sh-centre").select_related("customer").first()
    out = [
        ("call detail (dispatcher)", "dispatcher", reverse("repairs:call_detail", args=[any_call.pk]), None),
        ("call detail (technician)", "tech", reverse("repairs:call_detail", args=[any_call.pk]), None),
        ("log a call: form (GET)", "dispatcher", reverse("repairs:call_log"), None),
        (
            "log a call: POST -> redirect (known customer)",
            "dispatcher",
            reverse("repairs:call_log"),
            {
                "customer": known.customer_id,
                "site": known.site_id,
                **({"product": known.product_id} if known.product_id else {}),
                "contact_name": "Ms Li",
                "contact_phone": "13800138000",
                "channel": "phone",
                "coverage": "unknown",
                "problem": "Error E4",
                "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            },
        ),
        ("my calls (technician)", "tech", reverse("repairs:my_calls"), None),
    ]
    if on_site:
        out.append(("voucher form (technician)", "tech", reverse("repairs:voucher_create", args=[on_site.pk]), None))
    if draft:
        out.append(("voucher sign (technician)", "tech", reverse("repairs:voucher_sign", args=[draft.pk]), None))
    if card:
        out.append(("repair card", "supervisor", reverse("repairs:card_detail", args=[card.pk]), None))
    for name, model, url_name, user in (
        ("complaint case", ComplaintCase, "complaints:case_detail", "servicedept"),
        ("opinion", CustomerOpinion, "complaints:opinion_detail", "servicedept"),
        ("contract", Contract, "contracts:detail", "servicedept"),
        ("penalty ruling", PenaltyRuling, "penalties:ruling_detail", "deputygm"),
    ):
        row = model.objects.order_by("pk").first()
        if row is not None:
            out.append((name, user, reverse(url_name, args=[row.pk]), None))
    return out


def in_process(n: int, only: str | None = None) -> list[tuple]:
    results = []
    for name, user, url, data in pages():
        if only and not any(part.strip() in name for part in only.split(",")):
            continue
        client = client_for(user)

        def send(client=client, url=url, data=data):
            if data:  # as the browser sends the page's form (no enctype): urlencoded, not the test client's multipart
                return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
            return client.get(url)

        send()  # the first request of the process reads what it keeps (content types, options)
        with CaptureQueriesContext(connection) as captured:
            response = send()
        # Counted now: ``captured_queries`` slices the connection's log, which each later request empties
        # (Django's reset_queries on request_started), so read after the timed requests it was always 0.
        queries = len(captured.captured_queries)
        status = response.status_code
        times = []
        for _ in range(n):
            start = time.perf_counter()
            send()
            times.append((time.perf_counter() - start) * 1000)
        row = (name, status, queries, statistics.median(times), pct(times, 95), load())
        print("in-process  %-46s %s q=%-2d median %6.2f ms  p95 %6.2f ms  load %s" % row, flush=True)
        results.append((row, user, url, data, client.cookies[settings.SESSION_COOKIE_NAME].value))
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collectstatic(root: Path) -> None:
    """DJANGO_DEBUG=0 serves the hashed static names: each checkout collects its own."""
    env = {**os.environ, "DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "0", "DJANGO_HTTPS": "0"}
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=root,
        env=env,
        check=True,
        timeout=300,
    )


def start_gunicorn(root: Path) -> tuple[subprocess.Popen, int]:
    collectstatic(root)
    port = free_port()
    env = {**os.environ, "DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "0", "DJANGO_HTTPS": "0"}
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "servicedesk.wsgi"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def wrk(port: int, path: str, cookie: str, seconds: int) -> tuple[float, str, str]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # The latency distribution's own lines ("    50%   29.80ms"), not its heading.
    median = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, f"median {median} p99 {p99}" + (f" NON-2xx {non2xx.group(1)}" if non2xx else ""), load()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--before-root", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", help="only the pages whose names contain one of these comma-separated words")
    parser.add_argument("--in-process-only", action="store_true", help="no gunicorn, no wrk")
    args = parser.parse_args()
    print(f"load average at start {load()}; {os.cpu_count()} CPUs")
    collectstatic(ROOT)
    results = in_process(args.n, args.pages)
    if args.in_process_only:
        return
    after, after_port = start_gunicorn(ROOT)
    before = before_port = None
    if args.before_root:
        before, before_port = start_gunicorn(args.before_root)
    try:
        for (name, *_rest), _user, url, data, cookie in results:
            if data:
                continue  # a POST per request would log thousands of calls; its in-process figure stands
            rps, lat, la = wrk(after_port, url, cookie, args.seconds)
            print(f"http c=8    {name:46s} {rps:8.1f} req/s  {lat}  load {la}", flush=True)
        if before_port:
            (name, *_rest), _user, url, data, cookie = results[0]
            for round_ in range(args.rounds):
                for label, port in (("before 15e5889", before_port), ("after", after_port)):
                    rps, lat, la = wrk(port, url, cookie, args.seconds)
                    print(
                        f"http c=8    call detail {label:15s} round {round_ + 1}: {rps:8.1f} req/s  {lat}  load {la}",
                        flush=True,
                    )
    finally:
        for proc in (after, before):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)


if __name__ == "__main__":
    main()
