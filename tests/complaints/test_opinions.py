"""Clause 二十三: a card's suggestion or complaint becomes a record for the service department."""

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import CustomerOpinion
from repairs import services as repair_services
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import UserFactory, log_call

from .conftest import card_of, run_for

LIST = reverse("complaints:opinion_list")


def answer(card, **kwargs):
    return services.survey_card_answer_online(
        card_id=card.pk, token=card.token, answer=services.SurveyAnswer(**{"attitude": 2, **kwargs})
    )


def test_a_cards_complaint_becomes_a_customer_opinion(issued_card, technician):
    answer(issued_card, opinion_kind="complaint", opinion_text="  Came two days late.  ")

    opinion = CustomerOpinion.objects.get()
    assert opinion.kind == CustomerOpinion.Kind.COMPLAINT
    assert opinion.severity == CustomerOpinion.Severity.GENERAL  # staff decide if it is serious
    assert opinion.source == CustomerOpinion.Source.SURVEY_CARD
    assert opinion.status == CustomerOpinion.Status.NEW
    assert opinion.text == "Came two days late."
    assert opinion.survey_card_id == issued_card.pk
    assert opinion.call_id == issued_card.call_id
    assert opinion.customer_id == issued_card.customer_id
    assert opinion.unit_id == issued_card.unit_id
    assert opinion.technician == technician


def test_a_suggestion_on_paper_becomes_a_suggestion(issued_card, dispatcher):
    services.survey_card_answer_on_paper(
        user=dispatcher,
        card_id=issued_card.pk,
        answer=services.SurveyAnswer(opinion_kind="suggestion", opinion_text="Call before coming."),
    )
    opinion = CustomerOpinion.objects.get()
    assert opinion.kind == CustomerOpinion.Kind.SUGGESTION
    assert opinion.created_by == dispatcher


def test_a_card_with_ratings_only_creates_no_opinion(issued_card):
    answer(issued_card)
    assert not CustomerOpinion.objects.exists()


def test_an_opinion_is_recorded_through_the_service_for_other_sources(dispatcher, unit, other_unit):
    call = log_call(dispatcher=dispatcher)
    opinion = services.customer_opinion_record(
        unit=unit,
        customer=call.customer,
        call=call,
        kind="complaint",
        source="phone",
        text="Rude on the phone",
        received_at=timezone.now(),
        by=dispatcher,
    )
    assert opinion.source == CustomerOpinion.Source.PHONE
    with pytest.raises(ApplicationError):
        services.customer_opinion_record(
            unit=other_unit,
            customer=call.customer,
            kind="complaint",
            source="letter",
            text="x",
            received_at=timezone.now(),
        )
    with pytest.raises(ApplicationError):
        services.customer_opinion_record(
            unit=unit, customer=call.customer, kind="praise", source="letter", text="x", received_at=timezone.now()
        )


@pytest.fixture
def two_units_opinions(dispatcher, other_dispatcher, technician):
    here = log_call(dispatcher=dispatcher, problem="here")
    there = log_call(dispatcher=other_dispatcher, problem="there")
    run_for(timezone.localdate())
    answer(card_of(here), opinion_kind="complaint", opinion_text="Complaint from Shanghai")
    answer(card_of(there), opinion_kind="suggestion", opinion_text="Suggestion from Suzhou")


def test_head_office_sees_every_units_opinions(client, service_staff, two_units_opinions):
    client.force_login(service_staff)
    page = client.get(LIST)
    assert page.status_code == 200
    assert "Complaint from Shanghai" in page.text
    assert "Suggestion from Suzhou" in page.text


def test_a_units_supervisor_sees_only_their_units_opinions(client, supervisor, two_units_opinions):
    client.force_login(supervisor)
    page = client.get(LIST)
    assert "Complaint from Shanghai" in page.text
    assert "Suggestion from Suzhou" not in page.text


def test_the_list_filters_by_kind(client, service_staff, two_units_opinions):
    client.force_login(service_staff)
    page = client.get(LIST, {"kind": "suggestion"})
    assert "Suggestion from Suzhou" in page.text
    assert "Complaint from Shanghai" not in page.text


def test_dispatchers_and_technicians_do_not_see_the_list(client, dispatcher, technician):
    for user in (dispatcher, technician):
        client.force_login(user)
        assert client.get(LIST).status_code == 403


def test_the_service_department_acknowledges_an_opinion_once(client, service_staff, two_units_opinions):
    opinion = CustomerOpinion.objects.get(kind="complaint")
    client.force_login(service_staff)
    response = client.post(reverse("complaints:opinion_acknowledge", args=[opinion.pk]))
    assert response.status_code == 302
    opinion.refresh_from_db()
    assert opinion.status == CustomerOpinion.Status.ACKNOWLEDGED
    with pytest.raises(ApplicationError):
        services.customer_opinion_acknowledge(user=service_staff, opinion_id=opinion.pk)


def test_a_supervisor_cannot_acknowledge(client, supervisor, two_units_opinions):
    opinion = CustomerOpinion.objects.get(kind="complaint")
    client.force_login(supervisor)
    assert client.post(reverse("complaints:opinion_acknowledge", args=[opinion.pk])).status_code == 403


def test_another_units_service_user_gets_404_on_acknowledge(client, other_unit, two_units_opinions):
    # A unit-level holder of the permission still stops at the unit boundary.
    outsider = UserFactory(username="sz-service", unit=other_unit, roles=[Role.SERVICE_DEPARTMENT])
    opinion = CustomerOpinion.objects.get(kind="complaint")
    client.force_login(outsider)
    assert client.post(reverse("complaints:opinion_acknowledge", args=[opinion.pk])).status_code == 404
    opinion.refresh_from_db()
    assert opinion.status == CustomerOpinion.Status.NEW


def test_the_list_runs_a_fixed_number_of_queries(
    client, service_staff, dispatcher, technician, django_assert_max_num_queries
):
    def add(n):
        calls = [log_call(dispatcher=dispatcher) for _ in range(n)]
        for call in calls:
            repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        run_for(timezone.localdate())
        for call in calls:
            answer(card_of(call), opinion_kind="complaint", opinion_text=f"about {call.number}")

    client.force_login(service_staff)
    add(2)
    with django_assert_max_num_queries(10):
        assert client.get(LIST).status_code == 200
    add(15)
    with django_assert_max_num_queries(10):
        page = client.get(LIST)
    assert page.text.count("about RC-") == 17
