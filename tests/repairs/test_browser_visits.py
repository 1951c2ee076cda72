"""Headless Chromium on a 390 px phone: "arrived" with the phone's location, and a second visit.

The technician taps "arrived" (the server records the time, static/js/arrival.js sends the position the
browser gives), cannot finish, leaves the call for a second visit with an appointment, and later taps
"arrived" again for visit 2; the clause 十九 arrival stays the first one.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall, Visit
from tests.browser import launched_chromium
from tests.factories import log_call
from tests.repairs.field import signed_voucher
from tests.repairs.test_browser_dispatch import _log_in, _open_page, _page_fits_width, _screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

@pytest.fixture(scope="module")
def chromium_browser():
    with launched_chromium() as browser:
        yield browser
        connections.close_all()  # the connections opened while Playwright ran


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_arrived_on_a_phone_records_the_servers_time_and_the_phones_location(
    chromium_browser, live_server, dispatcher, technician
):
    call = log_call(dispatcher=dispatcher, problem="Lift door sensor faulty")
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    context, page, problems = _open_page(
        chromium_browser,
        live_server,
        permissions=["geolocation"],
        geolocation={"latitude": 31.230416, "longitude": 121.473701, "accuracy": 15},
        **PHONE,
    )
    try:
        _log_in(page, live_server, "tech")
        page.goto(live_server.url + call.get_absolute_url())
        assert _page_fits_width(page), "the call page is wider than the phone"
        # No time to type: one button.
        assert page.locator("#action-arrive input[name=arrived_at]").count() == 0
        before = timezone.now()
        page.get_by_role("button", name="Arrived", exact=True).click()
        page.wait_for_selector("text=Arrival recorded.")
        _screenshot(page, "arrived-phone")
        visit = Visit.objects.get(call=call)
        assert before - dt.timedelta(seconds=1) <= visit.arrived_at <= timezone.now()
        assert visit.arrival_source == Visit.Arrival.TAPPED
        assert visit.latitude == Decimal("31.230416") and visit.longitude == Decimal("121.473701")
        assert visit.location_accuracy_m == 15
        assert page.locator("#visits tr[data-visit='1']").count() == 1
        problems.assert_none("arrived on a phone")
    finally:
        context.close()


def test_a_second_visit_from_the_phone_keeps_the_first_arrival(chromium_browser, live_server, dispatcher, technician):
    call = log_call(dispatcher=dispatcher, problem="Copier drum worn")
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    call.refresh_from_db()
    signed_voucher(technician=technician, call=call)
    first_arrival = call.arrived_at

    # No geolocation permission: the form is sent without a position.
    context, page, problems = _open_page(chromium_browser, live_server, **PHONE)
    try:
        _log_in(page, live_server, "tech")
        page.goto(live_server.url + call.get_absolute_url())
        leave = page.locator("#action-leave")
        leave.get_by_label("A second visit is needed").check()
        leave.locator("textarea[name=reason]").fill("New drum to be ordered")
        appointment = timezone.localtime() + dt.timedelta(days=1)
        leave.locator("input[name=appointment_at]").fill(appointment.strftime("%Y-%m-%dT%H:%M"))
        assert _page_fits_width(page)
        _screenshot(page, "leave-for-second-visit-phone")
        leave.get_by_role("button").click()
        page.wait_for_url(re.compile(r".*/calls/mine/$"))
        page.wait_for_selector("text=The call waits for its next visit.")
        call.refresh_from_db()
        assert call.status == RepairCall.Status.REVISIT
        card = page.locator(".card", has_text=call.number)
        assert "planned" in card.inner_text()

        card.locator("a").click()
        page.get_by_role("button", name="Arrived (next visit)").click()
        page.wait_for_selector("text=Arrival recorded.")
        call.refresh_from_db()
        assert call.status == RepairCall.Status.ON_SITE and call.visit_count == 2
        assert call.arrived_at == first_arrival
        assert page.locator("#visits tr[data-visit='2']").count() == 1
        problems.assert_none("second visit on a phone")
    finally:
        context.close()
