"""The whole carry-in chain in headless Chromium, as a technician on a phone and a clerk at a desk.

Voucher filled and signed on the canvas, carry-in opened, pickup receipt printed, product booked in,
card repaired, product returned against its receipt with a signature, and gone from the register.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from repairs.models import RegisterEntry, RepairCall, RepairCard, ServiceVoucher
from tests.browser import launched_chromium

from .field import call_on_site, stock_van

TIMEOUT_MS = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def browser():
    with launched_chromium() as chromium:
        yield chromium


def _open(browser, live_server, user, *, phone: bool, problems: list):
    options = {"viewport": {"width": 390, "height": 844}, "has_touch": True} if phone else {}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"{user.username}: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"{user.username}: {msg.text}") if msg.type == "error" else None,
    )
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    page.press("#id_password", "Enter")
    page.wait_for_load_state()
    return page


def _sign(page):
    canvas = page.locator("[data-signature-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 15):
        page.mouse.move(x + 20 + i * box["width"] / 18, y + box["height"] * (0.7 - 0.4 * (i % 2)), steps=3)
    page.mouse.up()


def test_carry_in_chain_from_the_technicians_phone_to_the_clerks_register(browser, live_server, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, customer_name="东方印刷厂")
    stock_van(technician=technician, part_number="FUSE-5A", quantity=2, unit_price=Decimal("3.50"), name="保险丝")
    problems: list[str] = []
    tech = _open(browser, live_server, technician, phone=True, problems=problems)

    # The voucher, signed by the customer on the phone's screen.
    tech.goto(live_server.url + reverse("repairs:call_detail", args=[call.pk]))
    tech.click("#new-voucher")
    tech.fill("#id_work_done", "Main board tested: burnt, needs workshop repair.")
    tech.fill("#id_labour_charge", "80.00")
    tech.fill("#id_parts-0-part_number", "FUSE-5A")
    tech.fill("#id_parts-0-quantity", "2")
    tech.fill("#id_parts-0-unit_price", "3.50")
    tech.click("main button[type=submit]")
    tech.wait_for_url("**/sign/")
    tech.fill("#id_signed_by_name", "钱女士")
    _sign(tech)
    tech.click("#sign-form button[type=submit]")
    tech.wait_for_selector("#voucher-status")
    voucher = ServiceVoucher.objects.get(call=call)
    assert voucher.status == ServiceVoucher.Status.SIGNED
    assert voucher.signed_by_name == "钱女士" and bytes(voucher.signature_png).startswith(b"\x89PNG")
    assert str(voucher.total_due) == "87.00"

    # The carry-in: repair card, register entry, printed pickup receipt.
    tech.goto(live_server.url + reverse("repairs:call_detail", args=[call.pk]))
    tech.click("#carry-in")
    tech.fill("#id_items_received", "Power cable, no cover")
    tech.fill("#id_fault_found", "Main board burnt")
    tech.fill("#id_work_planned", "Replace the main board")
    _sign(tech)  # the customer signs the pickup receipt on the phone (issue 16)
    tech.click("#carry-in-form button[type=submit]")
    tech.wait_for_selector("#card-status")
    card = RepairCard.objects.get(call=call)
    receipt_href = tech.get_attribute("#print-receipt", "href")
    printed = tech.request.get(live_server.url + receipt_href if receipt_href.startswith("/") else receipt_href)
    assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
    assert printed.body().startswith(b"%PDF")

    # The clerk books the product in.
    clerk = _open(browser, live_server, dispatcher, phone=False, problems=problems)
    clerk.goto(live_server.url + reverse("repairs:register"))
    assert card.register_entry.receipt_number in clerk.inner_text("#register")
    clerk.goto(live_server.url + card.get_absolute_url())
    clerk.fill("#id_storage_location", "Shelf C-3")
    clerk.click("#action-receive button[type=submit]")
    clerk.wait_for_selector("#register-entry")
    assert "Shelf C-3" in clerk.inner_text("#register-entry")

    # The technician repairs it.
    tech.goto(live_server.url + card.get_absolute_url())
    tech.click("#action-in_repair button[type=submit]")
    tech.wait_for_selector("#action-repaired")
    tech.fill("#action-repaired input[name=note]", "Board replaced, burn-in test passed")
    tech.click("#action-repaired button[type=submit]")
    tech.wait_for_selector("#card-status")
    assert RepairCard.objects.get(pk=card.pk).status == RepairCard.Status.REPAIRED

    # The clerk returns it against the pickup receipt; the customer signs.
    clerk.goto(live_server.url + card.get_absolute_url())
    clerk.click("#release-link")
    clerk.check("input[name=release_kind][value=picked_up]")
    clerk.fill("#id_released_to_name", "钱女士")
    _sign(clerk)
    clerk.click("#release-form button[type=submit]")
    clerk.wait_for_selector("#register")
    assert card.register_entry.receipt_number not in clerk.inner_text("#register")

    entry = RegisterEntry.objects.get(card=card)
    assert entry.released_at is not None and entry.released_to_name == "钱女士"
    assert RepairCard.objects.get(pk=card.pk).status == RepairCard.Status.RETURNED
    assert RepairCall.objects.get(pk=call.pk).status == RepairCall.Status.CLOSED
    assert problems == []
