"""The live dispatch board in headless Chromium, served by uvicorn as in production (issue 16).

Two boards open at once: a change made in one (or by a service) reaches the other by the push stream;
the keyboard focus and the scroll position stay where they were; a board of another unit never hears of
it; with the push channel down the board polls by itself and says so; a call is dispatched from its row.
"""

import json
import re

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from repairs.models import RepairCall
from servicedesk.push import push_pause
from servicedesk.roles import Role
from tests.asgi import asgi_server
from tests.browser import launched_chromium
from tests.factories import UserFactory, log_call
from tests.repairs.test_browser_dispatch import CSP_LISTENER, PASSWORD, PageProblems

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # The push channel is Redis: without REDIS_URL (the embedded default) boards poll, as servicedesk/push.py says.
    pytest.mark.skipif(not settings.REDIS_URL, reason="the push channel needs Redis (set REDIS_URL); CI has one"),
]

TIMEOUT_MS = 15_000
# Polling (the fallback) reads the rows every 10 s: a wait for a polled change allows two rounds.
POLL_WAIT_MS = 25_000


@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser
        connections.close_all()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_server() as running:
        yield running


def _board(browser, server, username, **options):
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems = PageProblems(page)
    page.goto(server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/calls/.*"))
    page.goto(server.url + reverse("repairs:board"))
    return context, page, problems


def _until(page, check, *, what: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until ``check()`` holds, polling (no wait_for_function: the page's CSP forbids evaluating a string)."""
    for _ in range(timeout_ms // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still waiting for {what}")


def _wait_live(page, *, reads: int = 1):
    page.wait_for_selector("#board-live[data-mode=live]")
    _until(page, lambda: _refreshes(page).get("ready", 0) >= reads, what=f"{reads} read(s) of the rows on connecting")


def _refreshes(page) -> dict:
    return json.loads(page.get_attribute("#board-live", "data-refreshes") or "{}")


def _row(page, call):
    return page.locator(f"#board tr[data-call='{call.number}']")


def test_a_change_in_one_board_reaches_the_other_by_push_and_dispatch_works_from_the_row(
    chromium_browser, server, dispatcher, technician
):
    colleague = UserFactory(username="dispatcher-2", unit=dispatcher.unit, roles=[Role.DISPATCHER])
    waiting = log_call(dispatcher=dispatcher, problem="Press stops")
    first, page_1, problems_1 = _board(chromium_browser, server, dispatcher.username)
    second, page_2, problems_2 = _board(chromium_browser, server, colleague.username)
    try:
        _wait_live(page_1)
        _wait_live(page_2)
        assert "Live" in page_2.inner_text("#board-live-status")

        # Dispatched from a row of the first board: the second shows the technician, told by the push.
        row = _row(page_1, waiting)
        row.locator("select[name=technician]").select_option(str(technician.pk))
        row.get_by_role("button", name="Dispatch").click()
        page_2.locator(f"#board tr[data-call='{waiting.number}'][data-status=dispatched]").wait_for()
        assert str(technician) in _row(page_2, waiting).locator("td.technician").inner_text()
        waiting.refresh_from_db()
        assert waiting.status == RepairCall.Status.DISPATCHED and waiting.technician == technician
        assert page_2.get_attribute("#board-live", "data-last-refresh") == "push"
        assert _refreshes(page_2).get("poll", 0) == 0  # not the fallback: it never polled

        # A call logged elsewhere: highlighted, counted in the tab title, announced.
        title = page_2.title()
        new = log_call(dispatcher=dispatcher, problem="Leaking valve")
        _row(page_2, new).wait_for()
        assert "row-new" in _row(page_2, new).get_attribute("class")
        assert page_2.title() == f"(1) {title}"
        page_2.wait_for_function(
            "(number) => document.getElementById('board-announcer').textContent.includes(number)", arg=new.number
        )
        assert page_2.get_attribute("#board-live", "data-last-refresh") == "push"
        assert server.hub().delivered >= 4  # two boards, two changes, each through the hub
        problems_1.assert_none("first board")
        problems_2.assert_none("second board")
    finally:
        first.close()
        second.close()


def test_an_error_of_the_dispatch_service_is_shown_in_the_row(chromium_browser, server, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    context, page, problems = _board(chromium_browser, server, dispatcher.username)
    try:
        _wait_live(page)
        row = _row(page, call)
        row.locator("select[name=technician]").select_option(str(technician.pk))
        technician.is_active = False  # left the company after the board was drawn
        technician.save(update_fields=["is_active"])
        row.get_by_role("button", name="Dispatch").click()
        error = row.locator(".board-row-error")
        error.wait_for(state="visible")
        assert error.inner_text().strip()
        call.refresh_from_db()
        assert call.status == RepairCall.Status.LOGGED
        # The refused dispatch answers 400, which the console reports; nothing else may complain.
        assert [p for p in problems.collect() if "status of 400" not in p] == []
    finally:
        context.close()


def test_a_pushed_refresh_keeps_the_keyboard_focus_and_the_scroll_position(
    chromium_browser, server, dispatcher, technician
):
    calls = [log_call(dispatcher=dispatcher, problem=f"Fault {i}") for i in range(30)]
    context, page, problems = _board(
        chromium_browser, server, dispatcher.username, viewport={"width": 1200, "height": 500}
    )
    try:
        _wait_live(page)
        target = calls[20]
        picker = _row(page, target).locator("select[name=technician]")
        picker.focus()
        page.evaluate("window.scrollTo(0, 400)")
        scrolled = page.evaluate("window.scrollY")
        assert scrolled > 0
        before = _refreshes(page).get("push", 0)
        log_call(dispatcher=dispatcher, problem="One more")
        page.wait_for_function(
            "(before) => JSON.parse(document.getElementById('board-live').dataset.refreshes).push > before", arg=before
        )
        focused = page.evaluate(
            "[document.activeElement.tagName, document.activeElement.name,"
            " document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.call]"
        )
        assert focused == ["SELECT", "technician", target.number]
        assert page.evaluate("window.scrollY") == scrolled
        problems.assert_none("board")
    finally:
        context.close()


def test_a_board_of_another_unit_never_hears_of_the_change(
    chromium_browser, server, dispatcher, other_dispatcher, head_office
):
    manager = UserFactory(username="ho-manager", unit=head_office, roles=[Role.DISPATCHER])
    a_context, a_page, _ = _board(chromium_browser, server, dispatcher.username)
    b_context, b_page, _ = _board(chromium_browser, server, other_dispatcher.username)
    ho_context, ho_page, _ = _board(chromium_browser, server, manager.username)
    try:
        for page in (a_page, b_page, ho_page):
            _wait_live(page)
        b_call = log_call(dispatcher=other_dispatcher, problem="B only")
        _row(b_page, b_call).wait_for()
        _row(ho_page, b_call).wait_for()  # head office hears of every unit
        # Then a change of unit A: pub/sub keeps the order, so had A's board heard of B's change it would
        # have counted it first.
        a_call = log_call(dispatcher=dispatcher, problem="A only")
        _row(a_page, a_call).wait_for()
        assert _refreshes(a_page).get("push") == 1
        assert _row(a_page, b_call).count() == 0
        assert _row(b_page, a_call).count() == 0
    finally:
        a_context.close()
        b_context.close()
        ho_context.close()


def test_with_the_push_channel_down_the_board_polls_and_says_so(chromium_browser, server, dispatcher, settings):
    context, page, problems = _board(chromium_browser, server, dispatcher.username)
    try:
        _wait_live(page)
        settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down for the push
        server.take_push_down()
        page.wait_for_selector("#board-live[data-mode=polling]")
        assert "unavailable" in page.inner_text("#board-live-status")
        call = log_call(dispatcher=dispatcher, problem="Logged while the push is down")
        _row(page, call).wait_for(timeout=POLL_WAIT_MS)
        assert page.get_attribute("#board-live", "data-last-refresh") == "poll"
        assert _refreshes(page).get("push", 0) == 0
        problems.assert_none("board")
    finally:
        context.close()


def test_the_board_goes_live_again_by_itself_once_the_push_is_back(
    chromium_browser, server, dispatcher, settings, monkeypatch
):
    from repairs.views import calls as call_views

    monkeypatch.setattr(call_views, "BOARD_RETRY_SECONDS", 2)  # the page tries the push again every 2 s
    working = settings.REDIS_URL
    context, page, problems = _board(chromium_browser, server, dispatcher.username)
    try:
        _wait_live(page)
        settings.REDIS_URL = "redis://127.0.0.1:1/0"  # Redis is down for the push
        server.take_push_down()
        page.wait_for_selector("#board-live[data-mode=polling]")
        assert "unavailable" in page.inner_text("#board-live-status")
        assert page.get_attribute("#board-live-status", "role") == "status"  # the change of mode is announced
        during = log_call(dispatcher=dispatcher, problem="Logged while the push is down")

        # Redis is back: the page's next try of the stream finds it and the board is live again.
        settings.REDIS_URL = working
        push_pause.end()  # the failed publish paused push for this process; the outage is over
        page.wait_for_selector("#board-live[data-mode=live]", timeout=POLL_WAIT_MS)
        assert "Live" in page.inner_text("#board-live-status")
        _row(page, during).wait_for(timeout=POLL_WAIT_MS)  # nothing made meanwhile is lost
        _until(page, lambda: _refreshes(page).get("ready", 0) >= 2, what="the rows read again on reconnecting")

        polls = _refreshes(page).get("poll", 0)
        after = log_call(dispatcher=dispatcher, problem="Logged once the push is back")
        _row(page, after).wait_for()
        assert page.get_attribute("#board-live", "data-last-refresh") == "push"
        assert _refreshes(page).get("poll", 0) == polls  # live again: the board no longer polls
        problems.assert_none("board")
    finally:
        context.close()
