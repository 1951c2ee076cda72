"""DOMAIN 7: a case moves stage by stage, each by its owner, only along TRANSITIONS, with history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from complaints.models import ApprovalAuthority, ComplaintCase
from complaints.services import StageInput
from complaints.stages import stage_due_at, stage_rules
from servicedesk.calendars import CalendarSpec
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from servicedesk.workflow import history_for
from tests.factories import UserFactory

S = ComplaintCase.Status
ALLOWED = [(a, b) for a, targets in ComplaintCase.TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in S.values for b in S.values if b not in ComplaintCase.TRANSITIONS[a]]


def reach(flow, stage):
    """A fresh case in ``stage`` (the approval's send-back path reaches opinion the normal way)."""
    return flow.to(flow.open(), stage)


@pytest.mark.parametrize("from_status,to_status", ALLOWED, ids=lambda v: str(v))
def test_every_allowed_transition_is_done_by_the_stages_owner(flow, from_status, to_status):
    case = reach(flow, from_status)
    if to_status == "closed":
        flow.follow_up(case)
    history_before = history_for(case).count()
    moved = flow.step(case, to_status)
    assert moved.status == to_status
    assert history_for(case).count() == history_before + 1
    last = history_for(case).last()
    assert (last.from_status, last.to_status, last.by) == (from_status, to_status, flow.actor(case, to_status))
    assert last.note == f"to {to_status}"


@pytest.mark.parametrize("from_status,to_status", ALLOWED, ids=lambda v: str(v))
def test_every_allowed_transition_is_refused_to_someone_who_does_not_own_the_stage(
    flow, people, from_status, to_status
):
    case = reach(flow, from_status)
    owner = flow.actor(case, to_status)
    strangers = [u for u in people.values() if u != owner and not _also_owns(case, u)]
    assert strangers
    for stranger in strangers:
        with pytest.raises(ApplicationError):
            flow.step(case, to_status, user=stranger)
    assert ComplaintCase.objects.get(pk=case.pk).status == from_status


def _also_owns(case, user):
    from complaints.stages import user_owns_stage

    return user_owns_stage(user=user, case=case, rules=stage_rules())


@pytest.mark.parametrize("from_status,to_status", REFUSED, ids=lambda v: str(v))
def test_every_transition_outside_the_table_is_refused(flow, people, from_status, to_status):
    case = reach(flow, from_status)
    # Even the current stage's owner (for an audited case: the GM office) cannot jump or go back.
    user = flow.actor(case, to_status) if from_status != "audited" else people["gm_office"]
    with pytest.raises(ApplicationError):
        flow.step(case, to_status, user=user)
    assert ComplaintCase.objects.get(pk=case.pk).status == from_status


def test_the_investigation_must_name_cause_and_responsible_department(flow):
    case = reach(flow, "investigation")
    with pytest.raises(ApplicationError) as excinfo:
        flow.step(case, "cause_analysis", data=StageInput(investigation_findings="x"))
    assert excinfo.value.field == "cause_category"
    assert ComplaintCase.objects.get(pk=case.pk).status == "investigation"


def test_the_responsible_person_must_belong_to_the_responsible_department(flow, people, factory_unit):
    case = reach(flow, "investigation")
    data = flow.data(case, "cause_analysis")
    data.responsible_person = people["dispatcher"]
    with pytest.raises(ApplicationError) as excinfo:
        flow.step(case, "cause_analysis", data=data)
    assert excinfo.value.field == "responsible_person"
    data.responsible_person = people["factory"]
    moved = flow.step(case, "cause_analysis", data=data)
    assert moved.responsible_person == people["factory"] and moved.responsible_unit == factory_unit


@pytest.mark.parametrize(
    "claimed,role",
    [
        ("0.00", "service_department"),
        ("4999.99", "service_department"),
        ("5000.00", "deputy_gm"),
        ("80000", "gm_office"),
    ],
)
def test_approval_is_by_the_role_the_authority_table_names_for_the_amount(flow, people, claimed, role):
    case = flow.to(flow.open(claimed=claimed), "approval")
    assert case.approval_role == role
    approvers = {"service_department": "service", "deputy_gm": "deputy_gm", "gm_office": "gm_office"}
    for name, user in people.items():
        if name == approvers[role]:
            continue
        with pytest.raises(ApplicationError):
            flow.step(case, "explanation", user=user)
    approved = flow.step(case, "explanation", user=people[approvers[role]])
    assert approved.status == "explanation"
    assert approved.approved_by == people[approvers[role]]
    assert approved.ruled_at is not None and approved.is_ruled


def test_an_edited_authority_table_routes_new_submissions(flow, people):
    ApprovalAuthority.objects.filter(role="service_department").update(role="deputy_gm")
    case = flow.to(flow.open(claimed="100"), "approval")
    assert case.approval_role == "deputy_gm"


def test_nobody_approves_what_they_submitted(flow, people, head_office):
    # A service-department member may write the opinion for any unit AND approves small amounts.
    writer = people["service"]
    colleague = UserFactory(username="svc-2", unit=head_office, roles=[Role.SERVICE_DEPARTMENT])
    case = flow.to(flow.open(claimed="100"), "opinion")
    flow.step(case, "approval", user=writer)
    case.refresh_from_db()
    assert (case.opinion_submitted_by, case.approval_role) == (writer, "service_department")
    with pytest.raises(ApplicationError, match="submitted"):
        flow.step(case, "explanation", user=writer)
    with pytest.raises(ApplicationError, match="submitted"):
        flow.step(case, "opinion", user=writer, data=StageInput(note="自己退回"))
    assert flow.step(case, "explanation", user=colleague).approved_by == colleague


def test_sending_back_needs_a_reason_and_the_resubmission_is_approved_anew(flow, people):
    case = flow.to(flow.open(claimed="100"), "approval")
    with pytest.raises(ApplicationError):
        flow.step(case, "opinion", user=people["service"], data=StageInput(note=""))
    back = flow.step(case, "opinion", user=people["service"], data=StageInput(note="金额需核实"))
    assert back.status == "opinion" and back.ruled_at is None
    again = flow.to(back, "approval")
    assert again.status == "approval"


def test_a_case_cannot_close_before_the_supervisors_follow_up(flow, people):
    case = flow.to(flow.open(), "explanation")
    with pytest.raises(ApplicationError, match="follow-up"):
        flow.step(case, "closed")
    flow.follow_up(case)
    closed = flow.step(case, "closed")
    assert closed.status == "closed" and closed.closed_at is not None


def test_opening_a_case_records_the_complaint_it_hangs_on(flow):
    case = flow.open()
    assert case.opinion.kind == "complaint"
    assert case.number.startswith("KS-")
    assert case.status == S.RECEIVED and case.stage_due_at is not None


def test_another_units_customer_cannot_be_opened_in_this_unit(flow, other_unit):
    from tests.factories import CustomerFactory

    with pytest.raises(ApplicationError):
        flow.open(customer=CustomerFactory(unit=other_unit))


# --- Deadlines ---------------------------------------------------------------------------------------------------


def _local(*args):
    return timezone.make_aware(dt.datetime(*args))


def test_the_comprehensive_opinion_has_one_working_day(db):
    rules = stage_rules()
    # Friday 16:00 on the default Monday–Friday 9–17 week: one working day ends Monday 16:00.
    assert stage_due_at(stage="opinion", start=_local(2026, 3, 6, 16), rules=rules) == _local(2026, 3, 9, 16)


def test_a_stage_entered_in_the_evening_starts_counting_next_morning(db):
    rules = stage_rules()
    assert stage_due_at(stage="opinion", start=_local(2026, 3, 4, 20), rules=rules) == _local(2026, 3, 5, 17)
    # The investigation: three working days.
    assert stage_due_at(stage="investigation", start=_local(2026, 3, 4, 20), rules=rules) == _local(2026, 3, 9, 17)


def test_the_calendars_holidays_are_skipped(db):
    from complaints.models import StageDeadline
    from servicedesk.models import CalendarException, WorkingCalendar, WorkingWindow

    calendar = WorkingCalendar.objects.create(name="cn")
    WorkingWindow.objects.create(calendar=calendar, start=dt.time(8, 30), end=dt.time(17, 30))
    CalendarException.objects.create(calendar=calendar, date=dt.date(2026, 3, 5))
    StageDeadline.objects.filter(stage="opinion").update(calendar=calendar)
    due = stage_due_at(stage="opinion", start=_local(2026, 3, 4, 17, 30), rules=stage_rules())
    assert due == _local(2026, 3, 6, 17, 30)


def test_each_transition_sets_the_next_stages_deadline(flow):
    case = flow.open()
    moved = flow.to(case, "opinion")
    expected = stage_due_at(stage="opinion", start=moved.stage_entered_at, rules=stage_rules())
    assert moved.stage_due_at == expected
    audited = flow.to(moved, "audited")
    assert audited.stage_due_at is None


def test_the_default_calendar_is_monday_to_friday_nine_to_five():
    assert CalendarSpec().windows == ((dt.time(9), dt.time(17)),)


def test_money_stays_decimal(flow):
    case = flow.open(claimed="1234.5")
    case.refresh_from_db()
    assert case.claimed_amount == Decimal("1234.50")
