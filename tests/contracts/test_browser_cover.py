"""Call logging in headless Chromium (issue 16): choosing a site or product under a running maintenance contract
sets the form's cover to "contract"; a cover the dispatcher picks by hand is kept."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs.models import RepairCall
from tests.factories import CustomerFactory, ProductFactory, SiteFactory
from tests.repairs.test_browser_dispatch import _log_in, _open_page, chromium_browser  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_site_under_contract_sets_the_cover_and_a_hand_picked_cover_is_kept(
    chromium_browser,  # noqa: F811
    live_server,
    dispatcher,
    make_contract,
):
    today = timezone.localdate()
    customer = CustomerFactory(unit=dispatcher.unit, name="Xuanwu Print Works", phone="025-8888-0002")
    covered = SiteFactory(customer=customer, address="1 Xuanwu Avenue")
    make_contract(
        user=dispatcher,
        customer=customer,
        sites=[covered],
        start_on=today - dt.timedelta(days=10),
        end_on=today + dt.timedelta(days=10),
    )
    in_warranty = ProductFactory(customer=customer, site=covered, warranty_end=today + dt.timedelta(days=5))
    plain = ProductFactory(customer=customer, site=covered, warranty_end=None)

    context, page, problems = _open_page(chromium_browser, live_server)
    _log_in(page, live_server, dispatcher.username)
    page.goto(live_server.url + reverse("repairs:call_log"))
    page.keyboard.type("Xuanwu")
    page.wait_for_selector("input[name=customer]")
    assert "maintenance contract" in page.inner_text(f"label[for=site-{covered.pk}]")
    page.check(f"#customer-{customer.pk}")  # its only site is chosen for the dispatcher
    assert page.is_checked(f"#site-{covered.pk}")
    assert page.input_value("[name=coverage]") == RepairCall.Coverage.CONTRACT
    page.check(f"#product-{in_warranty.pk}")  # the warranty comes before the contract
    assert page.input_value("[name=coverage]") == RepairCall.Coverage.WARRANTY
    page.check(f"#product-{plain.pk}")  # a product with no warranty at the covered site: the contract again
    assert page.input_value("[name=coverage]") == RepairCall.Coverage.CONTRACT

    page.select_option("[name=coverage]", RepairCall.Coverage.PAID)  # the dispatcher knows better
    page.check(f"#product-{in_warranty.pk}")
    assert page.input_value("[name=coverage]") == RepairCall.Coverage.PAID
    problems.assert_none("call log")
    context.close()
