"""The live board's server side (issue 16): what is published and to whom, the stream's scope, dispatch
from a row through the dispatch service, the technicians' timeline in a fixed number of queries."""

import asyncio
import datetime as dt
import json

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.board_cache import board_changed
from repairs.models import RepairCall
from repairs.selectors_timeline import technician_timeline
from servicedesk import push
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call


@pytest.fixture
def subscriber():
    """A Redis subscriber on every push channel of this deployment: what was really published."""
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set; the push needs Redis")
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(push.channel_name(topic="*", scope="").rstrip(":"))
    pubsub.get_message(timeout=1)

    def published() -> list[str]:
        channels = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            channels.append(message["channel"].decode().rsplit(":", 2)[-2:])
        return [":".join(c) for c in channels]

    yield published
    pubsub.close()
    client.close()


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_is_published_once_to_its_unit_and_to_head_office(subscriber, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    assert subscriber() == [f"board:{dispatcher.unit_id}", "board:all"]
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert subscriber() == [f"board:{dispatcher.unit_id}", "board:all"]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_before_the_commit(subscriber, dispatcher):
    with transaction.atomic():
        log_call(dispatcher=dispatcher)
        assert subscriber() == []  # the boards would read rows not yet visible
    assert subscriber() == [f"board:{dispatcher.unit_id}", "board:all"]


@pytest.mark.django_db(transaction=True)
def test_marking_calls_overdue_tells_their_boards(subscriber, dispatcher):
    call = log_call(dispatcher=dispatcher)
    subscriber()
    services.repair_calls_mark_overdue(now=call.attend_by + dt.timedelta(minutes=1))
    assert subscriber() == [f"board:{dispatcher.unit_id}", "board:all"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_publish_pauses_the_push_and_never_fails_the_change(dispatcher, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    board_changed(unit_id=dispatcher.unit_id)
    assert push.push_pause.active()
    assert "push unavailable" in caplog.text


async def _read_stream(response, *, until: str, limit: int = 10) -> list[str]:
    """The stream's events, up to the first event named ``until`` (or ``limit`` events)."""
    events = []
    iterator = response.streaming_content.__aiter__()
    while len(events) < limit:
        chunk = await asyncio.wait_for(iterator.__anext__(), timeout=10)
        chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
        for line in chunk.splitlines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
        if until in events:
            break
    await iterator.aclose()
    return events


@pytest.mark.django_db(transaction=True)
def test_the_stream_of_unit_a_carries_only_unit_a_changes(subscriber, dispatcher, other_dispatcher):
    """A-unit's board listens on A's scope: B's change is published, and never reaches it."""

    async def scenario():
        client = AsyncClient()
        await client.aforce_login(dispatcher)
        response = await client.get(reverse("repairs:board_stream"))
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        iterator = response.streaming_content.__aiter__()
        first = await asyncio.wait_for(iterator.__anext__(), timeout=10)
        assert "event: ready" in (first.decode() if isinstance(first, bytes) else first)
        # B's change, then A's: pub/sub keeps the order, so B's would come first had it been sent here.
        await asyncio.to_thread(board_changed, unit_id=other_dispatcher.unit_id)
        await asyncio.to_thread(board_changed, unit_id=dispatcher.unit_id)
        chunk = await asyncio.wait_for(iterator.__anext__(), timeout=10)
        await iterator.aclose()
        return chunk.decode() if isinstance(chunk, bytes) else chunk

    chunk = async_to_sync(scenario)()
    assert chunk.startswith("event: board")
    assert json.loads(chunk.split("data: ", 1)[1]) == {"topic": "board"}  # no row, no unit: only "changed"


def test_a_user_of_no_unit_gets_no_stream(client, db):
    client.force_login(UserFactory(username="nobody", unit=None, roles=[Role.DISPATCHER]))
    assert client.get(reverse("repairs:board_stream")).status_code == 403


def test_under_wsgi_the_stream_says_unavailable_at_once(client, dispatcher):
    """A WSGI worker would be held for the stream's whole life: the board polls there instead."""
    client.force_login(dispatcher)
    response = client.get(reverse("repairs:board_stream"))
    assert response.status_code == 200 and not response.streaming
    assert response.content == b"event: unavailable\ndata: {}\n\n"


# --- Dispatch from a board row -----------------------------------------------------------------------


def _dispatch(client, call, technician, *, version=None):
    return client.post(
        reverse("repairs:board_dispatch", args=[call.pk]),
        {"technician": technician.pk, "version": call.version if version is None else version},
        headers={"Accept": "application/json"},
    )


def test_a_row_dispatches_its_call_through_the_dispatch_service(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    board = client.get(reverse("repairs:board")).text
    assert f'action="{reverse("repairs:board_dispatch", args=[call.pk])}"' in board
    response = _dispatch(client, call, technician)
    assert response.status_code == 200 and response.json()["ok"]
    call.refresh_from_db()
    assert call.status == RepairCall.Status.DISPATCHED and call.technician == technician


def test_a_row_seen_before_someone_else_changed_the_call_shows_the_error(client, dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    seen = call.version
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician_b)
    client.force_login(dispatcher)
    response = _dispatch(client, call, technician, version=seen)
    assert response.status_code == 400
    assert "changed by someone else" in response.json()["message"]
    call.refresh_from_db()
    assert call.technician == technician_b


def test_another_units_call_cannot_be_dispatched_from_a_row(client, dispatcher, other_dispatcher, other_technician):
    call = log_call(dispatcher=other_dispatcher)
    client.force_login(dispatcher)
    assert _dispatch(client, call, other_technician).status_code == 404
    call.refresh_from_db()
    assert call.status == RepairCall.Status.LOGGED


def test_without_javascript_the_row_posts_and_comes_back_to_the_board(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.post(
        reverse("repairs:board_dispatch", args=[call.pk]), {"technician": technician.pk, "version": call.version}
    )
    assert response.status_code == 302 and response.url == reverse("repairs:board")


# --- The technicians' timeline ------------------------------------------------------------------------


def _week_of_work(dispatcher, technician, *, calls: int):
    now = timezone.now()
    for i in range(calls):
        call = log_call(dispatcher=dispatcher)
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        if i % 2:
            services.repair_call_record_arrival(user=technician, call_id=call.pk, now=now)
    return now


def test_the_timeline_shows_visits_calls_to_attend_and_planned_work(client, dispatcher, technician, technician_b):
    now = _week_of_work(dispatcher, technician, calls=2)
    timeline = technician_timeline(user=dispatcher, now=now)
    rows = {row.technician_id: row for row in timeline.technicians}
    assert set(rows) == {technician.pk, technician_b.pk}
    assert "on_site" in [entry.kind for entry in rows[technician.pk].today]
    # The call still to attend shows on its deadline's day (today, or tomorrow for a call logged late).
    week = [entry.kind for day in rows[technician.pk].days for entry in day]
    assert sorted(week) == ["on_site", "to_attend"] or timezone.localtime(now).weekday() == 6
    assert rows[technician.pk].on_site and not rows[technician.pk].free_today
    assert rows[technician_b.pk].free_today
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:dispatch_timeline")).text
    assert "free today" in page and "on site" in page


def test_the_timeline_runs_the_same_queries_for_2_calls_and_20(client, dispatcher, technician, technician_b):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(dispatcher)
    url = reverse("repairs:dispatch_timeline")
    client.get(url)
    _week_of_work(dispatcher, technician, calls=2)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _week_of_work(dispatcher, technician_b, calls=18)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few), f"{len(few)} queries for 2 calls, {len(many)} for 20"


def test_the_timeline_shows_only_the_users_unit(client, dispatcher, technician, other_dispatcher, other_technician):
    _week_of_work(other_dispatcher, other_technician, calls=2)
    timeline = technician_timeline(user=dispatcher, now=timezone.now())
    assert [row.technician_id for row in timeline.technicians] == [technician.pk]
    assert timeline.technicians[0].today == []
