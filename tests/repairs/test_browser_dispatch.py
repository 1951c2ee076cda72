"""Headless Chromium drives the real pages: log a call, dispatch it, see it on the board; a technician's phone.

Each page is checked for console errors, uncaught exceptions and Content-Security-Policy violations.
Set SERVICEDESK_SCREENSHOT_DIR to keep screenshots of the pages the tests visit.
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from repairs import services
from repairs.models import RepairCall, Zone
from tests.browser import launched_chromium
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call

PASSWORD = "pw"  # tests.factories.UserFactory
TIMEOUT_MS = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Collects CSP violations from the page itself (init scripts run outside the page's CSP).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def chromium_browser():
    """One Chromium for this module's tests.

    Module scope, not session: while Playwright runs, the thread counts as inside an event loop
    (Django then gives it other database connections), which the other tests should not inherit.
    """
    with launched_chromium() as browser:
        yield browser
        connections.close_all()  # the connections opened while Playwright ran


class PageProblems:
    """Everything a page complained about: console errors, uncaught exceptions, CSP violations."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def collect(self) -> list[str]:
        violations = self.page.evaluate("window.__cspViolations || []")
        return self.errors + [f"CSP: {v}" for v in violations]

    def assert_none(self, where: str) -> None:
        problems = self.collect()
        assert not problems, f"{where}: {problems}"


def _open_page(browser, live_server, **context_options):
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems = PageProblems(page)
    return context, page, problems


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("SERVICEDESK_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/calls/.*"))


def _page_fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_dispatcher_logs_dispatches_and_sees_the_calls_on_the_board(
    chromium_browser, live_server, dispatcher, technician
):
    customer = CustomerFactory(unit=dispatcher.unit, name="Huadong Steel", phone="021-6234-5678")
    site = SiteFactory(customer=customer, address="88 Jiangning Road", zone=Zone.objects.get(code="urban"))
    ProductFactory(customer=customer, serial_number="HX-2026-0042")

    context, page, problems = _open_page(chromium_browser, live_server, viewport={"width": 1366, "height": 900})
    try:
        _log_in(page, live_server, "dispatcher")
        problems.assert_none("board after login")

        # 1. An existing customer, found through the htmx look-up as the dispatcher types.
        page.get_by_role("link", name="Log a call").first.click()
        page.wait_for_url(re.compile(r".*/calls/new/$"))
        page.fill("#customer-search", "huadong")  # one input event: one htmx request after the 300 ms pause
        page.locator(f"#customer-{customer.pk}").check()
        page.locator(f"#site-{site.pk}").check()
        # Choosing the customer filled the empty phone from the customer record; the contact person comes from
        # the customer's last call (issue 16: never the company's name), and this customer has none yet.
        assert page.input_value("#id_contact_name") == ""
        assert page.input_value("#id_contact_phone") == "021-6234-5678"
        page.fill("#id_contact_name", "Mr Zhou")
        page.fill("#id_contact_phone", "138-0013-8000")
        page.fill("#id_problem", "Press brake stops after two minutes")
        problems.assert_none("call form")
        _screenshot(page, "call-log-desktop")
        page.get_by_role("button", name="Log call").click()
        page.wait_for_url(re.compile(r".*/calls/\d+/$"))
        call = RepairCall.objects.get(customer=customer)
        assert page.locator("h1").inner_text() == call.number
        assert call.site == site
        assert call.contact_name == "Mr Zhou"
        assert page.locator(".alert-success").inner_text().startswith(f"Call {call.number} logged")

        # 2. Dispatch it to the unit's technician on the call page.
        page.select_option("#action-dispatch select[name=technician]", str(technician.pk))
        page.locator("#action-dispatch").get_by_role("button", name="Dispatch").click()
        page.wait_for_selector("text=Technician assigned.")
        call.refresh_from_db()
        assert call.status == RepairCall.Status.DISPATCHED
        assert call.technician == technician
        assert "Assigned to" in page.locator("#history").inner_text()
        problems.assert_none("call page after dispatch")

        # 3. A second call for a new customer, created inline in the same form.
        page.goto(live_server.url + reverse("repairs:call_log"))
        page.locator("summary", has_text="New customer").click()
        page.fill("#id_new_customer_name", "Kunshan Precision Moulds")
        page.fill("#id_new_customer_phone", "0512-5777-1234")
        page.fill("#id_new_site_address", "5 Qianjin Road, Kunshan")
        page.select_option("#id_new_site_zone", str(Zone.objects.get(code="suburban").pk))
        page.fill("#id_contact_name", "Ms Xu")
        page.fill("#id_contact_phone", "0512-5777-1235")
        page.fill("#id_problem", "Hydraulic leak")
        page.get_by_role("button", name="Log call").click()
        page.wait_for_url(re.compile(r".*/calls/\d+/$"))
        second = RepairCall.objects.get(customer__name="Kunshan Precision Moulds")
        assert second.zone.code == "suburban"
        assert second.site.address == "5 Qianjin Road, Kunshan"

        # 4. Both are on the board, each with its deadline badge.
        page.get_by_role("link", name="Dispatch board").click()
        page.wait_for_url(re.compile(r".*/calls/$"))
        for logged, status in ((call, "Dispatched"), (second, "Logged")):
            row = page.locator(f"#board tr[data-call='{logged.number}']")
            row.wait_for()
            assert status in row.inner_text()
            badge = row.locator(".deadline .badge")
            assert re.fullmatch(r"\d+h \d\dm left", badge.inner_text()), badge.inner_text()
        assert "Huadong Steel" in page.locator(f"#board tr[data-call='{call.number}']").inner_text()
        assert _page_fits_width(page)
        _screenshot(page, "board-desktop")
        # On a phone the board scrolls inside its table; the page itself keeps the phone's width.
        page.set_viewport_size({"width": 390, "height": 844})
        assert _page_fits_width(page), "the board is wider than a phone"
        _screenshot(page, "board-phone")
        problems.assert_none("board")
    finally:
        context.close()


def test_technician_records_arrival_from_a_phone(chromium_browser, live_server, dispatcher, technician):
    call = log_call(dispatcher=dispatcher, problem="Conveyor motor overheats")
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)

    context, page, problems = _open_page(
        chromium_browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        _log_in(page, live_server, "tech")
        # A technician starts on "my calls".
        page.wait_for_url(re.compile(r".*/calls/mine/$"))
        card = page.locator(".card", has_text=call.number)
        assert "Conveyor motor overheats" in card.inner_text()
        assert _page_fits_width(page), "my calls is wider than the phone"
        _screenshot(page, "my-calls-phone")

        # The menu is collapsed on a phone and opens with the toggler.
        page.locator(".navbar-toggler").click()
        page.get_by_role("link", name="My calls").wait_for(state="visible")
        page.locator(".navbar-toggler").click()

        card.locator("a.call-link").click()  # the card's other link is the site on the map
        page.wait_for_url(re.compile(rf".*/calls/{call.pk}/$"))
        assert _page_fits_width(page), "the call page is wider than the phone"
        arrive = page.get_by_role("button", name="Arrived", exact=True)
        box = arrive.bounding_box()
        assert box["width"] > 300, "the action button should fill the phone's width"
        _screenshot(page, "call-phone")
        arrive.click()

        # Issue 14: the technician stays on the call (its voucher comes next); the time is the server's.
        page.wait_for_selector("text=Arrival recorded.")
        assert page.url.endswith(f"/calls/{call.pk}/")
        call.refresh_from_db()
        assert call.status == RepairCall.Status.ON_SITE
        assert call.arrived_at is not None and call.arrival_typed is False
        assert "attended in time" in page.inner_text("body")
        problems.assert_none("technician pages")
    finally:
        context.close()
