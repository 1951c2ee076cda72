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


# --- Issue 12: the deputy GM's decisions cannot be walked around; the follow-up is a visit in person ----------------


def _history_notes(opinion):
    from servicedesk.workflow import history_for

    return [change.note for change in history_for(opinion)]


def test_the_service_department_cannot_reclassify_a_serious_complaint_in_the_deputy_gms_queue(unit, people):
    opinion = record(unit, severity="serious")
    with pytest.raises(ApplicationError, match="deputy general manager"):
        services.customer_opinion_classify(
            user=people["service"], opinion_id=opinion.pk, kind="suggestion", severity="general", note="小事"
        )
    opinion.refresh_from_db()
    assert (opinion.kind, opinion.severity, opinion.queue) == ("complaint", "serious", "deputy_gm")


def test_the_service_department_cannot_turn_a_complaint_into_a_suggestion(unit, people):
    opinion = record(unit, severity="general")
    with pytest.raises(ApplicationError, match="deputy general manager"):
        services.customer_opinion_classify(
            user=people["service"], opinion_id=opinion.pk, kind="suggestion", severity="general", note="算建议"
        )
    assert CustomerOpinion.objects.get(pk=opinion.pk).kind == "complaint"


def test_the_deputy_gm_downgrades_only_with_a_reason_and_the_follow_up_is_still_owed(unit, people):
    opinion = record(unit, severity="serious")
    deputy = people["deputy_gm"]
    with pytest.raises(ApplicationError, match="reason"):
        services.customer_opinion_classify(user=deputy, opinion_id=opinion.pk, kind="suggestion", severity="general")
    services.customer_opinion_classify(
        user=deputy, opinion_id=opinion.pk, kind="suggestion", severity="general", note="客户只是提出改进建议"
    )
    opinion.refresh_from_db()
    assert (opinion.kind, opinion.severity, opinion.queue) == ("suggestion", "general", "service_department")
    assert any("客户只是提出改进建议" in note for note in _history_notes(opinion))
    # The customer complained: whatever it is now, the supervisor's follow-up is still owed (clause 二十八).
    services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已答复")
    with pytest.raises(ApplicationError, match="follow-up"):
        services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk)
    services.opinion_follow_up_record(
        user=people["supervisor"],
        opinion_id=opinion.pk,
        followed_up_at=timezone.now(),
        method="visit",
        summary="已拜访",
    )
    assert services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk).status == "closed"


def test_the_service_department_may_still_raise_a_general_complaint_to_serious(unit, people):
    opinion = record(unit, severity="general")
    services.customer_opinion_classify(
        user=people["service"], opinion_id=opinion.pk, kind="complaint", severity="serious"
    )
    assert CustomerOpinion.objects.get(pk=opinion.pk).queue == "deputy_gm"


def test_reclassifying_on_the_page_without_the_authority_shows_the_reason(client, unit, people):
    opinion = record(unit, severity="general")
    client.force_login(people["service"])
    response = client.post(
        reverse("complaints:opinion_action", args=[opinion.pk, "classify"]),
        {"kind": "suggestion", "severity": "general", "note": "算建议"},
    )
    assert response.status_code == 400
    assert "Only the deputy general manager" in response.text
    assert CustomerOpinion.objects.get(pk=opinion.pk).kind == "complaint"


def _resolved_complaint(unit, people):
    opinion = record(unit)
    services.customer_opinion_resolve(user=people["service"], opinion_id=opinion.pk, outcome="已处理")
    return opinion


def _follow_up(people, opinion, method):
    return services.opinion_follow_up_record(
        user=people["supervisor"], opinion_id=opinion.pk, followed_up_at=timezone.now(), method=method, summary="已联系"
    )


def test_a_phone_call_is_recorded_but_is_not_the_follow_up(client, unit, people):
    client.force_login(people["service"])
    opinion = _resolved_complaint(unit, people)
    _follow_up(people, opinion, "phone")
    assert opinion.follow_ups.count() == 1
    detail = client.get(reverse("complaints:opinion_detail", args=[opinion.pk]))
    assert 'id="follow-up-not-counting"' in detail.text
    with pytest.raises(ApplicationError, match="in person"):
        services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk)
    _follow_up(people, opinion, "visit")
    assert services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk).status == "closed"


def test_a_unit_whose_setting_allows_it_counts_a_phone_call(unit, other_unit, people):
    from complaints.models import FollowUpPolicy

    FollowUpPolicy.objects.create(unit=other_unit, phone_counts=True)
    opinion = _resolved_complaint(unit, people)
    _follow_up(people, opinion, "phone")
    with pytest.raises(ApplicationError, match="in person"):
        services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk)
    FollowUpPolicy.objects.create(unit=unit, phone_counts=True)
    assert services.customer_opinion_close(user=people["service"], opinion_id=opinion.pk).status == "closed"


def test_the_follow_up_setting_is_kept_by_administrators(db):
    from django.contrib import admin

    from complaints.models import FollowUpPolicy
    from servicedesk.roles import ADMIN_MODELS

    assert FollowUpPolicy in admin.site._registry
    assert ("complaints", "followuppolicy") in ADMIN_MODELS
    assert FollowUpPolicy._meta.get_field("phone_counts").default is False


# --- Issue 12: the repair call of a new opinion or case is a call number resolved within the user's units ---------


def _opinion_post(unit, customer, call_value):
    return {
        "unit": unit.pk,
        "customer": customer.pk,
        "call": call_value,
        "kind": "complaint",
        "severity": "general",
        "source": "phone",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "text": "维修后又坏了",
    }


def test_a_new_opinion_takes_the_repair_call_by_its_number(client, unit, dispatcher, technician):
    from repairs import services as repair_services
    from tests.factories import log_call

    call = log_call(dispatcher=dispatcher)
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    for _ in range(3):
        log_call(dispatcher=dispatcher)  # newer calls do not push it out of reach
    client.force_login(dispatcher)
    response = client.post(reverse("complaints:opinion_record"), _opinion_post(unit, call.customer, call.number))
    assert response.status_code == 302
    opinion = CustomerOpinion.objects.get()
    assert (opinion.call, opinion.technician) == (call, technician)


def test_another_units_call_number_is_refused_on_the_new_opinion_form(client, unit, dispatcher, other_dispatcher):
    from tests.factories import log_call

    theirs = log_call(dispatcher=other_dispatcher)
    client.force_login(dispatcher)
    customer = CustomerFactory(unit=unit)
    response = client.post(reverse("complaints:opinion_record"), _opinion_post(unit, customer, theirs.number))
    assert response.status_code == 200  # the form again, as the page's other refusals
    assert "No repair call with this number" in response.text
    assert not CustomerOpinion.objects.exists()
    # Leaving it empty is fine: the call is optional.
    assert client.post(reverse("complaints:opinion_record"), _opinion_post(unit, customer, "")).status_code == 302


def test_a_new_case_takes_the_repair_call_by_its_number(client, unit, dispatcher):
    from complaints.models import ComplaintCase
    from tests.factories import log_call

    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.post(
        reverse("complaints:case_open"),
        {
            "unit": unit.pk,
            "customer": call.customer.pk,
            "call": call.number,
            "kind": "product",
            "severity": "general",
            "source": "phone",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "description": "主板烧毁",
            "claimed_amount": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ComplaintCase.objects.get().call == call
