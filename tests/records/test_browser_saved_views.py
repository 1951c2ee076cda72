"""Headless Chromium: a dispatcher filters the call history, saves the filters as a shared view, makes it the
default; a colleague of the unit applies it from the picker. Pages are checked for console errors,
uncaught exceptions and Content-Security-Policy violations."""

import re

import pytest
from django.db import connections
from django.urls import reverse

from records.models import DefaultView, SavedView
from repairs import services
from servicedesk.roles import Role
from tests.browser import launched_chromium
from tests.factories import UserFactory, log_call
from tests.repairs.test_browser_dispatch import PASSWORD, _open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser
        connections.close_all()


def _log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/calls/.*"))


def _rows(page):
    return page.locator("#calls tbody tr[data-call]").evaluate_all("rows => rows.map(r => r.dataset.call)")


def test_a_dispatcher_saves_a_view_makes_it_default_and_a_colleague_applies_it(
    chromium_browser, live_server, dispatcher
):
    kept = log_call(dispatcher=dispatcher, problem="打印机卡纸")
    cancelled = log_call(dispatcher=dispatcher, problem="漏水")
    services.repair_call_cancel(user=dispatcher, call_id=cancelled.pk, reason="Solved by phone")
    UserFactory(username="colleague", unit=dispatcher.unit, roles=[Role.DISPATCHER])

    context, page, problems = _open_page(chromium_browser, live_server, viewport={"width": 1366, "height": 900})
    try:
        _log_in(page, live_server, "dispatcher")
        page.goto(live_server.url + reverse("records:calls"))
        assert set(_rows(page)) == {kept.number, cancelled.number}
        page.select_option("#id_status", "cancelled")
        page.locator("#call-filters").get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r".*status=cancelled.*"))
        assert _rows(page) == [cancelled.number]
        problems.assert_none("filtered call history")

        page.fill(".save-view input[name=name]", "Cancelled calls")
        page.locator(".save-view input[name=shared]").check()
        page.locator(".save-view").get_by_role("button", name="Save these filters").click()
        page.wait_for_selector("text=saved.")
        view = SavedView.objects.get(name="Cancelled calls")
        assert view.querystring == "status=cancelled" and view.shared

        page.locator('.saved-view[data-name="Cancelled calls"]').get_by_role("button", name="Make default").click()
        page.wait_for_selector("text=is now your default view")
        assert DefaultView.objects.get(user=dispatcher, page="calls").view == view
        # Opening the page without filters applies the default.
        page.goto(live_server.url + reverse("records:calls"))
        page.wait_for_url(re.compile(r".*status=cancelled.*"))
        assert _rows(page) == [cancelled.number]
        problems.assert_none("default view")
    finally:
        context.close()

    context, page, problems = _open_page(chromium_browser, live_server, viewport={"width": 1366, "height": 900})
    try:
        _log_in(page, live_server, "colleague")
        page.goto(live_server.url + reverse("records:calls") + "?all=1")
        shared = page.locator('.saved-view[data-name="Cancelled calls"]')
        assert shared.get_by_role("button", name="Delete").count() == 0  # only the owner deletes it
        shared.get_by_role("link").first.click()
        page.wait_for_url(re.compile(r".*status=cancelled.*"))
        assert _rows(page) == [cancelled.number]
        problems.assert_none("colleague applies the shared view")
    finally:
        context.close()
