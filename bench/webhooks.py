"""Benchmark of webhook delivery (issue 15): 1,000 events delivered to a local receiver (target ≤ 20 s).

A real HTTP receiver on 127.0.0.1 (the tests' threaded http.server, tests/webhooks/receiver.py) checks every
signature and counts the event ids. 1,000 events are emitted through servicedesk.events in one transaction
(the subscriber writes the delivery rows in it), then the delivery sweep the worker runs
(``webhook_deliveries_send_due``) sends them; timed from the commit to the last one recorded delivered.
Own database (name starting sd_bench), migrated first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/sd_bench_webhooks")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args(argv)
    import dispatch

    dispatch.configure_environment(args)
    dispatch.manage("migrate", "-v0")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from servicedesk.events import CALL_LOGGED, Event, events_emit
    from tests.webhooks.receiver import Receiver
    from webhooks.models import WebhookDelivery, WebhookSubscription
    from webhooks.services import webhook_deliveries_send_due

    WebhookDelivery.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    with Receiver() as receiver:
        subscription = WebhookSubscription.objects.create(name="bench", url=receiver.url, events=[CALL_LOGGED])
        receiver.secret = subscription.secret
        print(f"load average before: {os.getloadavg()}")
        now = timezone.now()
        events = [
            Event(
                name=CALL_LOGGED,
                object_type="repair_call",
                object_id=n,
                unit_id=1,
                data={"number": f"RC-2026-{n:06d}", "status": "logged", "channel": "phone"},
                at=now,
            )
            for n in range(args.events)
        ]
        started = time.perf_counter()
        with transaction.atomic():
            events_emit(events)
        written = time.perf_counter() - started
        delivered = webhook_deliveries_send_due()
        elapsed = time.perf_counter() - started
        valid = sum(1 for _id, _payload, ok in receiver.requests if ok)
        ids = receiver.ids()
        print(f"rows written in the transaction: {written * 1000:.0f} ms")
        print(
            f"{args.events} events delivered in {elapsed:.2f} s (target 20 s): {delivered} delivered, {valid} valid "
            f"signatures, {len(set(ids))} distinct ids of {len(ids)} requests; load average {os.getloadavg()}"
        )
        assert delivered == valid == len(set(ids)) == len(ids) == args.events
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
