"""Branch isolation on every complaint-case URL: another unit's case, file, slip or record is a 404.

Every URL of the app that names an object is read from the resolver; a new one must be classified
here (or in test_isolation.py) or ``test_every_object_url_is_classified`` fails.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import ComplaintCase, ReminderSlip
from complaints.views.case_records import ACTION_STEPS
from complaints.views.opinion_handling import OPINION_ACTIONS
from servicedesk.exceptions import ApplicationError
from servicedesk.models import StatusChange
from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.urlwalk import routes

S = ComplaintCase.Status

# name → (method, which object the pk is)
OBJECT_URLS = {
    "complaints:case_detail": ("get", "case"),
    "complaints:case_pdf": ("get", "case"),
    "complaints:case_transition": ("post", "case"),
    "complaints:attachment_upload": ("post", "case"),
    "complaints:case_follow_up": ("post", "case"),
    "complaints:return_add": ("post", "case"),
    "complaints:cost_add": ("post", "case"),
    "complaints:action_add": ("post", "case"),
    "complaints:attachment_download": ("get", "attachment"),
    "complaints:return_check": ("post", "return"),
    "complaints:return_resolve": ("post", "return"),
    "complaints:return_post": ("post", "return"),
    "complaints:action_step": ("post", "action"),
    "complaints:reminder_slip_pdf": ("get", "slip"),
    "complaints:opinion_detail": ("get", "opinion"),
    "complaints:opinion_letter": ("get", "opinion"),
    "complaints:opinion_action": ("post", "opinion"),
}
# URLs with a parameter that is not an object (an export format).
NOT_OBJECTS = {"complaints:case_reports_export"}
LIST_URLS = [
    "complaints:case_list",
    "complaints:case_inbox",
    "complaints:opinion_inbox",
    "complaints:gm_office",
    "complaints:receivables",
    "complaints:case_reports",
    "complaints:opinion_list",
]


def _complaint_routes():
    return [r for r in routes() if r.namespace == "complaints"]


def test_every_object_url_is_classified():
    older = (Path(__file__).parent / "test_isolation.py").read_text()
    unclassified = {
        r.name
        for r in _complaint_routes()
        if r.kwargs and r.name not in OBJECT_URLS and r.name not in NOT_OBJECTS and f'"{r.name}"' not in older
    }
    assert not unclassified, f"classify {sorted(unclassified)} in tests/complaints/test_cases_isolation.py"


@pytest.fixture
def ours(flow, people, settings, tmp_path):
    """One of everything in this unit: a case mid-way with a file, a return, an action and an overdue slip."""
    settings.MEDIA_ROOT = tmp_path
    past = timezone.now() - dt.timedelta(days=9)
    case = flow.open(received_at=past, now=past, severity="serious")
    services.reminder_slips_issue(now=timezone.now())
    attachment = services.case_attachment_add(
        user=people["dispatcher"], case_id=case.pk, upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n0000")
    )
    item = services.return_allowance_record(
        user=people["dispatcher"],
        case_id=case.pk,
        kind="return",
        invoice_number="INV-SECRET-1",
        item="主板",
        slip_quantity="1",
        unit_price="10",
        slip_amount="10",
    )
    action = services.improvement_action_propose(
        user=people["dispatcher"],
        case_id=case.pk,
        proposal="x",
        owner=people["supervisor"],
        due_on=timezone.localdate(),
    )
    services.customer_opinion_resolve(user=people["deputy_gm"], opinion_id=case.opinion_id, outcome="已处理")
    return {
        "case": case,
        "attachment": attachment,
        "return": item,
        "action": action,
        "slip": ReminderSlip.objects.get(),
        "opinion": case.opinion,
    }


@pytest.fixture
def stranger(other_unit):
    """Another branch's user with every role: only the unit boundary can refuse."""
    return UserFactory(username="sz-everything", unit=other_unit, roles=list(Role))


def _urls(ours):
    for route in _complaint_routes():
        if route.name not in OBJECT_URLS:
            continue
        method, kind = OBJECT_URLS[route.name]
        pk = ours[kind].pk
        if "to_status" in route.kwargs:
            variants = [{"to_status": s} for s in S.values]
        elif "action" in route.kwargs:
            variants = [{"action": a} for a in OPINION_ACTIONS]
        elif "step" in route.kwargs:
            variants = [{"step": s} for s in ACTION_STEPS]
        else:
            variants = [{}]
        for extra in variants:
            yield route.name, method, reverse(route.name, kwargs={"pk": pk, **extra})


def test_another_branch_gets_404_on_every_url_of_our_records(client, ours, stranger):
    client.force_login(stranger)
    history = StatusChange.objects.count()
    payload = {
        "note": "x",
        "investigation_findings": "x",
        "comprehensive_opinion": "x",
        "customer_result": "x",
        "claimed_amount": "1",
        "kind": "return",
        "invoice_number": "X",
        "item": "x",
        "slip_quantity": "1",
        "unit_price": "1",
        "slip_amount": "1",
        "returned_quantity": "1",
        "accepted_quantity": "1",
        "voucher_number": "V",
        "description": "x",
        "amount": "1",
        "proposal": "x",
        "due_on": "2099-01-01",
        "execution": "x",
        "effect": "x",
        "confirmed": "1",
        "outcome": "x",
        "severity": "general",
        "method": "visit",
        "summary": "x",
        "followed_up_at": "2026-01-01T10:00",
    }
    seen = set()
    for name, method, url in _urls(ours):
        response = getattr(client, method)(url, payload if method == "post" else {})
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
        seen.add(name)
    assert seen == set(OBJECT_URLS)
    assert StatusChange.objects.count() == history
    assert ComplaintCase.objects.get(pk=ours["case"].pk).version == ours["case"].version


@pytest.mark.parametrize("name", LIST_URLS)
def test_no_list_shows_another_branchs_cases(client, ours, stranger, name):
    client.force_login(stranger)
    response = client.get(reverse(name))
    assert response.status_code in (200, 403)
    for secret in (ours["case"].number, "华东精密机械", "INV-SECRET-1"):
        assert secret not in response.text


def test_head_office_and_the_own_unit_reach_the_case(client, ours, people):
    for user in (people["dispatcher"], people["gm_office"], people["quality"]):
        client.force_login(user)
        assert client.get(reverse("complaints:case_detail", args=[ours["case"].pk])).status_code == 200


def test_the_responsible_branch_sees_the_case_it_must_answer_for(client, flow, other_unit):
    head = UserFactory(username="sz-head", unit=other_unit, roles=[Role.DEPARTMENT_HEAD])
    case = flow.to(flow.open(), "investigation")
    data = flow.data(case, "cause_analysis")
    data.responsible_unit = other_unit
    flow.step(case, "cause_analysis", data=data)
    client.force_login(head)
    assert client.get(reverse("complaints:case_detail", args=[case.pk])).status_code == 200
    assert case.number in client.get(reverse("complaints:case_inbox")).text


def test_each_stage_owner_finds_the_case_in_their_inbox(client, flow, people):
    case = flow.open()
    while case.status != "audited":
        following = flow.PATH[flow.PATH.index(case.status) + 1] if case.status != "received" else flow.PATH[0]
        owner = flow.actor(case, following)
        client.force_login(owner)
        assert case.number in client.get(reverse("complaints:case_inbox")).text, (case.status, owner)
        for user in people.values():
            if user != owner and user not in (people["service"],) and not _owns(case, user):
                client.force_login(user)
                assert case.number not in client.get(reverse("complaints:case_inbox")).text, (case.status, user)
        case = flow.to(case, following)


def _owns(case, user):
    from complaints.stages import stage_rules, user_owns_stage

    return user_owns_stage(user=user, case=case, rules=stage_rules())


@pytest.mark.parametrize("name", ["complaints:case_list", "complaints:case_inbox"])
def test_case_lists_run_a_fixed_number_of_queries(client, flow, people, name, django_assert_max_num_queries):
    for _ in range(2):
        flow.open()
    client.force_login(people["dispatcher"])
    client.get(reverse(name))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse(name))
    for _ in range(10):
        flow.open()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(name)).status_code == 200


def test_the_case_page_runs_a_fixed_number_of_queries(client, flow, people, django_assert_max_num_queries):
    """However many records the case has; both on the first request after a change (what the page keeps per
    process, complaints.case_page_cache, read again) and on the next (kept)."""
    case = flow.to(flow.open(), "cause_analysis")
    client.force_login(people["gm_office"])
    client.get(case.get_absolute_url())

    def add(n):
        for i in range(n):
            services.case_cost_record(user=people["dispatcher"], case_id=case.pk, description=f"c{i}", amount="1")
            services.improvement_action_propose(
                user=people["dispatcher"],
                case_id=case.pk,
                proposal="p",
                owner=people["factory"],
                due_on=timezone.localdate(),
            )

    add(1)
    with django_assert_max_num_queries(40) as small_after_change:
        client.get(case.get_absolute_url())
    with django_assert_max_num_queries(40) as small_kept:
        client.get(case.get_absolute_url())
    add(5)
    with django_assert_max_num_queries(len(small_after_change.captured_queries)):
        assert client.get(case.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(len(small_kept.captured_queries)):
        assert client.get(case.get_absolute_url()).status_code == 200
    assert len(small_kept.captured_queries) < len(small_after_change.captured_queries)


# --- Issue 12: an improvement action's owner comes from the case's unit or the head-office departments involved ---


def test_the_action_owner_picker_lists_only_the_cases_unit_and_the_departments_involved(
    flow, people, other_unit, quality_unit
):
    from complaints.case_forms import ActionProposeForm

    stranger = UserFactory(username="sz-sup-owner", unit=other_unit, roles=[Role.SUPERVISOR])
    case = flow.to(flow.open(), "cause_analysis")  # quality investigated; manufacturing is responsible
    choices = set(ActionProposeForm(case=case).fields["owner"].queryset)
    assert {people["dispatcher"], people["supervisor"], people["factory"], people["quality"]} <= choices
    assert stranger not in choices


def test_a_forged_owner_from_another_branch_is_refused_with_a_reason(client, flow, people, other_unit):
    from complaints.models import ImprovementAction

    stranger = UserFactory(username="sz-sup-owner", unit=other_unit, roles=[Role.SUPERVISOR])
    case = flow.to(flow.open(), "cause_analysis")
    with pytest.raises(ApplicationError, match="head-office department"):
        services.improvement_action_propose(
            user=people["dispatcher"], case_id=case.pk, proposal="x", owner=stranger, due_on=timezone.localdate()
        )
    client.force_login(people["dispatcher"])
    response = client.post(
        reverse("complaints:action_add", args=[case.pk]),
        {"proposal": "加严检验", "owner": stranger.pk, "due_on": timezone.localdate().isoformat()},
    )
    assert response.status_code < 500
    assert not ImprovementAction.objects.filter(owner=stranger).exists()
    page = response.text if response.status_code != 302 else client.get(response.url).text
    assert "head-office department" in page
