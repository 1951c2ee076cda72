"""Faster call logging (issue 16), in headless Chromium: focus, shortcut, the choices made for the dispatcher."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs.models import RepairCall
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call
from tests.repairs.test_browser_dispatch import _log_in, _open_page, chromium_browser  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_dispatcher_logs_a_call_with_the_choices_made_for_them(chromium_browser, live_server, dispatcher):  # noqa: F811
    customer = CustomerFactory(unit=dispatcher.unit, name="Jinling Printing Co.", phone="025-8888-0001")
    site = SiteFactory(customer=customer, address="9 Zhongshan Road")
    product = ProductFactory(
        customer=customer, serial_number="SN-JL-1", warranty_end=timezone.localdate() + dt.timedelta(days=30)
    )
    earlier = log_call(
        dispatcher=dispatcher, site=site, product=product, contact_name="Mr Zhou", contact_phone="13900000001"
    )

    context, page, problems = _open_page(chromium_browser, live_server)
    _log_in(page, live_server, dispatcher.username)
    page.goto(live_server.url + reverse("repairs:board"))
    page.keyboard.press("Alt+Shift+N")  # the shortcut from any desk page
    page.wait_for_url("**" + reverse("repairs:call_log"))
    assert page.evaluate("document.activeElement.id") == "customer-search"

    page.keyboard.type("Jinling")
    page.wait_for_selector("input[name=customer]")
    warning = page.locator(".open-call-warning")
    assert earlier.number in warning.inner_text()
    assert warning.locator("a").get_attribute("href") == reverse("repairs:call_detail", args=[earlier.pk])
    page.check(f"#customer-{customer.pk}")
    assert page.is_checked(f"#site-{site.pk}") and page.is_checked(f"#product-{product.pk}")
    assert page.input_value("[name=contact_name]") == "Mr Zhou"  # the contact person, not the company
    assert page.input_value("[name=coverage]") == RepairCall.Coverage.WARRANTY

    # A customer not found: the search text is carried into "new customer".
    page.fill("#customer-search", "Nanhu Textiles")
    page.wait_for_selector("text=No customer found")
    page.click("summary")
    # The <details> "toggle" event fires after the click returns: wait for the name to be carried over.
    for _ in range(50):  # (no wait_for_function: the page's CSP forbids evaluating a string)
        if page.input_value("[name=new_customer_name]"):
            break
        page.wait_for_timeout(100)
    assert page.input_value("[name=new_customer_name]") == "Nanhu Textiles"
    problems.assert_none("call log")
    context.close()
