"""Benchmark of inbound e-mail (issue 15): 1,000 messages read from the real IMAP server and processed.

    .venv/bin/python bench/intake.py [--messages 1000] [--customers 2000]

Needs the IMAP test server (``scripts/imap-test-server``: dovecot on 127.0.0.1:10143) and PostgreSQL.

1. Resets the PostgreSQL database named by ``BENCH_DATABASE_URL`` (default
   ``postgres://postgres@127.0.0.1:5432/sd_bench_intake``; only a database whose name starts with ``sd_bench``
   is ever dropped), migrates it and makes one unit with ``--customers`` customers, each with a site.
2. Appends ``--messages`` messages to a new folder of the test server with IMAP APPEND (not timed): 70 % from
   known customers (each becomes a repair call through ``repair_call_log``), 15 % from unknown senders (the
   queue), 10 % replies naming a call (its history), 5 % with a PDF attachment from a known customer.
3. Times ``mailbox_read()`` (the beat task's body): fetch, parse, one transaction per message, the marks on the
   server. Then times a second run (nothing new) and checks every message was handled exactly once.
Prints the figures with the load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sd_bench_intake"
IMAP = {
    "HOST": "127.0.0.1",
    "PORT": int(os.environ.get("SERVICEDESK_TEST_IMAP_PORT", "10143")),
    "USER": os.environ.get("SERVICEDESK_TEST_IMAP_USER", "intake"),
    "PASSWORD": os.environ.get("SERVICEDESK_TEST_IMAP_PASSWORD", "intake-test"),
    "TLS": "none",
    "UNIT": "bench-unit",
    "TIMEOUT": 30,
}


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


def _setup_django(url: str, media: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_MEDIA_ROOT"] = media
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.test_settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.2f} (1 min) / {five:.2f} (5 min), {os.cpu_count()} CPUs"


def _message(*, sender: str, subject: str, body: str, pdf: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@example.com"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="bench.example.com")
    message.set_content(body)
    if pdf:
        message.add_attachment(
            b"%PDF-1.4\n" + b"0" * 40_000, maintype="application", subtype="pdf", filename="scan.pdf"
        )
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    media = f"/tmp/sd-bench-intake-media-{uuid.uuid4().hex[:8]}"
    print(f"load average at start: {_load()}")
    _reset_database(url)
    _setup_django(url, media)

    from django.conf import settings
    from django.core.management import call_command
    from imap_tools import MailBoxUnencrypted

    call_command("migrate", verbosity=0)
    from intake.mailbox import mailbox_read
    from intake.models import InboundMessage
    from repairs.models import Customer, RepairCall, Site, Zone
    from servicedesk.models import OrgUnit

    unit = OrgUnit.objects.create(code="bench-unit", name="Bench centre", kind=OrgUnit.Kind.SERVICE_CENTRE)
    zone = Zone.objects.get(code="urban")
    customers = Customer.objects.bulk_create(
        Customer(unit=unit, name=f"Customer {n}", phone=f"021-5555-{n:04d}", email=f"c{n}@bench.example.com")
        for n in range(args.customers)
    )
    Site.objects.bulk_create(Site(customer=c, address=f"{c.pk} Bench Road", zone=zone) for c in customers)

    folder = f"bench-{uuid.uuid4().hex[:8]}"
    settings.INTAKE_IMAP = {**IMAP, "FOLDER": folder}
    with MailBoxUnencrypted(IMAP["HOST"], IMAP["PORT"]).login(IMAP["USER"], IMAP["PASSWORD"]) as box:
        box.folder.create(folder)
    try:
        # A few calls first, so that replies have numbers to name.
        with MailBoxUnencrypted(IMAP["HOST"], IMAP["PORT"]).login(IMAP["USER"], IMAP["PASSWORD"]) as box:
            for n in range(20):
                box.append(_message(sender=f"c{n}@bench.example.com", subject="first", body="jam"), folder, flag_set=[])
        mailbox_read()
        numbers = list(RepairCall.objects.values_list("number", flat=True))
        before = InboundMessage.objects.count()
        started = time.monotonic()
        with MailBoxUnencrypted(IMAP["HOST"], IMAP["PORT"]).login(IMAP["USER"], IMAP["PASSWORD"]) as box:
            for n in range(args.messages):
                kind = n % 20
                if kind < 14:
                    raw = _message(sender=f"c{n % args.customers}@bench.example.com", subject=f"Fault {n}", body="jam")
                elif kind < 17:
                    raw = _message(sender=f"stranger{n}@else.example", subject=f"Help {n}", body="broken")
                elif kind < 19:
                    raw = _message(sender="c1@bench.example.com", subject=f"Re: {numbers[n % 20]}", body="again")
                else:
                    raw = _message(
                        sender=f"c{n % args.customers}@bench.example.com", subject="scan", body="x", pdf=True
                    )
                box.append(raw, folder, flag_set=[], dt=dt.datetime.now(dt.UTC))
        appended = time.monotonic() - started
        print(f"appended {args.messages} messages in {appended:.1f} s (not timed); load average {_load()}")

        started = time.monotonic()
        run = mailbox_read()
        took = time.monotonic() - started
        print(
            f"mailbox_read: {run.fetched} fetched, {run.handled} handled in {took:.2f} s "
            f"({run.handled / took:.0f} messages/s); outcomes {dict(run.outcomes)}; load average {_load()}"
        )
        started = time.monotonic()
        again = mailbox_read()
        print(f"second run (nothing new): {again.fetched} fetched in {time.monotonic() - started:.2f} s")
        assert InboundMessage.objects.count() - before == args.messages, "every message handled exactly once"
        print(f"target 1,000 messages ≤ 30 s: {'met' if took <= 30 * args.messages / 1000 else 'MISSED'}")
    finally:
        with MailBoxUnencrypted(IMAP["HOST"], IMAP["PORT"]).login(IMAP["USER"], IMAP["PASSWORD"]) as box:
            box.folder.delete(folder)


if __name__ == "__main__":
    main()
