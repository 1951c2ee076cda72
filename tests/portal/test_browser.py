"""A customer signs in with an SMS code and reports a fault on a phone (headless Chromium, 390×844)."""

import pytest

from repairs.models import CustomerContact, RepairCall, Zone
from tests.browser import launched_chromium
from tests.factories import CustomerFactory, OrgUnitFactory, ProductFactory, SiteFactory

from .conftest import sent_code

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

# Every visible thing a thumb taps, with its height when it is under 44 CSS pixels.
SMALL_TARGETS = """
() => [...document.querySelectorAll('a, button, input:not([type=hidden]), select, textarea, label.form-check-label')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => [
    el.tagName + ' ' + (el.innerText || el.name || '').trim().slice(0, 30),
    el.getBoundingClientRect().height,
  ])
  .filter(([, h]) => h < 44)
"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def phone():
    with launched_chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 404 else None)
        yield page, errors
        context.close()


def _fits_a_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert page.evaluate(SMALL_TARGETS) == []


def test_a_customer_signs_in_by_sms_code_and_reports_a_fault_on_a_phone(live_server, phone):
    unit = OrgUnitFactory(code="sh-centre", name="Shanghai Service Centre")
    customer = CustomerFactory(unit=unit, name="华东机械厂")
    site = SiteFactory(customer=customer, address="张江路 1 号", zone=Zone.objects.get(code="urban"))
    product = ProductFactory(customer=customer, site=site, model="SX-200", serial_number="SN-BROWSER-1")
    contact = CustomerContact.objects.create(customer=customer, name="王经理", mobile="13800138000")
    page, errors = phone

    page.goto(f"{live_server.url}/portal/")
    assert "/portal/sign-in/" in page.url
    _fits_a_phone(page)
    page.locator("#id_address").fill("138 0013 8000")
    page.locator("#portal-sign-in button[type=submit]").tap()
    page.locator("#portal-code").wait_for()
    _fits_a_phone(page)
    page.locator("#id_code").fill(sent_code(contact.mobile))
    page.locator("#portal-code button[type=submit]").tap()
    page.wait_for_url(f"{live_server.url}/portal/")
    _fits_a_phone(page)

    page.locator("main a.btn-primary[href='/portal/calls/new/']").tap()
    page.locator("#portal-call").wait_for()
    _fits_a_phone(page)
    page.locator("#id_product").select_option(str(product.pk))
    page.locator("#id_problem").fill("无法开机，指示灯不亮")
    page.locator("#portal-call button[type=submit]").tap()
    page.locator("#call-status").wait_for()
    _fits_a_phone(page)

    call = RepairCall.objects.get()
    assert call.channel == RepairCall.Channel.PORTAL and call.product == product and call.site == site
    assert call.number in page.locator("h1").inner_text()
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
