"""Drilling down from a dashboard figure to the calls behind it, in headless Chromium."""

import pytest
from django.urls import reverse

from servicedesk.roles import Role
from tests.browser import launched_chromium
from tests.factories import UserFactory, log_call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_supervisor_clicks_the_calls_received_and_sees_those_calls(live_server, dispatcher, unit):
    call = log_call(dispatcher=dispatcher, contact_name="钱先生")
    supervisor = UserFactory(username="boss", unit=unit, roles=[Role.SUPERVISOR])
    with launched_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", supervisor.username)
        page.fill("#id_password", "pw")
        page.press("#id_password", "Enter")
        page.wait_for_load_state()
        page.goto(live_server.url + reverse("dashboard:index"))
        figure = page.locator("#dashboard-table a[data-figure=received]").first
        assert figure.inner_text() == "1"
        assert page.locator("svg.trend-chart").count() >= 1
        figure.click()
        page.wait_for_load_state()
        assert call.number in page.content()
        assert f"unit={unit.pk}" in page.url or "zone=" in page.url
        context.close()
    assert problems == []
