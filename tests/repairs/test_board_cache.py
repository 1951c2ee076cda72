"""The board's page cache: shared by a unit's dispatchers, never showing a call as it was before a change."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from repairs import board_cache, services
from repairs.models import Customer
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call

from .test_board import rows


def _board(client, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("repairs:board"), headers=headers)
    calls_read = [q for q in queries.captured_queries if 'FROM "repairs_repaircall"' in q["sql"]]
    return response, len(calls_read)


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def test_a_units_dispatchers_share_one_read_of_the_calls(client, unit, dispatcher):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response, reads = _board(client)
    assert rows(response) == [call.number] and reads
    client.force_login(UserFactory(unit=unit, roles=[Role.DISPATCHER]))
    response, reads = _board(client)
    assert rows(response) == [call.number] and reads == 0


def test_each_change_to_a_call_shows_at_the_next_refresh(desk, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    _board(desk)
    second = log_call(dispatcher=dispatcher)
    response, reads = _board(desk)
    assert set(rows(response)) == {call.number, second.number} and reads
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    response, _ = _board(desk)
    assert str(technician) in response.text
    services.repair_call_cancel(user=dispatcher, call_id=second.pk, reason="Customer fixed it")
    response, _ = _board(desk)
    assert rows(response) == [call.number]


def test_head_office_sees_a_change_in_any_unit_at_once(client, dispatcher, head_office_user):
    client.force_login(head_office_user)
    _board(client)
    call = log_call(dispatcher=dispatcher)
    response, reads = _board(client)
    assert call.number in rows(response) and reads


def test_another_unit_never_gets_a_cached_page(client, dispatcher, other_dispatcher):
    mine = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    _board(client)
    client.force_login(other_dispatcher)
    response, reads = _board(client)
    assert mine.number not in response.text and reads


def test_a_lost_version_token_reads_the_database_again(desk, dispatcher):
    call = log_call(dispatcher=dispatcher)
    _board(desk)
    # An edit that is not a call's change (a customer renamed) waits for the page to expire ...
    Customer.objects.filter(pk=call.customer_id).update(name="Renamed Customer Ltd")
    assert "Renamed Customer Ltd" not in _board(desk)[0].text
    # ... or for the unit's token to go (evicted): a new token, never the old page.
    cache.delete(board_cache._token_key(dispatcher.unit_id))
    response, reads = _board(desk)
    assert "Renamed Customer Ltd" in response.text and reads


def test_a_page_is_kept_for_a_minute_at_most(desk, dispatcher, monkeypatch):
    log_call(dispatcher=dispatcher)
    kept = []
    real_set = cache.set

    def keep(key, value, timeout=None, **kwargs):
        kept.append((key, timeout))
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache, "set", keep)
    _board(desk)
    assert [timeout for key, timeout in kept if "-page:" in key] == [board_cache.PAGE_SECONDS]
    assert board_cache.PAGE_SECONDS <= 60


UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
        "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    },
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}


def test_the_board_and_call_changes_work_without_the_cache(desk, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    with override_settings(CACHES=UNREACHABLE):
        response, reads = _board(desk)
        assert rows(response) == [call.number] and reads
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        response, reads = _board(desk)
        assert str(technician) in response.text and reads


def test_after_a_cache_failure_the_board_leaves_the_cache_alone_for_a_while(desk, dispatcher, monkeypatch):
    call = log_call(dispatcher=dispatcher)
    with override_settings(CACHES=UNREACHABLE):
        _board(desk)
    attempts = []
    for read in ("get", "get_many"):
        monkeypatch.setattr(cache, read, lambda *a, _read=read, **k: attempts.append(_read) or {})
    response, reads = _board(desk)  # the cache is back, but this process waits out the pause
    assert rows(response) == [call.number] and reads and not attempts
    board_cache.cache_pause.end()
    _board(desk)
    assert attempts
