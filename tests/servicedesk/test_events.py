"""Business events: each service tells its subscribers what happened, inside its own transaction."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from repairs import services
from servicedesk import events
from servicedesk.models import Notification
from tests.factories import log_call


@pytest.fixture
def heard():
    got: list[events.Event] = []

    def listener(batch):
        got.extend(batch)

    events.event_subscribe(listener)
    yield got
    events.event_unsubscribe(listener)


def test_logging_dispatching_arriving_and_resolving_a_call_are_each_told_once(dispatcher, technician, heard):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    assert [(e.name, e.object_type, e.object_id, e.unit_id) for e in heard] == [
        (events.CALL_LOGGED, "repair_call", call.pk, call.unit_id),
        (events.CALL_DISPATCHED, "repair_call", call.pk, call.unit_id),
        (events.CALL_ARRIVED, "repair_call", call.pk, call.unit_id),
    ]
    assert heard[1].data["technician_id"] == technician.pk
    assert heard[0].data["number"] == call.number
    assert len({e.id for e in heard}) == 3


def test_the_overdue_check_tells_each_late_call_once_in_one_batch(dispatcher, heard):
    long_ago = timezone.now() - dt.timedelta(days=2)
    calls = [log_call(dispatcher=dispatcher, received_at=long_ago) for _ in range(3)]
    heard.clear()
    now = timezone.now()
    services.repair_calls_mark_overdue(now=now)
    services.repair_calls_mark_overdue(now=now)
    assert sorted(e.object_id for e in heard if e.name == events.CALL_OVERDUE) == sorted(c.pk for c in calls)


def test_a_rolled_back_change_is_told_inside_its_transaction_so_a_subscriber_writes_nothing_lasting(dispatcher, heard):
    def writes_a_row(batch):
        Notification.objects.create(dedupe_key=f"evt:{batch[0].id}", subject="heard")

    events.event_subscribe(writes_a_row)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            log_call(dispatcher=dispatcher)
            raise RuntimeError("the request failed")
    finally:
        events.event_unsubscribe(writes_a_row)
    assert heard and not Notification.objects.filter(subject="heard").exists()


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError):
        events.event_emit("call.exploded", object_type="repair_call", object_id=1, unit_id=None)


def test_every_event_has_a_label_for_the_people_who_choose_them():
    assert all(str(label) for label in events.EVENTS.values())
