"""The card's private link: no login, that card only, once, until it expires, rate-limited, CSRF-protected."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from complaints.models import CustomerOpinion, SurveyCard
from complaints.views import public
from repairs import services as repair_services
from servicedesk.models import StatusChange
from tests.factories import log_call

from .conftest import card_of, run_for

ANSWER = {
    "attitude": "5",
    "technique": "4",
    "arrival": "3",
    "follow_through": "5",
    "opinion_kind": "complaint",
    "opinion_text": "The technician was late twice.",
}


def link(card, token=None, card_id=None):
    return reverse("survey_public:answer", kwargs={"card_id": card_id or card.pk, "token": token or card.token})


def assert_unchanged(card):
    fresh = SurveyCard.objects.get(pk=card.pk)
    assert fresh.status == SurveyCard.Status.ISSUED
    assert fresh.rating_attitude is None
    assert fresh.version == card.version
    assert not CustomerOpinion.objects.exists()


def test_the_customer_answers_from_the_link_without_logging_in(client, issued_card):
    page = client.get(link(issued_card))
    assert page.status_code == 200
    assert 'name="attitude"' in page.text
    assert page["Referrer-Policy"] == "same-origin"  # the token never leaves the site in a Referer
    assert "noindex" in page["X-Robots-Tag"]
    assert "no-store" in page["Cache-Control"]

    response = client.post(link(issued_card), ANSWER)

    assert response.status_code == 200
    assert 'id="survey-thanks"' in response.text
    card = SurveyCard.objects.get(pk=issued_card.pk)
    assert card.status == SurveyCard.Status.ANSWERED
    assert card.answer_channel == SurveyCard.Channel.ONLINE
    assert (card.rating_attitude, card.rating_technique, card.rating_arrival, card.rating_follow_through) == (
        5,
        4,
        3,
        5,
    )
    assert card.answered_by is None
    assert StatusChange.objects.filter(object_id=card.pk, to_status="answered").exists()


def test_a_guessed_token_is_not_found_and_changes_nothing(client, issued_card):
    for guess in ("A" * 16, issued_card.token[:-1] + ("x" if issued_card.token[-1] != "x" else "y"), "short"):
        assert client.get(link(issued_card, token=guess)).status_code == 404
        response = client.post(link(issued_card, token=guess), ANSWER)
        assert response.status_code == 404
        assert 'id="survey-link-problem"' in response.text
    assert_unchanged(issued_card)


def test_another_cards_token_on_this_cards_url_is_not_found(client, issued_card, dispatcher):
    other_call = log_call(dispatcher=dispatcher)
    from django.utils import timezone

    run_for(timezone.localdate())
    other = card_of(other_call)

    assert client.post(link(issued_card, token=other.token), ANSWER).status_code == 404
    assert client.post(link(other, token=issued_card.token), ANSWER).status_code == 404
    assert_unchanged(issued_card)
    assert SurveyCard.objects.get(pk=other.pk).status == SurveyCard.Status.ISSUED


def test_an_unknown_card_is_not_found(client, issued_card):
    assert client.get(link(issued_card, card_id=issued_card.pk + 1000)).status_code == 404


def test_a_second_answer_changes_nothing_and_says_so(client, issued_card):
    assert client.post(link(issued_card), ANSWER).status_code == 200
    first = SurveyCard.objects.get(pk=issued_card.pk)

    again = client.post(link(issued_card), {**ANSWER, "attitude": "1", "opinion_text": "changed my mind"})

    assert again.status_code == 410
    assert "already been answered" in again.text
    assert client.get(link(issued_card)).status_code == 410
    fresh = SurveyCard.objects.get(pk=issued_card.pk)
    assert fresh.rating_attitude == 5
    assert fresh.version == first.version
    assert CustomerOpinion.objects.count() == 1


def test_an_expired_link_is_gone_and_changes_nothing(client, clock, issued_card):
    clock.set(issued_card.link_expires_at + dt.timedelta(minutes=1))
    page = client.get(link(issued_card))
    assert page.status_code == 410
    assert "expired" in page.text
    assert client.post(link(issued_card), ANSWER).status_code == 410
    assert_unchanged(issued_card)


def test_the_link_still_works_just_before_it_expires(client, clock, issued_card):
    clock.set(issued_card.link_expires_at - dt.timedelta(minutes=1))
    assert client.post(link(issued_card), ANSWER).status_code == 200


def test_a_post_without_the_csrf_token_is_refused(issued_card):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(link(issued_card), ANSWER)
    assert response.status_code == 403
    assert_unchanged(issued_card)


def test_the_form_posts_with_its_csrf_token(issued_card):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(link(issued_card))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = strict.post(link(issued_card), {**ANSWER, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert SurveyCard.objects.get(pk=issued_card.pk).status == SurveyCard.Status.ANSWERED


def test_a_card_answered_with_nothing_gets_a_form_error(client, issued_card):
    response = client.post(link(issued_card), {"opinion_kind": "suggestion", "opinion_text": "  "})
    assert response.status_code == 400
    assert "no answer" in response.text
    assert_unchanged(issued_card)


def test_a_rating_outside_one_to_five_is_refused(client, issued_card):
    response = client.post(link(issued_card), {**ANSWER, "technique": "9"})
    assert response.status_code == 400
    assert_unchanged(issued_card)


def test_one_cards_link_is_rate_limited(client, issued_card):
    wrong = link(issued_card, token="B" * 16)
    statuses = [client.get(wrong).status_code for _ in range(public.PER_CARD_LIMIT)]
    assert set(statuses) == {404}
    # Even the right token is turned away until the window passes: guessing cannot go on.
    blocked = client.get(link(issued_card))
    assert blocked.status_code == 429
    assert blocked["Retry-After"]
    assert_unchanged(issued_card)


def test_one_address_is_rate_limited_across_cards(client, issued_card):
    for card_id in range(1, public.PER_ADDRESS_LIMIT + 1):
        client.get(link(issued_card, card_id=issued_card.pk + 1000 + card_id, token="C" * 16))
    assert client.get(link(issued_card)).status_code == 429
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    assert other_address.get(link(issued_card)).status_code == 200


@pytest.mark.parametrize("verb", ["put", "delete"])
def test_only_get_and_post_are_served(client, issued_card, verb):
    assert getattr(client, verb)(link(issued_card)).status_code == 405


def test_the_page_does_not_show_the_customers_phone(client, issued_card):
    page = client.get(link(issued_card))
    assert issued_card.customer.phone not in page.text


def test_the_opinion_names_the_technician_the_call_has_when_answered(client, issued_card, dispatcher, unit):
    from tests.factories import UserFactory

    new_tech = UserFactory(username="tech-new", unit=unit, roles=["technician"])
    repair_services.repair_call_dispatch(
        user=dispatcher, call_id=issued_card.call_id, technician=new_tech, reason="sick"
    )
    client.post(link(issued_card), ANSWER)
    assert CustomerOpinion.objects.get().technician == new_tech


def test_the_form_keeps_working_when_the_rate_limit_cache_is_down(client, issued_card, monkeypatch):
    class DownCache:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache down")

    monkeypatch.setattr("complaints.ratelimit.cache", DownCache())
    assert client.post(link(issued_card), ANSWER).status_code == 200


def test_behind_the_proxy_each_customer_has_their_own_address_limit(issued_card, settings):
    """Behind nginx every request comes from the proxy; the limit keys on the address nginx forwards."""
    settings.TRUSTED_PROXIES = ["10.9.9.9"]
    busy = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.1")
    for card_id in range(1, public.PER_ADDRESS_LIMIT + 1):
        busy.get(link(issued_card, card_id=issued_card.pk + 1000 + card_id, token="C" * 16))
    assert busy.get(link(issued_card)).status_code == 429
    another_customer = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert another_customer.get(link(issued_card)).status_code == 200
    # The limited customer cannot escape by writing another address in front of the proxy's entry.
    forged = Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.3, 203.0.113.1")
    assert forged.get(link(issued_card)).status_code == 429
