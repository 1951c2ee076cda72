"""The call answers are built by plain functions (api.serializers.call_rows_data, call_data), not by running the
DRF serializers per row; the serializers stay as the schema's description. These tests hold the functions to
the very bytes the serializers write for the same calls: every state a call goes through, with and without a
technician, a product and a contract, a call logged late, in English and in Chinese."""

import datetime as dt

import pytest
from django.utils import timezone, translation
from rest_framework.renderers import JSONRenderer

from api import serializers as out
from records.forms import CallFilterForm
from records.selectors import call_history
from repairs import selectors, services
from repairs.models import Product, RepairCall, Zone
from servicedesk.roles import Role
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, UserFactory, log_call
from tests.repairs.field import call_on_site, signed_voucher

from .conftest import ApiClient
from .test_calls import _log_payload
from .test_records import _contract

CALLS = "/api/v1/calls/"


def _json(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def calls_in_every_state(dispatcher, technician):
    """Calls of the dispatcher's unit in each state the desk sees, returned by name."""
    unnamed = UserFactory(username="tech-unnamed", first_name="", unit=dispatcher.unit, roles=[Role.TECHNICIAN])
    calls = {"logged": log_call(dispatcher=dispatcher, problem="打印机卡纸，" * 30)}
    customer = CustomerFactory(unit=dispatcher.unit, name="华东精密")
    product = ProductFactory(customer=customer, warranty_end=timezone.localdate() + dt.timedelta(days=30))
    calls["warranty"] = log_call(dispatcher=dispatcher, site=SiteFactory(customer=customer), product=product)
    covered = CustomerFactory(unit=dispatcher.unit)
    _contract(dispatcher, covered)  # covers the customer's one product
    calls["contract"] = log_call(
        dispatcher=dispatcher, site=SiteFactory(customer=covered), product=Product.objects.get(customer=covered)
    )
    calls["late"] = log_call(
        dispatcher=dispatcher,
        received_at=timezone.now() - dt.timedelta(days=2),
        zone=Zone.objects.get(code="suburban"),
    )
    dispatched = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=dispatched.pk, technician=technician)
    calls["dispatched"] = dispatched
    to_unnamed = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=to_unnamed.pk, technician=unnamed)
    calls["dispatched_unnamed"] = to_unnamed
    calls["on_site"] = call_on_site(dispatcher=dispatcher, technician=technician)
    resolved = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    signed_voucher(technician=technician, call=resolved)
    services.repair_call_resolve(user=technician, call_id=resolved.pk, outcome="Replaced the fuser")
    calls["resolved"] = resolved
    closed = call_on_site(dispatcher=dispatcher, technician=technician)
    signed_voucher(technician=technician, call=closed)
    services.repair_call_resolve(user=technician, call_id=closed.pk, outcome="Fixed")
    services.repair_call_close(user=dispatcher, call_id=closed.pk)
    calls["closed"] = closed
    cancelled = log_call(dispatcher=dispatcher)
    services.repair_call_cancel(user=dispatcher, call_id=cancelled.pk, reason="Solved by phone")
    calls["cancelled"] = cancelled
    return calls


def test_the_calls_cover_what_the_answers_must_show(calls_in_every_state):
    calls = {name: RepairCall.objects.get(pk=call.pk) for name, call in calls_in_every_state.items()}
    assert {c.status for c in calls.values()} >= {"logged", "dispatched", "on_site", "resolved", "closed", "cancelled"}
    assert calls["warranty"].coverage == "warranty" and calls["contract"].coverage == "contract"
    assert calls["logged"].product_id is None and calls["logged"].technician_id is None
    assert calls["late"].logged_late and calls["on_site"].arrived_at and calls["closed"].closed_at


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_list_rows_are_the_bytes_the_row_serializer_writes(calls_in_every_state, dispatcher, language):
    form = CallFilterForm({}, user=dispatcher)
    assert form.is_valid()
    with translation.override(language):
        rows = call_history(user=dispatcher, filters=form.cleaned_data).rows
        assert len(rows) == len(calls_in_every_state)
        assert _json(out.call_rows_data(rows)) == _json(out.CallRowSerializer(rows, many=True).data)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_one_call_is_the_bytes_the_call_serializer_writes(calls_in_every_state, dispatcher, language):
    with translation.override(language):
        for name, call in calls_in_every_state.items():
            read = selectors.repair_call_get_for_user(user=dispatcher, pk=call.pk)
            assert _json(out.call_data(read)) == _json(out.CallSerializer(read).data), name


def test_the_times_follow_the_current_time_zone_as_drf_writes_them(dispatcher):
    call = selectors.repair_call_get_for_user(user=dispatcher, pk=log_call(dispatcher=dispatcher).pk)
    for zone in ("UTC", "America/New_York"):
        with timezone.override(zone):
            assert _json(out.call_data(call)) == _json(out.CallSerializer(call).data), zone
    with timezone.override("UTC"):
        assert out.call_data(call)["received_at"].endswith("Z")


def test_the_call_the_service_returns_answers_as_the_call_read_back(dispatcher, technician):
    """The create answers from ``repair_call_log``'s own object: the same bytes as reading the call again."""
    customer = CustomerFactory(unit=dispatcher.unit)
    product = ProductFactory(customer=customer)
    cases = [
        log_call(dispatcher=dispatcher),
        log_call(dispatcher=dispatcher, site=SiteFactory(customer=customer), product=product),
        log_call(dispatcher=dispatcher, received_at=timezone.now() - dt.timedelta(days=1)),
    ]
    for call in cases:
        read = selectors.repair_call_get_for_user(user=dispatcher, pk=call.pk)
        assert _json(out.call_data(call)) == _json(out.CallSerializer(read).data)


@pytest.mark.parametrize("new_records", [False, True])
def test_the_create_answer_is_the_call_as_the_detail_reads_it(api_for, dispatcher, new_records):
    payload = _log_payload(dispatcher)
    if new_records:
        payload.update(
            customer=None,
            site=None,
            new_customer_name="华东精密",
            new_customer_phone="021-5555-9999",
            new_site_address="1 Nanjing Road",
            new_site_zone=Zone.objects.get(code="suburban").pk,
            new_product_model="SX-300",
            new_product_serial="NEW-0001",
        )
    api = api_for(dispatcher)
    created = api.post(CALLS, payload)
    assert created.status_code == 201, created.content
    detail = api.get(f"{CALLS}{created.json()['id']}/")
    assert created.content == detail.content
    read = selectors.repair_call_get_for_user(user=dispatcher, pk=created.json()["id"])
    with translation.override("en"):
        assert created.content == _json(out.CallSerializer(read).data)
    if new_records:
        assert created.json()["serial_number"] == "NEW-0001"


def test_the_create_answer_in_chinese(dispatcher):
    from api.services import api_token_create

    raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=1)[1]
    api = ApiClient(raw, language="zh-hans")
    created = api.post(CALLS, _log_payload(dispatcher))
    assert created.status_code == 201, created.content
    assert created.json()["status_label"] != "Logged"
    read = selectors.repair_call_get_for_user(user=dispatcher, pk=created.json()["id"])
    with translation.override("zh-hans"):
        assert created.content == _json(out.CallSerializer(read).data)
