"""Calls through the API: the history's filters and keyset pages, and logging, dispatch, arrival and resolve
through the very forms, permissions, services and transition table of the pages."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from repairs import services
from repairs.models import RepairCall
from servicedesk.models import StatusChange
from tests.factories import CustomerFactory, SiteFactory, log_call
from tests.repairs.field import call_on_site

CALLS = "/api/v1/calls/"


def _call(dispatcher, *, minutes_ago=0, **kwargs):
    site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
    return log_call(
        dispatcher=dispatcher, site=site, received_at=timezone.now() - dt.timedelta(minutes=minutes_ago), **kwargs
    )


def _action(call, name):
    return f"{CALLS}{call.pk}/{name}/"


def test_the_list_is_the_history_with_its_filters(api_for, dispatcher, technician):
    first = _call(dispatcher, minutes_ago=30, problem="打印机卡纸")
    second = _call(dispatcher, minutes_ago=10, problem="Does not start")
    services.repair_call_dispatch(user=dispatcher, call_id=second.pk, technician=technician)
    api = api_for(dispatcher)
    everything = api.get(CALLS).json()
    assert [row["number"] for row in everything["results"]] == [second.number, first.number]
    assert everything["results"][0]["technician_id"] == technician.pk
    assert api.get(CALLS, {"status": "dispatched"}).json()["results"][0]["number"] == second.number
    assert [r["number"] for r in api.get(CALLS, {"q": "卡纸"}).json()["results"]] == [first.number]
    assert [r["number"] for r in api.get(CALLS, {"technician": technician.pk}).json()["results"]] == [second.number]


def test_a_wrong_filter_is_a_400_naming_the_field(api_for, dispatcher):
    response = api_for(dispatcher).get(CALLS, {"date_from": "31/31/2020", "status": "nonsense"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"date_from", "status"}


def test_keyset_pages_walk_every_call_once(api_for, dispatcher, monkeypatch):
    from records import selectors

    monkeypatch.setattr(selectors, "CALLS_PAGE_SIZE", 3)
    monkeypatch.setattr(selectors.call_history, "__kwdefaults__", {"cursor": None, "limit": 3})
    calls = [_call(dispatcher, minutes_ago=i) for i in range(8)]
    api = api_for(dispatcher)
    seen, after = [], None
    for _page in range(5):
        body = api.get(CALLS, {"after": after} if after else {}).json()
        seen += [row["number"] for row in body["results"]]
        after = body["next"]
        if after is None:
            break
    assert seen == [c.number for c in calls]


def _queries(api, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(CALLS, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "Wang"}, {"status": "logged", "has_complaint": "true"}])
def test_the_list_runs_the_same_number_of_queries_for_5_and_40_calls(api_for, dispatcher, params):
    for i in range(5):
        _call(dispatcher, minutes_ago=i, contact_name="Mr Wang")
    api = api_for(dispatcher)
    api.get(CALLS, params)  # the token's "last used" is written once a minute at most: not in the count
    few = _queries(api, **params)
    for i in range(5, 40):
        _call(dispatcher, minutes_ago=i, contact_name="Mr Wang")
    assert _queries(api, **params) == few
    assert few <= 4  # the token, the page (1-3 with a search); the permissions are cached (servicedesk.backends)


def _log_payload(dispatcher, **extra):
    site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
    return {
        "customer": site.customer_id,
        "site": site.pk,
        "contact_name": "Ms Li",
        "contact_phone": "021-5555-1234",
        "channel": "phone",
        "coverage": "unknown",
        "problem": "Paper jam",
        "received_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        **extra,
    }


def test_logging_a_call_runs_the_service_and_its_deadline_rule(api_for, dispatcher):
    response = api_for(dispatcher).post(CALLS, _log_payload(dispatcher))
    assert response.status_code == 201, response.content
    body = response.json()
    call = RepairCall.objects.get(pk=body["id"])
    assert call.created_by == dispatcher and call.unit == dispatcher.unit
    assert call.attend_by == call.received_at + dt.timedelta(hours=6)  # clause 十九, urban zone
    assert body["status"] == "logged" and body["allowed_transitions"]
    assert StatusChange.objects.filter(object_id=call.pk, to_status="logged", by=dispatcher).exists()


def test_a_call_with_a_new_customer_and_site(api_for, dispatcher):
    from repairs.models import Zone

    payload = _log_payload(dispatcher, customer=None, site=None)
    payload.update(
        new_customer_name="华东精密",
        new_customer_phone="021-5555-9999",
        new_site_address="1 Nanjing Road",
        new_site_zone=Zone.objects.get(code="urban").pk,
    )
    response = api_for(dispatcher).post(CALLS, payload)
    assert response.status_code == 201, response.content
    assert response.json()["customer_name"] == "华东精密"


def test_logging_refusals_are_the_forms_and_the_services(api_for, dispatcher, other_dispatcher):
    api = api_for(dispatcher)
    response = api.post(CALLS, {"problem": "x" * 2001})
    assert response.status_code == 400
    assert {"problem", "contact_name", "received_at"} <= set(response.json()["errors"])
    # Another unit's customer is not a choice (the form's scoped queryset), as on the page.
    foreign = _log_payload(other_dispatcher)
    response = api.post(CALLS, foreign)
    assert response.status_code == 400 and "customer" in response.json()["errors"]
    # The service's own rule: a call cannot be received in the future.
    future = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    response = api.post(CALLS, _log_payload(dispatcher, received_at=future))
    assert response.status_code == 400
    with translation.override("en"):
        assert response.json() == {"detail": "The call cannot be received in the future.", "field": "received_at"}


def test_a_role_without_the_permission_gets_403(api_for, technician):
    response = api_for(technician).post(CALLS, {})
    assert response.status_code == 403


def test_dispatch_arrive_resolve_through_the_pages_table(api_for, dispatcher, technician):
    call = _call(dispatcher)
    desk, tech = api_for(dispatcher), api_for(technician)
    response = desk.post(_action(call, "dispatch"), {"version": call.version, "technician": technician.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "dispatched" and body["technician"] == technician.pk
    response = tech.post(_action(call, "arrive"), {"version": body["version"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "on_site" and body["arrived_at"] and not body["arrival_typed"]
    # DOMAIN 2: resolving needs a signed voucher, refused exactly as on the page.
    response = tech.post(_action(call, "resolve"), {"version": body["version"], "outcome": "Replaced the fuser"})
    assert response.status_code == 400
    assert "signed service voucher" in response.json()["detail"]
    history = list(StatusChange.objects.filter(object_id=call.pk).values_list("to_status", "by"))
    assert history == [("logged", dispatcher.pk), ("dispatched", dispatcher.pk), ("on_site", technician.pk)]


def test_resolve_after_the_voucher_is_signed(api_for, dispatcher, technician):
    from tests.repairs.field import signed_voucher

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    signed_voucher(technician=technician, call=call)
    call.refresh_from_db()
    response = api_for(technician).post(_action(call, "resolve"), {"version": call.version, "outcome": "Fixed"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"


def test_a_transition_the_table_refuses_is_a_409_with_the_pages_message(client, api_for, dispatcher, technician):
    call = _call(dispatcher)
    services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="Customer fixed it")
    call.refresh_from_db()
    response = api_for(dispatcher).post(
        _action(call, "dispatch"), {"version": call.version, "technician": technician.pk}
    )
    assert response.status_code == 409
    api_message = response.json()["detail"]
    # The page refuses the same transition with the same words.
    client.force_login(dispatcher)
    page = client.post(
        reverse("repairs:call_action", args=[call.pk, "dispatch"]),
        {"version": call.version, "technician": technician.pk},
    )
    assert page.status_code == 400
    assert "cannot become" in api_message
    assert escape(api_message) in page.text


def test_a_stale_version_is_a_409(api_for, dispatcher, technician):
    call = _call(dispatcher)
    response = api_for(dispatcher).post(
        _action(call, "dispatch"), {"version": call.version + 5, "technician": technician.pk}
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.json()["detail"]


def test_only_the_assigned_technician_records_arrival(api_for, dispatcher, technician):
    from tests.factories import UserFactory

    colleague = UserFactory(username="tech2", unit=dispatcher.unit, roles=["technician"])
    call = _call(dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    call.refresh_from_db()
    response = api_for(colleague).post(_action(call, "arrive"), {"version": call.version})
    assert response.status_code == 400
    assert "assigned technician" in response.json()["detail"]
    call.refresh_from_db()
    assert call.status == RepairCall.Status.DISPATCHED


def test_a_typed_arrival_needs_a_reason_and_is_marked(api_for, dispatcher, technician):
    call = _call(dispatcher, minutes_ago=60)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    call.refresh_from_db()
    at = (timezone.localtime() - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    api = api_for(dispatcher)
    response = api.post(f"{CALLS}{call.pk}/enter-arrival/", {"version": call.version, "arrived_at": at})
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = api.post(
        f"{CALLS}{call.pk}/enter-arrival/", {"version": call.version, "arrived_at": at, "reason": "Phone was dead"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["arrival_typed"] is True


def test_another_units_call_is_404_and_unchanged(api_for, dispatcher, other_dispatcher, technician):
    call = _call(dispatcher)
    api = api_for(other_dispatcher)
    assert api.get(f"{CALLS}{call.pk}/").status_code == 404
    response = api.post(_action(call, "dispatch"), {"version": call.version, "technician": technician.pk})
    assert response.status_code == 404
    call.refresh_from_db()
    assert call.status == RepairCall.Status.LOGGED
    assert call.number not in api.get(CALLS).content.decode()


def test_a_body_that_is_not_a_json_object_is_a_400(api_for, dispatcher):
    api = api_for(dispatcher)
    response = api.client.post(CALLS, "[1, 2]", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.raw}")
    assert response.status_code == 400
    response = api.client.post(
        CALLS, "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.raw}"
    )
    assert response.status_code == 400
