"""Headless Chromium: from a ruled case to an approved penalty and its printable notice.

The GM office opens the ruling, proposes it from the criteria table and adjusts it by the
person and the severity; a manager approves it; the notice answers as a PDF. Each page is
checked for console errors, uncaught exceptions and Content-Security-Policy violations.
"""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from penalties.models import PenaltyRuling
from tests.browser import launched_chromium

from .conftest import make_ruled_case

PASSWORD = "pw"  # tests.factories.UserFactory
TIMEOUT_MS = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser


def _page(browser, *, phone=False):
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    return context, page


def assert_no_problems(page, where):
    problems = page.problems + [f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
    assert not problems, f"{where}: {problems}"


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_from_a_ruled_case_to_an_approved_penalty_and_its_notice(
    chromium_browser, live_server, unit, technician, gm_office, manager
):
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=["2400.00"])

    gm_context, gm = _page(chromium_browser)
    try:
        log_in(gm, live_server, "gmoffice")
        gm.get_by_role("link", name="Penalties", exact=True).click()
        gm.wait_for_url(re.compile(r".*/penalties/$"))
        row = gm.locator(f"#awaiting tr[data-case='{case.number}']")
        row.get_by_role("button", name="Open ruling").click()
        gm.wait_for_url(re.compile(r".*/penalties/\d+/$"))
        assert "Draft" in gm.locator("#ruling-status").inner_text()
        assert_no_problems(gm, "draft ruling")

        gm.locator("#propose").click()
        gm.wait_for_selector("#ruling-status:has-text('Proposed')")
        ruling = PenaltyRuling.objects.get(case=case)
        line = ruling.lines.get()
        assert "Minor demerit" in gm.locator(f"#lines tr[data-line='{line.pk}']").inner_text()
        assert "Why:" in gm.locator("#lines").inner_text()
        assert_no_problems(gm, "proposed ruling")

        # The GM office weighs the person and the severity: two base units instead of one.
        gm.locator("summary", has_text="Adjust by the person and the severity").click()
        gm.fill(f"#id_line{line.pk}-base_units", "2")
        gm.fill(f"#id_line{line.pk}-reason", "Second complaint about this technician this year")
        gm.get_by_role("button", name="Adjust").click()
        gm.wait_for_selector("#total-deduction:has-text('1600.00')")
        assert gm.locator("#approve").count() == 0  # the GM office proposes; a manager approves
        assert_no_problems(gm, "adjusted ruling")
    finally:
        gm_context.close()

    manager_context, boss = _page(chromium_browser, phone=True)
    try:
        log_in(boss, live_server, "depthead")
        boss.goto(live_server.url + ruling.get_absolute_url())
        # Approval can never be undone: the page asks first, and "Cancel" sends nothing.
        questions = []
        boss.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        boss.locator("#approve").click()
        boss.wait_for_timeout(300)
        ruling.refresh_from_db()
        assert ruling.status == ruling.Status.PROPOSED and "never changes" in questions[0]
        boss.once("dialog", lambda dialog: dialog.accept())
        boss.locator("#approve").click()
        boss.wait_for_selector("#ruling-status:has-text('Approved')")
        assert_no_problems(boss, "approved ruling")
        notice = boss.locator(f"a[data-notice='{line.pk}']")
        href = notice.get_attribute("href")
        response = boss.request.get(live_server.url + href)
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.body()[:5] == b"%PDF-"
    finally:
        manager_context.close()

    ruling.refresh_from_db()
    assert (ruling.status, ruling.approved_by, ruling.total_deduction) == ("approved", manager, Decimal("1600.00"))
