"""The technician's whole flow on a 390 px phone in headless Chromium (issue 16), every tap target measured.

My calls as cards with a map link → the call → "Arrived" (the page stays on the call) → the voucher form, a
second part row added on the page and the running total following the typing → the customer signs → the fee
form is the first thing on the voucher's page → the carry-in, its pickup receipt signed on the screen and sent
by e-mail → the repair-card list as cards. On every page: no sideways scrolling, nothing to tap smaller than
44 × 44 px, no console error or CSP violation.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RegisterEntry, RepairCall, ServiceVoucher
from servicedesk.models import Notification
from tests.browser import launched_chromium
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call
from tests.repairs.field import stock_van
from tests.repairs.test_browser_dispatch import _log_in, _open_page, _page_fits_width, _screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
MIN_TAP_PX = 44

# Everything a finger taps on the page, as laid out: buttons, fields, menu links, check-box labels, the
# standalone links of the technician's pages. Links inside a sentence are exempt (WCAG 2.5.5's inline
# exception); what is not displayed (the collapsed menu, a <template>) has no box and is skipped.
SMALL_TAP_TARGETS = """
(minimum) => {
  const targets = "button, .btn, input:not([type=hidden]), select, textarea, .nav-link, .navbar-toggler, "
    + ".form-check-label, .map-link, .call-link, #cards td:first-child a";
  const small = [];
  for (const el of document.querySelectorAll(targets)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    let target = box;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      target = (el.closest(".form-check") || el).getBoundingClientRect();  // the label is tapped too
    }
    if (target.width < minimum || target.height < minimum) {
      const name = el.id || el.name || (el.textContent || "").trim().slice(0, 30) || el.tagName;
      small.push(name + " " + Math.round(target.width) + "x" + Math.round(target.height));
    }
  }
  return small;
}
"""


@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser
        connections.close_all()  # the connections opened while Playwright ran


def _check_phone_page(page, where: str) -> None:
    assert _page_fits_width(page), f"{where}: the page scrolls sideways at 390 px"
    small = page.evaluate(SMALL_TAP_TARGETS, MIN_TAP_PX)
    assert small == [], f"{where}: tap targets under {MIN_TAP_PX} px: {small}"
    _screenshot(page, f"phone-{where}")


def _sign(page) -> None:
    canvas = page.locator("[data-signature-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 15):
        page.mouse.move(
            box["x"] + 20 + i * box["width"] / 18, box["y"] + box["height"] * (0.7 - 0.4 * (i % 2)), steps=3
        )
    page.mouse.up()


def test_the_technicians_flow_on_a_390px_phone(chromium_browser, live_server, dispatcher, technician):
    customer = CustomerFactory(unit=dispatcher.unit, name="东方印刷厂", email="office@dongfang.example")
    site = SiteFactory(customer=customer, address="上海市徐汇区漕溪北路 1200 号 A 栋 3 楼 东方印刷厂维修部")
    expired = timezone.localdate() - dt.timedelta(days=30)  # out of warranty: the visit is paid on site
    product = ProductFactory(customer=customer, serial_number="DF-2026-0099", warranty_end=expired)
    call = log_call(dispatcher=dispatcher, site=site, product=product, problem="卡纸，主板异响")
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    stock_van(technician=technician, part_number="FU-220", quantity=5, unit_price=Decimal("50.25"), name="定影器")
    stock_van(technician=technician, part_number="FUSE-5A", quantity=5, unit_price=Decimal("3.50"), name="保险丝")

    context, page, problems = _open_page(chromium_browser, live_server, **PHONE)
    try:
        _log_in(page, live_server, "tech")

        # My calls: a card per call, with the site's map link.
        page.goto(live_server.url + reverse("repairs:my_calls"))
        card = page.locator(f".my-call[data-call='{call.number}']")
        assert "amap.com" in card.locator("a.map-link").get_attribute("href")
        _check_phone_page(page, "my-calls")

        # The call: "Arrived", and the technician stays on the call.
        card.locator("a.call-link").click()
        page.wait_for_url(re.compile(rf".*/calls/{call.pk}/$"))
        page.get_by_role("button", name="Arrived", exact=True).click()
        page.wait_for_selector("text=Arrival recorded.")
        assert re.search(rf"/calls/{call.pk}/$", page.url)
        _check_phone_page(page, "call-on-site")

        # The voucher: one part row, a second added on the page; the running total follows the typing.
        page.click("#new-voucher")
        page.wait_for_url("**/voucher/new/")
        assert page.locator("[data-part-row]").count() == 1
        page.fill("#id_work_done", "更换定影器和保险丝，试机正常")
        page.fill("#id_labour_charge", "80.00")
        page.fill("#id_parts-0-part_number", "FU-220")
        page.fill("#id_parts-0-quantity", "2")
        assert page.inner_text("#running-total").startswith("180.50")  # 80 + 2 × 50.25 from the catalogue
        page.click("#add-part")
        assert page.locator("[data-part-row]").count() == 2
        assert page.evaluate("document.activeElement.id") == "id_parts-1-part_number"
        page.fill("#id_parts-1-part_number", "FUSE-5A")
        page.fill("#id_parts-1-quantity", "2")
        assert page.inner_text("#running-total").startswith("187.50")  # + 2 × 3.50
        _check_phone_page(page, "voucher-form")
        page.click("#voucher-form button[type=submit]")
        page.wait_for_url("**/sign/")
        voucher = ServiceVoucher.objects.get(call=call)
        assert voucher.total_due == Decimal("187.50") and voucher.parts.count() == 2

        # The signature, then the fee form first on the voucher's page.
        _check_phone_page(page, "voucher-sign")
        page.fill("#id_signed_by_name", "钱女士")
        _sign(page)
        page.click("#sign-form button[type=submit]")
        page.wait_for_selector("#fee-form")
        assert page.url.endswith("#fee-form")
        fee_top = page.locator("#fee-form").bounding_box()["y"]
        assert fee_top < page.get_by_text("Time on site").bounding_box()["y"]
        assert fee_top < 844, "the fee form is not on the first screen after signing"
        _check_phone_page(page, "fee-step")
        page.click("#fee-form button[type=submit]")
        page.wait_for_selector("text=recorded with receipt")
        voucher.refresh_from_db()
        assert voucher.status == ServiceVoucher.Status.SIGNED and voucher.fee_balance == 0

        # The carry-in: the customer signs the pickup receipt on the screen; it goes by e-mail.
        page.goto(live_server.url + reverse("repairs:call_detail", args=[call.pk]))
        page.click("#carry-in")
        page.wait_for_url("**/carry-in/new/")
        page.fill("#id_fault_found", "主板烧毁")
        page.fill("#id_work_planned", "更换主板")
        page.fill("#id_items_received", "电源线")
        assert page.input_value("#id_receipt_email") == "office@dongfang.example"
        _sign(page)
        _check_phone_page(page, "carry-in")
        page.click("#carry-in-form button[type=submit]")
        page.wait_for_selector("#card-status")
        assert "sent to office@dongfang.example" in page.inner_text("main")
        entry = RegisterEntry.objects.get(call=call)
        assert bytes(entry.pickup_signature_png).startswith(b"\x89PNG")
        assert Notification.objects.filter(dedupe_key=f"pickup-receipt:{entry.pk}").exists()
        assert RepairCall.objects.get(pk=call.pk).status == RepairCall.Status.CARRIED_IN
        _check_phone_page(page, "repair-card")

        # The repair-card list: a card per row, nothing to scroll sideways.
        page.goto(live_server.url + reverse("repairs:card_list"))
        row = page.locator("#cards tbody tr").first
        assert page.locator("#cards thead").is_hidden()
        assert row.bounding_box()["width"] <= 390
        _check_phone_page(page, "card-list")
        problems.assert_none("the technician's flow on a phone")
    finally:
        context.close()
