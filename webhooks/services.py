"""Webhooks: a delivery row per event and subscription, written in the transaction of the change (the outbox),
sent by the worker, signed, retried with exponential backoff, and a subscription paused after repeated failures.

- ``webhook_events_record`` is subscribed to ``servicedesk.events`` (WebhooksConfig.ready): it runs inside
  the service's transaction, so a change that rolls back leaves no delivery, and a committed one always has
  its rows (one INSERT per batch of events). After the commit it kicks the worker.
- ``webhook_deliveries_send_due`` is the worker's task and the periodic sweep's: it leases the due rows (row
  locks skipped by a second worker, then a lease time so a crashed worker's rows come back), sends each
  outside any transaction, and records the answer. Each (subscription, event) row exists once (unique
  constraint) and is marked delivered once; the receiver tells a retried request by its event id.
"""

import datetime as dt
import http.client
import json
import logging
import time
from urllib.parse import urlsplit

from django.core.cache import caches
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.celery import app as celery_app
from servicedesk.events import EVENTS, Event
from servicedesk.exceptions import ApplicationError
from servicedesk.generations import Generation
from servicedesk.pauses import Pause

from .models import WebhookDelivery, WebhookSubscription
from .signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

# The events an administrator may subscribe to (issue 15); the technician's arrival stays internal.
SUBSCRIBABLE = [name for name in EVENTS if name != "call.arrived"]

RETRY_FIRST = dt.timedelta(seconds=30)
RETRY_MAX = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12  # about 17 hours of retries, then the delivery is given up (kept in the log)
LEASE = dt.timedelta(minutes=5)  # a row being sent is not due again before this (a crashed worker's comes back)
TIMEOUT_SECONDS = 10
SEND_BATCH = 500
DELIVER_TASK = "webhooks.tasks.deliver_webhooks"


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, doubling, at most 6 hours."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def event_body(event: Event) -> str:
    return json.dumps(
        {
            "id": event.id,
            "type": event.name,
            "created": event.at.isoformat(),
            "object": {"type": event.object_type, "id": event.object_id},
            "unit_id": event.unit_id,
            "data": event.data,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _hears(subscription: WebhookSubscription, event: Event) -> bool:
    return event.name in subscription.events and subscription.unit_id in (None, event.unit_id)


# Which subscriptions hear what (issue 17): every logged or dispatched call asks, and they change seldom (an
# administrator's edit). So each process keeps the active ones, under a token in the shared cache that every change of
# a subscription replaces, when made and again after it commits (``subscriptions_changed``, connected to the model's
# saves and deletions in WebhooksConfig.ready): a list read before a change is never used after it
# (servicedesk.generations), as the dispatch board's pages (repairs/board_cache.py). A missing token is replaced,
# never read as "no change". Without the cache (Redis unreachable: this process leaves it alone for a while) the
# subscriptions are read from the database each time; a token change missed in an outage is healed by
# ``SUBSCRIPTIONS_SECONDS``.
SUBSCRIPTIONS_SECONDS = 60
subscriptions_generation = Generation("webhook subscriptions", "webhook-subscriptions-version")
subscriptions_pause = subscriptions_generation.pause


def _read_subscriptions() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(is_active=True).only("id", "events", "unit_id"))


def active_subscriptions() -> list[WebhookSubscription]:
    """The active subscriptions (id, events, unit), as the database holds them since their last change."""
    token, _found = subscriptions_generation.current()
    if token is None:  # the cache keeps nothing or is unreachable
        return _read_subscriptions()
    key = f"webhook-subscriptions:{token}"
    kept = caches["local"].get(key)
    if kept is None:
        kept = _read_subscriptions()
        caches["local"].set(key, kept, SUBSCRIPTIONS_SECONDS)
    return kept


def subscriptions_changed(**_signal) -> None:
    """A subscription was saved or deleted: the kept lists are stale, now and once the change is committed."""
    subscriptions_generation.replace()


def webhook_events_record(events: list[Event]) -> int:
    """Write the delivery rows of these events in the caller's transaction (no query with no subscriptions)."""
    subscriptions = active_subscriptions()
    rows = [
        WebhookDelivery(
            subscription_id=subscription.pk,
            event_id=event.id,
            event_name=event.name,
            body=event_body(event),
            next_attempt_at=event.at,
            created_at=event.at,
        )
        for event in events
        for subscription in subscriptions
        if _hears(subscription, event)
    ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        transaction.on_commit(request_delivery)
    return len(rows)


broker_pause = Pause("webhook kicks")


def request_delivery() -> None:
    """Kick the delivery task after the commit; never fail the change if the broker is down (the sweep sends)."""
    if broker_pause.active():
        return
    try:
        celery_app.send_task(DELIVER_TASK, retry=False)
    except Exception:
        broker_pause.start()
        log.warning("broker unavailable; webhooks wait for the periodic sweep", exc_info=True)


class _Connections:
    """One kept-alive connection per receiver during a sweep (a thousand events to one URL: one connection)."""

    def __init__(self):
        self.open = {}

    def post(self, url: str, *, body: bytes, headers: dict) -> int:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        connection = self.open.get(key)
        if connection is None:
            cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = cls(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
            self.open[key] = connection
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(65536)
            if response.will_close:
                self.drop(key)
            return response.status
        except Exception:
            self.drop(key)
            raise

    def drop(self, key) -> None:
        connection = self.open.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self.open):
            self.drop(key)


def _lease(*, now: dt.datetime, limit: int) -> list[WebhookDelivery]:
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                subscription__is_active=True,
                subscription__paused_at__isnull=True,
            )
            .select_related("subscription")
            .order_by("next_attempt_at", "id")[:limit]
        )
        if due:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=now + LEASE)
    return due


def _send_one(connections: _Connections, delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "servicedesk-webhooks/1",
        EVENT_ID_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: signature_header(secret=delivery.subscription.secret, timestamp=int(time.time()), body=body),
    }
    try:
        code = connections.post(delivery.subscription.url, body=body, headers=headers)
    except Exception as exc:  # refused, timed out, DNS: the receiver is not there; try again later
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


RECORDED_FIELDS = [
    "attempts",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "status",
    "delivered_at",
    "next_attempt_at",
]


def _record(delivery: WebhookDelivery, *, code: int | None, error: str, now: dt.datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = code
    delivery.last_error = error
    if not error:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
    else:
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)


def _send_batch(connections: _Connections, batch: list[WebhookDelivery], *, now: dt.datetime | None) -> int:
    """Send one leased batch in order; the answers are written together (one UPDATE per batch, not per row).

    Failures in a row are counted per subscription from its stored count: a success sets it back to 0, and
    reaching ``pause_after`` pauses the subscription at once (its later rows of the batch go back unsent).
    """
    failures: dict[int, int] = {}
    paused: set[int] = set()
    sent, requeued = [], []
    clock = now or timezone.now()
    for delivery in batch:
        subscription = delivery.subscription
        if subscription.pk in paused:
            requeued.append(delivery.pk)
            continue
        code, error = _send_one(connections, delivery)
        clock = now or timezone.now()
        _record(delivery, code=code, error=error, now=clock)
        sent.append(delivery)
        running = 0 if not error else failures.get(subscription.pk, subscription.consecutive_failures) + 1
        failures[subscription.pk] = running
        if error and running >= subscription.pause_after:
            paused.add(subscription.pk)
            log.warning("webhook subscription %s paused after %s failures in a row", subscription.pk, running)
    WebhookDelivery.objects.bulk_update(sent, RECORDED_FIELDS, batch_size=SEND_BATCH)
    if requeued:  # back in the queue, sent when an administrator resumes the subscription
        WebhookDelivery.objects.filter(pk__in=requeued).update(next_attempt_at=clock)
    for subscription_id, running in failures.items():
        subscriptions = WebhookSubscription.objects.filter(pk=subscription_id)
        subscriptions.update(consecutive_failures=running)
        if subscription_id in paused:
            subscriptions.filter(paused_at__isnull=True).update(paused_at=clock)
    return sum(1 for delivery in sent if delivery.status == WebhookDelivery.Status.DELIVERED)


def webhook_deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Send every due delivery once (the task and the periodic sweep); returns how many were delivered."""
    delivered = 0
    leased = 0
    connections = _Connections()
    try:
        while leased < limit:
            batch = _lease(now=now or timezone.now(), limit=min(SEND_BATCH, limit - leased))
            if not batch:
                break
            leased += len(batch)
            delivered += _send_batch(connections, batch, now=now)
    finally:
        connections.close()
    return delivered


@transaction.atomic
def webhook_subscription_resume(*, user, subscription_id: int, now: dt.datetime | None = None):
    """An administrator resumes a paused subscription: its waiting deliveries are due at once."""
    if not user.has_perm("webhooks.change_webhooksubscription"):
        raise ApplicationError(_("You are not allowed to do this."))
    now = now or timezone.now()
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    subscription.paused_at = None
    subscription.consecutive_failures = 0
    subscription.save(update_fields=["paused_at", "consecutive_failures"])
    subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(next_attempt_at=now)
    transaction.on_commit(request_delivery)
    return subscription


@transaction.atomic
def webhook_subscription_pause(*, user, subscription_id: int, now: dt.datetime | None = None):
    if not user.has_perm("webhooks.change_webhooksubscription"):
        raise ApplicationError(_("You are not allowed to do this."))
    WebhookSubscription.objects.filter(pk=subscription_id, paused_at__isnull=True).update(
        paused_at=now or timezone.now()
    )
    return WebhookSubscription.objects.get(pk=subscription_id)
