"""Webhooks end to end with a real HTTP receiver on 127.0.0.1: written in the change's transaction, signed,
each event id delivered once, retried with backoff, paused after repeated failures, resumed."""

import datetime as dt
import json
import time

import pytest
from django.db import transaction
from django.utils import timezone

from repairs import services
from servicedesk.events import CALL_DISPATCHED, CALL_LOGGED
from tests.factories import log_call
from webhooks.models import WebhookDelivery
from webhooks.services import RETRY_FIRST, retry_delay, webhook_deliveries_send_due, webhook_subscription_resume
from webhooks.signing import signature_header, signature_verify


def test_a_calls_events_reach_the_receiver_signed_once_each(subscribe, receiver, dispatcher, technician):
    subscription = subscribe()
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    rows = list(WebhookDelivery.objects.order_by("created_at", "id"))
    assert [(r.event_name, r.status) for r in rows] == [(CALL_LOGGED, "pending"), (CALL_DISPATCHED, "pending")]

    assert webhook_deliveries_send_due() == 2
    assert webhook_deliveries_send_due() == 0  # a second sweep sends nothing again
    assert [valid for _id, _payload, valid in receiver.requests] == [True, True]
    ids = receiver.ids()
    assert len(set(ids)) == 2 and sorted(ids) == sorted(str(r.event_id) for r in rows)
    logged = receiver.requests[0][1]
    assert logged["type"] == CALL_LOGGED
    assert logged["object"] == {"type": "repair_call", "id": call.pk}
    assert logged["data"]["number"] == call.number and logged["unit_id"] == dispatcher.unit_id
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_a_change_that_rolls_back_leaves_no_delivery(subscribe, dispatcher):
    subscribe()
    with pytest.raises(RuntimeError), transaction.atomic():
        log_call(dispatcher=dispatcher)
        assert WebhookDelivery.objects.count() == 1  # written in the change's own transaction
        raise RuntimeError("the change fails after the event")
    assert not WebhookDelivery.objects.exists()


def test_a_subscription_hears_only_its_events_and_its_unit(
    subscribe, receiver, dispatcher, other_dispatcher, technician
):
    subscribe(events=["call.dispatched"], unit=dispatcher.unit)
    call = log_call(dispatcher=dispatcher)
    log_call(dispatcher=other_dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert list(WebhookDelivery.objects.values_list("event_name", flat=True)) == [CALL_DISPATCHED]


def test_each_event_is_written_once_per_subscription_even_if_told_twice(subscribe, dispatcher):
    from webhooks.services import webhook_events_record

    subscribe()
    log_call(dispatcher=dispatcher)
    delivery = WebhookDelivery.objects.get()
    from servicedesk.events import Event

    again = Event(
        name=CALL_LOGGED,
        object_type="repair_call",
        object_id=1,
        unit_id=None,
        data={},
        at=timezone.now(),
        id=str(delivery.event_id),
    )
    webhook_events_record([again])
    assert WebhookDelivery.objects.count() == 1


def test_a_failing_receiver_backs_off_exponentially_then_pauses_and_resume_sends_once(
    subscribe, receiver, dispatcher, supervisor
):
    from django.contrib.auth.models import Permission

    subscription = subscribe(pause_after=3)
    receiver.answer = 500
    log_call(dispatcher=dispatcher)
    delivery = WebhookDelivery.objects.get()
    t0 = timezone.now()
    webhook_deliveries_send_due(now=t0)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.status) == (1, 500, "pending")
    assert delivery.next_attempt_at == t0 + RETRY_FIRST
    assert webhook_deliveries_send_due(now=t0 + RETRY_FIRST - dt.timedelta(seconds=1)) == 0
    assert len(receiver.requests) == 1  # not due yet: nothing sent
    t1 = t0 + RETRY_FIRST
    webhook_deliveries_send_due(now=t1)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == t1 + 2 * RETRY_FIRST  # doubled
    t2 = delivery.next_attempt_at
    webhook_deliveries_send_due(now=t2)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 3 and subscription.paused_at is not None
    # Paused: nothing is sent however late it gets, and new events wait too.
    log_call(dispatcher=dispatcher)
    assert webhook_deliveries_send_due(now=t2 + dt.timedelta(days=2)) == 0
    assert len(receiver.requests) == 3
    assert len(set(receiver.ids())) == 1  # three attempts, one event id

    receiver.answer = 200
    supervisor.user_permissions.add(Permission.objects.get(codename="change_webhooksubscription"))
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)
    webhook_subscription_resume(user=supervisor, subscription_id=subscription.pk)
    assert webhook_deliveries_send_due() == 2
    assert sorted(receiver.processed.values()) == [1, 1]
    assert not receiver.replayed
    subscription.refresh_from_db()
    assert subscription.paused_at is None and subscription.consecutive_failures == 0


def test_an_unreachable_receiver_is_a_failure_not_a_crash(subscribe, dispatcher):
    subscribe(url="http://127.0.0.1:9/nothing-listens-here")
    log_call(dispatcher=dispatcher)
    assert webhook_deliveries_send_due() == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_status_code is None and "Connection" in delivery.last_error


def test_a_retried_delivery_carries_the_same_id_and_the_receiver_knows_it_replayed(subscribe, receiver, dispatcher):
    subscribe()
    receiver.answer = "process-then-500"  # the receiver did the work but its answer was lost
    log_call(dispatcher=dispatcher)
    t0 = timezone.now()
    webhook_deliveries_send_due(now=t0)
    receiver.answer = 200
    webhook_deliveries_send_due(now=t0 + retry_delay(1))
    first, second = receiver.requests
    assert first[0] == second[0] and first[1] == second[1]
    assert receiver.replayed == [first[0]] and receiver.processed[first[0]] == 1
    assert WebhookDelivery.objects.get().status == "delivered"


def test_the_signature_refuses_a_changed_body_another_secret_and_an_old_timestamp():
    body = json.dumps({"id": "e1"}).encode()
    now = int(time.time())
    header = signature_header(secret="whsec_a", timestamp=now, body=body)
    assert signature_verify(secret="whsec_a", header=header, body=body, now=now)
    assert not signature_verify(secret="whsec_a", header=header, body=body + b" ", now=now)
    assert not signature_verify(secret="whsec_b", header=header, body=body, now=now)
    assert not signature_verify(secret="whsec_a", header=header, body=body, now=now + 301)  # a replay, later
    assert not signature_verify(secret="whsec_a", header="v1=abc", body=body, now=now)
    assert header.startswith(f"t={now},v1=")


def test_gives_up_after_the_last_attempt_and_keeps_the_log(subscribe, receiver, dispatcher, monkeypatch):
    from webhooks import services as webhook_services

    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 2)
    subscribe(pause_after=100)
    receiver.answer = 503
    log_call(dispatcher=dispatcher)
    t0 = timezone.now()
    webhook_deliveries_send_due(now=t0)
    webhook_deliveries_send_due(now=t0 + retry_delay(1))
    webhook_deliveries_send_due(now=t0 + dt.timedelta(days=1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 2, "HTTP 503")
    assert len(receiver.requests) == 2
