"""A technician's "my calls": today's calls assigned to them, and only theirs."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from repairs.selectors import technician_calls_today
from servicedesk.exceptions import ApplicationError
from tests.factories import log_call
from tests.repairs.field import signed_voucher

CALL_LINK = re.compile(r'href="/calls/(\d+)/"')


@pytest.fixture
def assigned(dispatcher, technician, technician_b):
    mine = [log_call(dispatcher=dispatcher) for _ in range(2)]
    for call in mine:
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    theirs = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=theirs.pk, technician=technician_b)
    unassigned = log_call(dispatcher=dispatcher)
    return {"mine": mine, "theirs": theirs, "unassigned": unassigned}


def test_my_calls_lists_only_the_technicians_own_calls(client, technician, assigned):
    client.force_login(technician)
    response = client.get(reverse("repairs:my_calls"))
    assert response.status_code == 200
    shown = {int(pk) for pk in CALL_LINK.findall(response.text)}
    assert shown == {c.pk for c in assigned["mine"]}


def test_finished_calls_drop_off_the_next_day_open_ones_stay(dispatcher, technician, assigned):
    done = assigned["mine"][0]
    services.repair_call_record_arrival(user=technician, call_id=done.pk)
    signed_voucher(technician=technician, call=done)
    services.repair_call_resolve(user=technician, call_id=done.pk, outcome="Fixed")
    today = [c.pk for c in technician_calls_today(user=technician)]
    assert set(today) == {c.pk for c in assigned["mine"]}
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert [c.pk for c in technician_calls_today(user=technician, now=tomorrow)] == [assigned["mine"][1].pk]


def test_a_cancelled_call_leaves_the_list_the_next_day(dispatcher, technician, assigned):
    call = assigned["mine"][1]
    services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="Customer fixed it")
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert call.pk not in [c.pk for c in technician_calls_today(user=technician, now=tomorrow)]


def test_a_reassigned_call_moves_to_the_new_technician(client, dispatcher, technician, technician_b, assigned):
    call = assigned["mine"][0]
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician_b, reason="Closer")
    assert call.pk not in [c.pk for c in technician_calls_today(user=technician)]
    assert call.pk in [c.pk for c in technician_calls_today(user=technician_b)]


def test_my_calls_page_works_on_a_phone(client, technician, assigned):
    client.force_login(technician)
    page = client.get(reverse("repairs:my_calls")).text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_a_technician_cannot_record_arrival_on_another_technicians_call(technician, assigned):
    theirs = assigned["theirs"]
    with pytest.raises(ApplicationError) as excinfo:
        services.repair_call_record_arrival(user=technician, call_id=theirs.pk)
    assert "assigned technician" in str(excinfo.value)
    assert RepairCall.objects.get(pk=theirs.pk).status == RepairCall.Status.DISPATCHED


def test_a_technician_cannot_record_arrival_on_another_technicians_call_over_http(client, technician, assigned):
    theirs = assigned["theirs"]
    client.force_login(technician)
    response = client.post(
        reverse("repairs:call_action", args=[theirs.pk, "arrive"]),
        {"version": 2, "arrived_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 400
    assert "Only the assigned technician can record this." in response.text
    fresh = RepairCall.objects.get(pk=theirs.pk)
    assert fresh.status == RepairCall.Status.DISPATCHED and fresh.arrived_at is None


def test_the_assigned_technician_taps_arrived_and_stays_on_the_call_to_fill_its_voucher(client, technician, assigned):
    call = assigned["mine"][0]
    client.force_login(technician)
    response = client.post(reverse("repairs:call_action", args=[call.pk, "arrive"]), {"version": 2})
    assert response.status_code == 302 and response.url == call.get_absolute_url()
    assert RepairCall.objects.get(pk=call.pk).status == RepairCall.Status.ON_SITE
