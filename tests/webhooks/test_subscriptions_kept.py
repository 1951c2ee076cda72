"""The active subscriptions are kept per process between changes (issue 17): every change is heard at once."""

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from servicedesk.events import CALL_LOGGED
from tests.factories import log_call
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription


def _heard(event_name=CALL_LOGGED):
    return WebhookDelivery.objects.filter(event_name=event_name).values_list("subscription_id", flat=True)


def test_a_subscription_added_changed_or_deleted_is_heard_from_the_next_event(subscribe, dispatcher):
    first = subscribe()
    log_call(dispatcher=dispatcher)  # the list is read and kept
    second = subscribe()
    log_call(dispatcher=dispatcher)
    assert sorted(_heard()) == sorted([first.pk, first.pk, second.pk])
    first.is_active = False
    first.save()
    second.events = ["call.dispatched"]
    second.save()
    WebhookDelivery.objects.all().delete()
    log_call(dispatcher=dispatcher)
    assert list(_heard()) == []
    second.events = [CALL_LOGGED]
    second.save()
    log_call(dispatcher=dispatcher)
    assert list(_heard()) == [second.pk]
    WebhookSubscription.objects.filter(pk=second.pk).delete()
    assert services.active_subscriptions() == []


def test_an_event_reads_no_subscription_while_nothing_changed(subscribe, dispatcher):
    subscription = subscribe()
    services.active_subscriptions()
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as captured:
        assert [s.pk for s in services.active_subscriptions()] == [subscription.pk]
    assert captured.captured_queries == []


def test_without_the_cache_the_subscriptions_are_read_each_time(subscribe, dispatcher, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("get", "get_many", "set"):
        monkeypatch.setattr(cache, method, unreachable)
    first = subscribe()
    assert [s.pk for s in services.active_subscriptions()] == [first.pk]
    assert services.subscriptions_pause.active()
    second = subscribe()
    assert sorted(s.pk for s in services.active_subscriptions()) == sorted([first.pk, second.pk])


@pytest.mark.django_db(transaction=True)
def test_a_list_read_before_a_committed_change_is_not_used_after_it(subscribe, dispatcher):
    first = subscribe()
    assert [s.pk for s in services.active_subscriptions()] == [first.pk]
    second = subscribe()  # committed (autocommit): the token is replaced again after the commit
    assert sorted(s.pk for s in services.active_subscriptions()) == sorted([first.pk, second.pk])
