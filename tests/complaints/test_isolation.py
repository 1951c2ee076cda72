"""Branch isolation and roles on every URL this app adds: another unit's record is simply not found."""

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import CustomerOpinion, SurveyBatch
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call

from .conftest import card_of, run_for


@pytest.fixture
def here(dispatcher):
    """This unit's batch and complaint."""
    call = log_call(dispatcher=dispatcher)
    run_for(timezone.localdate())
    card = card_of(call)
    services.survey_card_answer_online(
        card_id=card.pk,
        token=card.token,
        answer=services.SurveyAnswer(attitude=1, opinion_kind="complaint", opinion_text="bad"),
    )
    return {"batch": SurveyBatch.objects.get(unit=dispatcher.unit), "opinion": CustomerOpinion.objects.get()}


@pytest.fixture
def other_supervisor(other_unit):
    return UserFactory(username="sz-supervisor", unit=other_unit, roles=[Role.SUPERVISOR])


def test_another_units_batch_pdf_is_not_found(client, other_supervisor, here):
    client.force_login(other_supervisor)
    assert client.get(reverse("complaints:batch_pdf", args=[here["batch"].pk])).status_code == 404


def test_another_units_batches_are_not_listed(client, other_supervisor, here):
    client.force_login(other_supervisor)
    page = client.get(reverse("complaints:batch_list"))
    assert page.status_code == 200
    assert here["batch"].unit.name not in page.text


def test_another_units_opinion_is_neither_listed_nor_acknowledgeable(client, other_supervisor, here):
    client.force_login(other_supervisor)
    assert "bad" not in client.get(reverse("complaints:opinion_list")).text.split("<tbody>")[1]
    # The supervisor lacks the permission (403) before the unit check; the unit check is in test_opinions.
    assert client.post(reverse("complaints:opinion_acknowledge", args=[here["opinion"].pk])).status_code == 403


@pytest.mark.parametrize(
    "name,args", [("complaints:appraisal", []), *[("complaints:appraisal_export", [f]) for f in ("csv", "xlsx", "pdf")]]
)
def test_another_units_appraisal_is_not_found(client, other_supervisor, unit, here, name, args):
    client.force_login(other_supervisor)
    assert client.get(reverse(name, args=args), {"unit": unit.pk}).status_code == 404


def test_a_unit_user_sees_their_own_units_appraisal(client, other_supervisor, other_unit, here):
    client.force_login(other_supervisor)
    for query in ({}, {"unit": other_unit.pk}):
        page = client.get(reverse("complaints:appraisal"), query)
        assert page.status_code == 200
        assert other_unit.name in page.text


def test_head_office_picks_any_unit(client, head_office, unit, other_unit, here):
    staff = UserFactory(username="svc", unit=head_office, roles=[Role.SERVICE_DEPARTMENT])
    client.force_login(staff)
    for target in (unit, other_unit):
        page = client.get(reverse("complaints:appraisal"), {"unit": target.pk, "month": "2026-03"})
        assert page.status_code == 200
        assert target.name in page.text
    assert client.get(reverse("complaints:batch_pdf", args=[here["batch"].pk])).status_code == 403  # no print right
    assert client.get(reverse("complaints:batch_list")).status_code == 200


@pytest.mark.parametrize(
    "name,args,method",
    [
        ("complaints:batch_list", [], "get"),
        ("complaints:paper_entry", [], "get"),
        ("complaints:opinion_list", [], "get"),
        ("complaints:appraisal", [], "get"),
        ("complaints:appraisal_export", ["csv"], "get"),
    ],
)
def test_technicians_see_none_of_the_staff_pages(client, technician, name, args, method):
    client.force_login(technician)
    assert getattr(client, method)(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize(
    "name,args",
    [
        ("complaints:batch_list", []),
        ("complaints:batch_pdf", [1]),
        ("complaints:paper_entry", []),
        ("complaints:opinion_list", []),
        ("complaints:appraisal", []),
        ("complaints:appraisal_export", ["csv"]),
    ],
)
def test_staff_pages_need_a_login(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
