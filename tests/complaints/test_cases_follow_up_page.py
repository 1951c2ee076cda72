"""Where closing a case is refused for the supervisor's missing follow-up (clause 二十八), the way to record it is
right there: the follow-up form for the unit's supervisor, a link to the complaint for the others (issue 16)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from complaints.models import ComplaintCase, OpinionFollowUp

CLOSE = {"customer_result": "客户接受更换方案", "note": "x"}


def _close(client, case):
    return client.post(reverse("complaints:case_transition", args=[case.pk, "closed"]), CLOSE)


def test_a_refused_close_offers_the_supervisor_the_follow_up_form_and_closing_then_succeeds(client, flow, people):
    case = flow.to(flow.open(), "explanation")
    client.force_login(people["supervisor"])
    refused = _close(client, case)
    assert refused.status_code == 400
    assert ComplaintCase.objects.get(pk=case.pk).status == "explanation"
    page = refused.text
    assert 'id="follow-up-owed"' in page and "personal follow-up" in page
    action = reverse("complaints:case_follow_up", args=[case.pk])
    assert f'action="{action}"' in page and 'name="summary"' in page
    recorded = client.post(
        action,
        {"followed_up_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "method": "visit", "summary": "登门致歉"},
    )
    assert recorded.status_code == 302 and recorded.url == case.get_absolute_url()
    assert OpinionFollowUp.objects.filter(opinion=case.opinion, supervisor=people["supervisor"]).count() == 1
    after = client.get(case.get_absolute_url()).text
    assert 'id="follow-up-owed"' not in after
    assert _close(client, case).status_code == 302
    assert ComplaintCase.objects.get(pk=case.pk).status == "closed"


def test_someone_who_does_not_record_it_is_told_who_does_and_linked_to_the_complaint(client, flow, people):
    case = flow.to(flow.open(), "explanation")
    link = reverse("complaints:opinion_detail", args=[case.opinion_id]) + "#follow-up"
    # The service department may close any unit's case and read its complaint: a link to where it is recorded.
    client.force_login(people["service"])
    page = client.get(case.get_absolute_url()).text
    assert 'id="case-follow-up-form"' not in page and f'href="{link}"' in page
    refused = _close(client, case)
    assert refused.status_code == 400 and f'href="{link}"' in refused.text
    assert 'id="follow-up"' in client.get(link.split("#")[0]).text
    # A dispatcher does not read the opinions: told who records it, without a link that would be refused.
    client.force_login(people["dispatcher"])
    refused = _close(client, case)
    assert refused.status_code == 400 and 'id="follow-up-owed"' in refused.text
    assert "records it on the complaint" in refused.text and f'href="{link}"' not in refused.text


def test_a_bad_follow_up_is_a_form_error_on_the_case_page_and_saves_nothing(client, flow, people):
    case = flow.to(flow.open(), "explanation")
    client.force_login(people["supervisor"])
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("complaints:case_follow_up", args=[case.pk]),
        {"followed_up_at": future, "method": "visit", "summary": "x"},
    )
    assert response.status_code == 400
    assert 'id="case-follow-up-form"' in response.text and "future" in response.text
    assert not OpinionFollowUp.objects.filter(opinion=case.opinion).exists()


def test_a_phone_call_that_does_not_count_keeps_the_form_and_says_why(client, flow, people):
    case = flow.to(flow.open(), "explanation")
    client.force_login(people["supervisor"])
    client.post(
        reverse("complaints:case_follow_up", args=[case.pk]),
        {"followed_up_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "method": "phone", "summary": "电话致歉"},
    )
    page = client.get(case.get_absolute_url()).text
    assert "not a visit in person" in page and 'id="case-follow-up-form"' in page
