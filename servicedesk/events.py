"""Business events: what happened, told to whoever listens, inside the transaction that made it happen.

The services of the lower apps say what happened (``event_emit``: a call was logged, dispatched...) without
knowing who listens; the higher apps that act on it (webhooks, push, notices by preference) subscribe in their
``AppConfig.ready`` (``event_subscribe``). A subscriber is called in the service's own transaction, so what it
writes (an outbox row, a delivery row) commits or rolls back with the change; anything that must wait for the
commit (a network call) it schedules with ``transaction.on_commit``.

Each event carries a unique id (a UUID): a receiver that is told the same event twice (a retried delivery)
knows it by its id. The ``data`` is small and JSON-ready (numbers, state codes, ISO times); a subscriber that
needs more reads it by ``object_id``.

A periodic job that changes many rows at once (the overdue check, the expiry notices) emits them as one batch,
so a subscriber can write its rows in one statement.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CALL_LOGGED = "call.logged"
CALL_DISPATCHED = "call.dispatched"
CALL_ARRIVED = "call.arrived"
CALL_OVERDUE = "call.overdue"
CALL_RESOLVED = "call.resolved"
CONTRACT_NOTICE_ISSUED = "contract.notice_issued"
COMPLAINT_FILED = "complaint.filed"
PENALTY_APPROVED = "penalty.approved"

# The events and their labels, in the order a person reads them (an administrator choosing what to hear of).
EVENTS = {
    CALL_LOGGED: _("Repair call logged"),
    CALL_DISPATCHED: _("Repair call dispatched"),
    CALL_ARRIVED: _("Technician arrived"),
    CALL_OVERDUE: _("Repair call overdue"),
    CALL_RESOLVED: _("Repair call resolved"),
    CONTRACT_NOTICE_ISSUED: _("Contract expiry notice issued"),
    COMPLAINT_FILED: _("Suggestion or complaint filed"),
    PENALTY_APPROVED: _("Penalty ruling approved"),
}


@dataclass(frozen=True)
class Event:
    name: str
    object_type: str  # what object_id is: "repair_call", "expiry_notice", "customer_opinion", "penalty_ruling"
    object_id: int
    unit_id: int | None
    data: dict
    at: dt.datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


Subscriber = Callable[[list[Event]], None]
_subscribers: list[Subscriber] = []


def event_subscribe(subscriber: Subscriber) -> Subscriber:
    """Call ``subscriber(events)`` for every batch of events from now on (usable as a decorator); once each."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def event_unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def events_emit(events: Iterable[Event]) -> list[Event]:
    """Tell every subscriber of these events, in the caller's transaction. Returns the events."""
    events = list(events)
    for event in events:
        if event.name not in EVENTS:
            raise ValueError(f"unknown event {event.name!r}")
    if events:
        for subscriber in list(_subscribers):
            subscriber(events)
    return events


def event_emit(
    name: str,
    *,
    object_type: str,
    object_id: int,
    unit_id: int | None,
    data: dict | None = None,
    at: dt.datetime | None = None,
) -> Event:
    """One event (see ``events_emit``)."""
    event = Event(
        name=name,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        data=dict(data or {}),
        at=at or timezone.now(),
    )
    events_emit([event])
    return event
