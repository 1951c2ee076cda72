"""DOMAIN 7: a case moves stage by stage, each by its owner, only along TRANSITIONS, with history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from complaints.models import ApprovalAuthority, ComplaintCase, CustomerOpinion
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
        ("0.00", "sales_manager"),
        ("4999.99", "sales_manager"),
        ("5000.00", "deputy_gm"),
        ("80000", "gm_office"),
    ],
)
def test_approval_is_by_the_role_the_authority_table_names_for_the_amount(flow, people, claimed, role):
    case = flow.to(flow.open(claimed=claimed), "approval")
    assert case.approval_role == role
    # The named role or a higher rank (sales manager < deputy GM < GM office) approves; nobody else.
    order = ["sales_manager", "deputy_gm", "gm_office"]
    may = set(order[order.index(role) :])
    for name, user in people.items():
        if name in may:
            continue
        with pytest.raises(ApplicationError):
            flow.step(case, "explanation", user=user)
    approved = flow.step(case, "explanation", user=people[role])
    assert approved.status == "explanation"
    assert approved.approved_by == people[role]
    assert approved.ruled_at is not None and approved.is_ruled


def test_an_edited_authority_table_routes_new_submissions(flow, people):
    ApprovalAuthority.objects.filter(role="sales_manager").update(role="deputy_gm")
    case = flow.to(flow.open(claimed="100"), "approval")
    assert case.approval_role == "deputy_gm"


def test_nobody_approves_what_they_submitted(flow, people, head_office):
    # A service-department member who is also a sales manager may write the opinion for any unit AND
    # approves small amounts.
    writer = UserFactory(username="svc-sales", unit=head_office, roles=[Role.SERVICE_DEPARTMENT, Role.SALES_MANAGER])
    colleague = people["sales_manager"]
    case = flow.to(flow.open(claimed="100"), "opinion")
    flow.step(case, "approval", user=writer)
    case.refresh_from_db()
    assert (case.opinion_submitted_by, case.approval_role) == (writer, "sales_manager")
    with pytest.raises(ApplicationError, match="submitted"):
        flow.step(case, "explanation", user=writer)
    with pytest.raises(ApplicationError, match="submitted"):
        flow.step(case, "opinion", user=writer, data=StageInput(note="自己退回"))
    assert flow.step(case, "explanation", user=colleague).approved_by == colleague


def test_sending_back_needs_a_reason_and_the_resubmission_is_approved_anew(flow, people):
    case = flow.to(flow.open(claimed="100"), "approval")
    with pytest.raises(ApplicationError):
        flow.step(case, "opinion", user=people["sales_manager"], data=StageInput(note=""))
    back = flow.step(case, "opinion", user=people["sales_manager"], data=StageInput(note="金额需核实"))
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


def test_the_complaint_moves_in_step_with_its_case(flow):
    case = flow.open()
    opinion = case.opinion
    opinion.refresh_from_db()
    assert opinion.status == CustomerOpinion.Status.ACKNOWLEDGED  # opening the case takes it in hand
    case = flow.to(case, "explanation")
    flow.follow_up(case)
    closed = flow.step(case, "closed")
    opinion.refresh_from_db()
    assert opinion.status == CustomerOpinion.Status.CLOSED
    assert opinion.outcome == closed.customer_result and opinion.resolved_at == closed.closed_at
    notes = list(history_for(opinion).values_list("to_status", "note"))
    assert [status for status, _note in notes] == ["new", "acknowledged", "resolved", "closed"]
    assert all(closed.number in note for _status, note in notes[1:])


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


# --- Issue 12: approval authority by rank; the follow-up in person -------------------------------------------------


def test_the_default_table_routes_small_opinions_to_the_sales_manager_not_the_service_department(db):
    rows = list(ApprovalAuthority.objects.order_by("min_amount").values_list("role", flat=True))
    assert rows[0] == Role.SALES_MANAGER
    assert Role.SERVICE_DEPARTMENT not in rows


def test_roles_have_a_rank_an_administrator_can_see(db):
    from django.contrib import admin

    from complaints.models import RoleRank

    ranks = dict(RoleRank.objects.values_list("role", "rank"))
    assert ranks[Role.SALES_MANAGER] < ranks[Role.DEPUTY_GM] < ranks[Role.GM_OFFICE]
    assert RoleRank in admin.site._registry


@pytest.mark.parametrize("approver", ["sales_manager", "deputy_gm", "gm_office"])
def test_a_higher_rank_approves_what_the_sales_manager_may(flow, people, approver):
    case = flow.to(flow.open(claimed="100"), "approval")
    assert case.approval_role == Role.SALES_MANAGER
    for name in ("service", "dispatcher", "supervisor", "quality", "factory", "accounting"):
        with pytest.raises(ApplicationError):
            flow.step(case, "explanation", user=people[name])
    assert flow.step(case, "explanation", user=people[approver]).approved_by == people[approver]


def test_a_lower_rank_does_not_approve_what_the_deputy_gm_must(flow, people):
    case = flow.to(flow.open(claimed="6000"), "approval")
    assert case.approval_role == Role.DEPUTY_GM
    with pytest.raises(ApplicationError):
        flow.step(case, "explanation", user=people["sales_manager"])
    assert flow.step(case, "explanation", user=people["gm_office"]).approved_by == people["gm_office"]


def test_the_approval_inbox_lists_what_a_rank_may_approve(flow, people, head_office):
    from complaints.case_selectors import complaint_case_inbox as case_inbox

    small = flow.to(flow.open(claimed="100"), "approval")
    large = flow.to(flow.open(claimed="6000"), "approval")
    assert set(case_inbox(user=people["deputy_gm"])) >= {small, large}
    sales = set(case_inbox(user=people["sales_manager"]))
    assert small in sales and large not in sales


def test_a_higher_rank_does_not_approve_what_they_submitted(flow, people, head_office):
    boss = UserFactory(username="svc-deputy", unit=head_office, roles=[Role.SERVICE_DEPARTMENT, Role.DEPUTY_GM])
    case = flow.to(flow.open(claimed="100"), "opinion")
    flow.step(case, "approval", user=boss)
    case.refresh_from_db()
    with pytest.raises(ApplicationError, match="submitted"):
        flow.step(case, "explanation", user=boss)


def test_a_case_cannot_close_on_a_phone_call_alone(flow):
    case = flow.to(flow.open(), "explanation")
    flow.follow_up(case, method="phone")
    with pytest.raises(ApplicationError, match="in person"):
        flow.step(case, "closed")
    flow.follow_up(case)
    assert flow.step(case, "closed").status == "closed"
