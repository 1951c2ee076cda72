"""Headless Chromium: the API's documentation page (Swagger UI from drf-spectacular-sidecar's files, no CDN)
renders under the site's Content-Security-Policy: the operations list appears, an operation opens, and the
page reports no console error, no uncaught exception and no CSP violation."""

import re

import pytest
from django.db import connections
from django.urls import reverse

from tests.browser import launched_chromium
from tests.repairs.test_browser_dispatch import _log_in, _open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser
        connections.close_all()  # the connections opened while Playwright ran


def test_the_docs_page_lists_the_operations_under_the_sites_csp(chromium_browser, live_server, dispatcher):
    context, page, problems = _open_page(chromium_browser, live_server, viewport={"width": 1366, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        _log_in(page, live_server, "dispatcher")
        response = page.goto(live_server.url + reverse("api:docs"))
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        # Swagger UI fetches the schema and draws one block per operation (a polling locator, not a JS string).
        calls_list = page.locator(
            ".opblock", has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/calls/$"))
        )
        calls_list.first.wait_for(state="visible")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert {f"/api/v1/{p}" for p in ("calls/", "calls/{id}/", "calls/{id}/dispatch/", "opinions/{id}/")} <= set(
            paths
        ), paths
        # Opening an operation draws its parameters and answers (more of the bundle's rendering, same CSP).
        calls_list.first.locator(".opblock-summary").first.click()
        calls_list.first.locator(".parameters, .responses-wrapper").first.wait_for(state="visible")
        problems.assert_none("API docs page")
        assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requests), requests
    finally:
        context.close()
