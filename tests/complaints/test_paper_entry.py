"""Returned paper cards typed in by the unit's clerk: by card number, keyboard only."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import CustomerOpinion, SurveyCard
from servicedesk.exceptions import ApplicationError
from tests.factories import log_call

from .conftest import card_of, run_for

URL = reverse("complaints:paper_entry")


def entry(card, **overrides):
    return {
        "card_number": str(card.pk),
        "attitude": "4",
        "technique": "5",
        "arrival": "2",
        "follow_through": "",
        "opinion_kind": "suggestion",
        "opinion_text": "",
        **overrides,
    }


def test_the_entry_form_is_ready_for_the_keyboard(client, dispatcher):
    client.force_login(dispatcher)
    page = client.get(URL)
    assert page.status_code == 200
    number = re.search(r"<input[^>]*name=\"card_number\"[^>]*>", page.text).group(0)
    assert "autofocus" in number
    assert 'type="number"' in number
    fields = re.findall(
        r'name="(card_number|attitude|technique|arrival|follow_through|opinion_kind|opinion_text)"', page.text
    )
    assert fields == [
        "card_number",
        "attitude",
        "technique",
        "arrival",
        "follow_through",
        "opinion_kind",
        "opinion_text",
    ]
    assert 'type="submit"' in page.text


def test_a_clerk_enters_a_returned_card_and_is_ready_for_the_next(client, dispatcher, issued_card):
    client.force_login(dispatcher)
    response = client.post(URL, entry(issued_card))

    assert response.status_code == 302
    assert response["Location"] == URL
    card = SurveyCard.objects.get(pk=issued_card.pk)
    assert card.status == SurveyCard.Status.ANSWERED
    assert card.answer_channel == SurveyCard.Channel.PAPER
    assert card.answered_by == dispatcher
    assert (card.rating_attitude, card.rating_technique, card.rating_arrival, card.rating_follow_through) == (
        4,
        5,
        2,
        None,
    )
    follow = client.get(URL)
    assert f"Card {card.display_number} saved" in follow.text
    assert card.customer.name in follow.text  # in the list of the last entries


def test_a_card_entered_twice_is_refused_with_a_clear_message(client, dispatcher, issued_card):
    client.force_login(dispatcher)
    client.post(URL, entry(issued_card))
    again = client.post(URL, entry(issued_card, attitude="1"))
    assert again.status_code == 400
    assert "already answered" in again.text
    assert SurveyCard.objects.get(pk=issued_card.pk).rating_attitude == 4


def test_a_card_answered_online_cannot_be_typed_in_over_it(client, dispatcher, issued_card):
    services.survey_card_answer_online(
        card_id=issued_card.pk, token=issued_card.token, answer=services.SurveyAnswer(attitude=5)
    )
    client.force_login(dispatcher)
    assert client.post(URL, entry(issued_card)).status_code == 400
    assert SurveyCard.objects.get(pk=issued_card.pk).rating_attitude == 5


def test_another_units_card_number_is_not_found(client, other_dispatcher, issued_card):
    client.force_login(other_dispatcher)
    response = client.post(URL, entry(issued_card))
    assert response.status_code == 400
    assert "no card with this number" in response.text
    assert SurveyCard.objects.get(pk=issued_card.pk).status == SurveyCard.Status.ISSUED


@pytest.mark.parametrize(
    "overrides",
    [
        {"card_number": "999999"},
        {"card_number": "abc"},
        {"attitude": "6"},
        {"technique": "0"},
        {"attitude": "", "technique": "", "arrival": "", "follow_through": "", "opinion_text": ""},
        {"opinion_text": "x" * 2001},
    ],
)
def test_bad_entries_get_a_form_error_and_save_nothing(client, dispatcher, issued_card, overrides):
    client.force_login(dispatcher)
    response = client.post(URL, entry(issued_card, **overrides))
    assert response.status_code == 400
    assert "invalid-feedback" in response.text or "alert-danger" in response.text
    assert SurveyCard.objects.get(pk=issued_card.pk).status == SurveyCard.Status.ISSUED
    assert not CustomerOpinion.objects.exists()


def test_a_technician_cannot_enter_cards(client, technician, issued_card):
    client.force_login(technician)
    assert client.get(URL).status_code == 403
    assert client.post(URL, entry(issued_card)).status_code == 403


def test_the_service_refuses_a_user_without_the_permission(technician, issued_card):
    with pytest.raises(ApplicationError):
        services.survey_card_answer_on_paper(
            user=technician, card_id=issued_card.pk, answer=services.SurveyAnswer(attitude=3)
        )


def test_the_entry_page_runs_a_fixed_number_of_queries(client, dispatcher, django_assert_max_num_queries):
    client.force_login(dispatcher)
    calls = [log_call(dispatcher=dispatcher) for _ in range(12)]
    run_for(timezone.localdate())
    for call in calls[:2]:
        client.post(URL, entry(card_of(call)))
    with django_assert_max_num_queries(8):
        client.get(URL)
    for call in calls[2:]:
        client.post(URL, entry(card_of(call)))
    with django_assert_max_num_queries(8):
        client.get(URL)
