"""A real Celery worker (through the Redis broker) delivers webhooks: the commit of a change kicks it, and the
periodic sweep run twice sends nothing twice."""

import os

import pytest

from tests.factories import log_call
from tests.servicedesk.test_worker import _quiet, worker  # noqa: F401 - the worker fixture
from webhooks.models import WebhookDelivery
from webhooks.tasks import deliver_webhooks

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (set REDIS_URL); CI has one"),
]

DELIVER = "webhooks.tasks.deliver_webhooks"


def test_the_commit_kicks_the_worker_which_delivers_each_event_once(worker, subscribe, receiver, dispatcher):  # noqa: F811
    subscribe(events=["call.logged"])
    calls = [log_call(dispatcher=dispatcher) for _ in range(3)]  # each commits at once and kicks the worker
    worker.wait_for(DELIVER, 1)
    deliver_webhooks.delay()  # beat's sweep, twice, on top of the kicks
    deliver_webhooks.delay()
    worker.wait_for(DELIVER, 3)
    _quiet(worker)
    assert sorted(payload["object"]["id"] for _id, payload, _valid in receiver.requests) == sorted(c.pk for c in calls)
    assert all(valid for _id, _payload, valid in receiver.requests)
    assert len(set(receiver.ids())) == len(receiver.ids()) == 3
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
