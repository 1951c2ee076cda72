"""Bulk actions on list pages (servicedesk.bulk): each record through its own service, scoped, bounded."""

import io

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from pypdf import PdfReader

from repairs.models import RepairCall, ServiceVoucher
from servicedesk.bulk import BULK_MAX
from servicedesk.models import StatusChange
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call


def run(client, page, action, ids, **data):
    return client.post(reverse("bulk_run", args=[page, action]), {"ids": ids, "next": "/records/calls/", **data})


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def pages(response) -> int:
    assert response["Content-Type"] == "application/pdf"
    return len(PdfReader(io.BytesIO(response.content)).pages)


@pytest.fixture
def b_dispatcher(world):
    return world.users[("B", Role.DISPATCHER)]


def test_assigning_calls_together_dispatches_each_through_the_service_and_reports_the_rest(world, db, b_dispatcher):
    technician = UserFactory(unit=world.unit_b, roles=[Role.TECHNICIAN])
    waiting = [log_call(dispatcher=b_dispatcher, site=world.objects["call"].site) for _ in range(3)]
    on_site = world.objects["call"]
    theirs = log_call(dispatcher=world.users[("A", Role.DISPATCHER)])
    client = world.client(("B", Role.DISPATCHER))
    response = run(
        client, "calls", "assign", [c.pk for c in [*waiting, on_site, theirs]], technician=technician.pk
    )
    assert response.status_code == 302 and response.url == "/records/calls/"
    for call in waiting:
        call.refresh_from_db()
        assert (call.status, call.technician_id) == (RepairCall.Status.DISPATCHED, technician.pk)
        assert StatusChange.objects.filter(object_id=call.pk, to_status=RepairCall.Status.DISPATCHED).exists()
    theirs.refresh_from_db()
    assert theirs.status == RepairCall.Status.LOGGED  # another unit's call is not acted on
    said = " ".join(texts(response))
    assert "3 calls assigned" in said and on_site.number in said and "not yours" in said


def test_an_assignment_without_a_technician_changes_nothing_and_says_why(world, db, b_dispatcher):
    call = log_call(dispatcher=b_dispatcher, site=world.objects["call"].site)
    response = run(world.client(("B", Role.DISPATCHER)), "calls", "assign", [call.pk])
    call.refresh_from_db()
    assert call.status == RepairCall.Status.LOGGED
    assert "Choose the technician" in " ".join(texts(response))


def test_closing_together_asks_first_and_closes_only_what_may_be_closed(world, db, b_dispatcher):
    client = world.client(("B", Role.DISPATCHER))
    page = client.get(reverse("records:calls"), {"all": "1"}).text
    assert 'data-confirm="Close the selected calls?' in page and 'form="bulk-calls"' in page
    logged = log_call(dispatcher=b_dispatcher, site=world.objects["call"].site)
    response = run(client, "calls", "close", [logged.pk])
    logged.refresh_from_db()
    assert logged.status == RepairCall.Status.LOGGED
    assert logged.number in " ".join(texts(response))


@pytest.mark.parametrize(
    "principal,status", [(("B", Role.TECHNICIAN), 403), (("B", Role.DISPATCHER), 302)], ids=["technician", "desk"]
)
def test_an_action_needs_its_permission(world, db, principal, status):
    response = run(world.client(principal), "calls", "assign", [world.objects["call"].pk])
    assert response.status_code == status


@pytest.mark.parametrize(
    "ids,message",
    [([], "Select at least one row"), (["x1"], "not valid"), ([str(n) for n in range(1, BULK_MAX + 2)], "at most")],
    ids=["none", "not-a-number", "too-many"],
)
def test_a_bad_selection_is_refused_with_a_message(world, db, ids, message):
    response = run(world.client(("B", Role.DISPATCHER)), "calls", "close", ids)
    assert response.status_code == 302 and message in " ".join(texts(response))


def test_an_unknown_page_or_action_is_not_found(world, db):
    client = world.client(("B", Role.DISPATCHER))
    assert run(client, "calls", "explode", [1]).status_code == 404
    assert run(client, "nowhere", "close", [1]).status_code == 404


def test_the_vouchers_of_the_selected_calls_print_as_one_pdf(world, db):
    voucher = world.objects["voucher"]
    count = ServiceVoucher.objects.filter(call_id=voucher.call_id).count()
    response = run(world.client(("B", Role.DISPATCHER)), "calls", "print-vouchers", [voucher.call_id])
    assert pages(response) >= count >= 1


def test_repair_cards_notices_and_survey_days_print_together(world, db):
    desk = world.client(("B", Role.DISPATCHER))
    assert pages(run(desk, "repair-cards", "print", [world.objects["card"].pk])) >= 1
    assert pages(run(desk, "expiry-notices", "print", [world.objects["notice"].pk])) >= 1
    assert pages(run(desk, "survey-cards", "print", [world.objects["survey_batch"].pk])) >= 1


def test_another_units_records_do_not_print(world, db):
    other = world.client(("A", Role.DISPATCHER))
    response = run(other, "repair-cards", "print", [world.objects["card"].pk])
    assert response.status_code == 302 and "None of the selected" in " ".join(texts(response))
