"""Headless Chromium drives the real pages: renew a contract from its renewal follow-up; import a file.

Each page is checked for console errors, uncaught exceptions and Content-Security-Policy violations.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract, ContractTerm, RenewalFollowUp
from contracts.services import contract_notices_issue
from tests.browser import launched_chromium
from tests.factories import CustomerFactory

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


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(
        locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    yield page
    context.close()


def assert_no_problems(page, where):
    problems = page.problems + [f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
    assert not problems, f"{where}: {problems}"


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_dispatcher_renews_a_contract_from_its_follow_up(page, live_server, dispatcher, make_contract):
    today = timezone.localdate()
    customer = CustomerFactory(unit=dispatcher.unit, name="Huadong Steel")
    contract = make_contract(
        user=dispatcher,
        customer=customer,
        start_on=today - dt.timedelta(days=340),
        end_on=today + dt.timedelta(days=12),
        handled_by=dispatcher,
    )
    first = contract.terms.get()
    contract_notices_issue(today=today)
    follow_up = RenewalFollowUp.objects.get(term=first)

    log_in(page, live_server, "dispatcher")
    page.get_by_role("link", name="Contracts").first.click()
    page.wait_for_url(re.compile(r".*/contracts/$"))
    row = page.locator(f"#contracts tr[data-contract='{contract.number}']")
    assert "Expiring" in row.inner_text()
    assert_no_problems(page, "contracts list")

    page.get_by_role("link", name=re.compile("Renewal follow-ups")).click()
    page.wait_for_url(re.compile(r".*/contracts/follow-ups/$"))
    page.locator(f"#follow-ups tr[data-contract='{contract.number}'] a").click()
    page.wait_for_url(re.compile(rf".*/contracts/follow-ups/{follow_up.pk}/$"))
    assert_no_problems(page, "follow-up page")

    # The renewal form is filled in with a term as long as this one, from the day after it ends.
    renew = page.locator("#renew")
    assert renew.locator("input[name=start_on]").input_value() == (first.end_on + dt.timedelta(days=1)).isoformat()
    renew.locator("input[name=fee]").fill("1800.00")
    renew.locator("select[name=visit_frequency]").select_option("monthly")
    renew.get_by_role("button", name="Renew contract").click()
    page.wait_for_url(re.compile(rf".*/contracts/{contract.pk}/$"))
    assert "renewed" in page.locator(".alert-success").inner_text()
    assert page.locator("#term-2").is_visible()
    assert_no_problems(page, "contract page after renewal")

    first.refresh_from_db()
    second = first.next_term
    assert first.status == ContractTerm.Status.RENEWED
    assert (second.sequence, second.start_on, str(second.fee), second.visit_frequency) == (
        2,
        first.end_on + dt.timedelta(days=1),
        "1800.00",
        "monthly",
    )
    follow_up.refresh_from_db()
    assert follow_up.status == RenewalFollowUp.Status.RENEWED
    # The follow-up no longer waits on the unit's list.
    page.goto(live_server.url + reverse("contracts:follow_ups"))
    assert page.locator(f"#follow-ups tr[data-contract='{contract.number}']").count() == 0


def test_dispatcher_imports_a_file_and_sees_the_bad_rows(page, live_server, dispatcher, contract_type, tmp_path):
    content = (
        "contract_number,customer_name,customer_phone,start_on,end_on,fee,serial_numbers,product_model\n"
        "W-1,Wuxi Pumps,0510-5555-0001,2030-04-01,2031-03-31,1200,SN-W1,P-1\n"
        "W-2,Wuxi Pumps,0510-5555-0001,2030-04-01,2029-03-31,1200,SN-W2,P-1\n"
    )
    path = tmp_path / "contracts.csv"
    path.write_text(content, encoding="utf-8")
    log_in(page, live_server, "dispatcher")
    page.goto(live_server.url + reverse("contracts:import"))
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r".*/contracts/import/\d+/$"))
    assert "nothing was imported" in page.locator("#import-message").inner_text()
    assert "3" in page.locator("#import-errors tbody tr").first.inner_text()
    assert_no_problems(page, "import report")
    page.get_by_role("button", name=re.compile("Import the 1 valid rows")).click()
    page.wait_for_selector("#import-message.alert-success")
    assert list(Contract.objects.values_list("number", flat=True)) == ["W-1"]
    assert_no_problems(page, "import done")
