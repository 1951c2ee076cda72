"""Clauses 二十六, 二十八: serious complaints go to the deputy GM first; every complaint gets a supervisor visit."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.case_selectors import opinion_inbox
from complaints.models import CustomerOpinion, OpinionFollowUp
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import CustomerFactory, UserFactory


def record(unit, *, severity="general", kind="complaint", hours_ago=1, by=None, text="机器又坏了"):
    return services.customer_opinion_record(
        unit=unit,
        customer=CustomerFactory(unit=unit),
        kind=kind,
        source="phone",
        severity=severity,
        text=text,
        received_at=timezone.now() - dt.timedelta(hours=hours_ago),
        by=by,
    )


def test_a_serious_complaint_goes_at_once_to_the_deputy_gms_queue(unit, people):
    opinion = record(unit, severity="serious")
    assert opinion.queue == CustomerOpinion.Queue.DEPUTY_GM
    assert opinion in opinion_inbox(user=people["deputy_gm"])
    assert opinion not in opinion_inbox(user=people["service"])


def test_a_general_complaint_stays_with_the_service_department(unit, people):
    opinion = record(unit, severity="general")
    assert opinion.queue == CustomerOpinion.Queue.SERVICE_DEPARTMENT
    assert opinion in opinion_inbox(user=people["service"])
    assert opinion not in opinion_inbox(user=people["deputy_gm"])


def test_serious_ones_are_listed_ahead_of_older_general_ones(unit, people):
    deputy = people["deputy_gm"]
    # The deputy GM may also handle general ones when given both rights; order must put serious first.
    deputy.groups.add(*UserFactory(username="x", unit=deputy.unit, roles=[Role.SERVICE_DEPARTMENT]).groups.all())
    deputy = type(deputy).objects.get(pk=deputy.pk)
    old_general = record(unit, severity="general", hours_ago=50)
    new_serious = record(unit, severity="serious", hours_ago=1)
    listed = list(opinion_inbox(user=deputy))
    assert listed.index(new_serious) < listed.index(old_general)


def test_reclassifying_as_serious_moves_it_to_the_deputy_gm(unit, people):
    opinion = record(unit, severity="general")
    services.customer_opinion_classify(
        user=people["service"], opinion_id=opinion.pk, kind="complaint", severity="serious"
    )
    opinion.refresh_from_db()
    assert opinion.queue == CustomerOpinion.Queue.DEPUTY_GM


def test_only_the_deputy_gm_handles_a_serious_complaint(unit, people):
    opinion = record(unit, severity="serious")
    with pytest.raises(ApplicationError):
        services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已处理")
    with pytest.raises(ApplicationError):
        services.customer_opinion_acknowledge(user=people["service"], opinion_id=opinion.pk)
    services.customer_opinion_forward(
        user=people["deputy_gm"], opinion_id=opinion.pk, to_unit=people["quality"].unit, note="请品管调查"
    )
    resolved = services.customer_opinion_resolve(
        user=people["deputy_gm"], opinion_id=opinion.pk, outcome="已更换主板并致歉"
    )
    assert resolved.status == CustomerOpinion.Status.RESOLVED
    assert resolved.letter_number.startswith("HG-")


def test_a_general_complaint_gets_no_letter_number(unit, people):
    opinion = record(unit)
    resolved = services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已处理")
    assert resolved.letter_number == ""


@pytest.mark.parametrize("severity", ["general", "serious"])
def test_a_complaint_cannot_close_before_the_supervisors_follow_up(unit, people, severity):
    opinion = record(unit, severity=severity)
    handler = people["deputy_gm"] if severity == "serious" else people["service"]
    services.customer_opinion_resolve(user=handler, opinion_id=opinion.pk, outcome="已处理")
    with pytest.raises(ApplicationError, match="follow-up"):
        services.customer_opinion_close(user=handler, opinion_id=opinion.pk)
    assert CustomerOpinion.objects.get(pk=opinion.pk).status == CustomerOpinion.Status.RESOLVED
    services.opinion_follow_up_record(
        user=people["supervisor"],
        opinion_id=opinion.pk,
        followed_up_at=timezone.now(),
        method="visit",
        summary="登门拜访，客户满意",
    )
    closed = services.customer_opinion_close(user=handler, opinion_id=opinion.pk)
    assert closed.status == CustomerOpinion.Status.CLOSED


def test_a_suggestion_closes_without_a_follow_up(unit, people):
    opinion = record(unit, kind="suggestion")
    services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已采纳")
    assert services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk).status == "closed"


def test_only_the_units_own_supervisor_records_the_follow_up(unit, other_unit, people, dispatcher):
    opinion = record(unit)
    other_supervisor = UserFactory(username="sz-sup", unit=other_unit, roles=[Role.SUPERVISOR])
    for user in (other_supervisor, dispatcher, people["service"]):
        with pytest.raises(ApplicationError):
            services.opinion_follow_up_record(
                user=user, opinion_id=opinion.pk, followed_up_at=timezone.now(), method="visit", summary="x"
            )
    assert not OpinionFollowUp.objects.exists()


def test_a_follow_up_in_the_future_is_refused(unit, people):
    opinion = record(unit)
    with pytest.raises(ApplicationError):
        services.opinion_follow_up_record(
            user=people["supervisor"],
            opinion_id=opinion.pk,
            followed_up_at=timezone.now() + dt.timedelta(days=1),
            method="phone",
            summary="x",
        )


def test_the_follow_up_page_form_records_it(client, unit, people):
    opinion = record(unit)
    client.force_login(people["supervisor"])
    page = client.get(reverse("complaints:opinion_detail", args=[opinion.pk]))
    assert page.status_code == 200 and 'id="opinion-follow_up"' in page.text
    response = client.post(
        reverse("complaints:opinion_action", args=[opinion.pk, "follow_up"]),
        {"followed_up_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "method": "visit", "summary": "已拜访"},
    )
    assert response.status_code == 302
    assert opinion.follow_ups.count() == 1


def test_closing_on_the_page_without_a_follow_up_shows_the_reason(client, unit, people):
    opinion = record(unit)
    services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已处理")
    client.force_login(people["service"])
    response = client.post(reverse("complaints:opinion_action", args=[opinion.pk, "close"]), {"note": ""})
    assert response.status_code == 400
    assert "follow-up" in response.text
    assert CustomerOpinion.objects.get(pk=opinion.pk).status == CustomerOpinion.Status.RESOLVED


def test_recording_by_phone_on_the_page(client, unit, people, dispatcher):
    customer = CustomerFactory(unit=unit)
    client.force_login(dispatcher)
    response = client.post(
        reverse("complaints:opinion_record"),
        {
            "unit": unit.pk,
            "customer": customer.pk,
            "kind": "complaint",
            "severity": "serious",
            "source": "visit",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "text": "态度恶劣",
        },
    )
    assert response.status_code == 302
    opinion = CustomerOpinion.objects.get()
    assert (opinion.source, opinion.queue, opinion.created_by) == ("visit", "deputy_gm", dispatcher)


def test_the_inbox_page_runs_a_fixed_number_of_queries(client, unit, people, django_assert_max_num_queries):
    for i in range(3):
        record(unit, severity="serious" if i % 2 else "general")
    client.force_login(people["deputy_gm"])
    client.get(reverse("complaints:opinion_inbox"))
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("complaints:opinion_inbox"))
    for i in range(15):
        record(unit, severity="serious" if i % 2 else "general")
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(reverse("complaints:opinion_inbox"))
    assert page.status_code == 200
