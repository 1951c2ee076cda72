"""Who owns each stage of a complaint case, and when it is due (DOMAIN section 7, 各单位处理期限).

A stage's owner is a unit and/or a role. The same rules decide three things, so they
cannot disagree: who may move a case on (``user_owns_stage``), which cases are in
a user's inbox (``inbox_q``) and to whom a reminder slip is addressed (``slip_owner``).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from servicedesk.calendars import CalendarSpec, deadline_for
from servicedesk.models import OrgUnit, User
from servicedesk.roles import Role

from .models import ApprovalAuthority, ComplaintCase, RoleRank, StageDeadline

S = ComplaintCase.Status

# Where the owning unit comes from: the case's own unit, quality management (the
# investigation row of the deadline table), the responsible department, or nowhere
# (a head-office role owns it wherever its holder sits).
CASE_UNIT, QUALITY_UNIT, RESPONSIBLE_UNIT, ANY_UNIT = "case_unit", "quality_unit", "responsible_unit", "any_unit"


@dataclass(frozen=True)
class StageOwner:
    unit_source: str
    roles: tuple  # roles that own the stage inside the owning unit
    anywhere_roles: tuple = ()  # head-office roles that may also work it, whatever the unit


# Sales/service receives the case, writes the comprehensive opinion and explains the result to the customer;
# the service department (head office) may do it for any unit.
_DESK = StageOwner(CASE_UNIT, (Role.SUPERVISOR, Role.DISPATCHER), (Role.SERVICE_DEPARTMENT,))
STAGE_OWNERS = {
    S.RECEIVED: _DESK,
    S.INVESTIGATION: StageOwner(QUALITY_UNIT, (Role.DEPARTMENT_HEAD,)),
    S.CAUSE_ANALYSIS: StageOwner(RESPONSIBLE_UNIT, (Role.DEPARTMENT_HEAD, Role.SUPERVISOR)),
    S.INSTRUCTIONS: StageOwner(ANY_UNIT, (Role.GM_OFFICE,)),
    S.OPINION: _DESK,
    # The approving role comes from the approval authority table (stored on the case when submitted).
    S.APPROVAL: StageOwner(ANY_UNIT, ()),
    S.EXPLANATION: _DESK,
    S.CLOSED: StageOwner(ANY_UNIT, (Role.GM_OFFICE,)),
    S.AUDITED: StageOwner(ANY_UNIT, ()),
}

DEFAULT_STAGE_DAYS = {
    S.RECEIVED: 1,
    S.INVESTIGATION: 3,
    S.CAUSE_ANALYSIS: 3,
    S.INSTRUCTIONS: 2,
    S.OPINION: 1,
    S.APPROVAL: 2,
    S.EXPLANATION: 2,
    S.CLOSED: 5,
}


@dataclass(frozen=True)
class StageRule:
    working_days: int
    calendar: CalendarSpec
    owner_unit_id: int | None


def stage_rules() -> dict[str, StageRule]:
    """The deadline table with calendars, in two queries; stages without a row get the standard's default."""
    rows = {
        row.stage: row
        for row in StageDeadline.objects.select_related("calendar").prefetch_related(
            "calendar__windows", "calendar__exceptions"
        )
    }
    rules = {}
    for stage, default_days in DEFAULT_STAGE_DAYS.items():
        row = rows.get(stage)
        rules[stage] = StageRule(
            working_days=row.working_days if row else default_days,
            calendar=row.calendar.spec() if row and row.calendar_id else CalendarSpec(),
            owner_unit_id=row.owner_unit_id if row else None,
        )
    return rules


def working_hours_per_day(calendar: CalendarSpec) -> float:
    return sum(
        (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).total_seconds() / 3600
        for start, end in calendar.windows
    )


def stage_due_at(*, stage: str, start: dt.datetime, rules: dict[str, StageRule]) -> dt.datetime | None:
    """The end of the stage's working days counted from ``start`` on its calendar (None: no deadline)."""
    rule = rules.get(stage)
    if rule is None:
        return None
    hours = rule.working_days * working_hours_per_day(rule.calendar)
    return deadline_for(start=start, hours=hours, calendar=rule.calendar)


@dataclass(frozen=True)
class ProgressStep:
    """One stage of a case's progress bar: done, current or still to come, and its deadline."""

    stage: str
    label: str
    state: str  # DONE, CURRENT or TO_COME
    is_current: bool
    entered_at: dt.datetime | None = None
    left_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    late: bool = False
    working_days: int | None = None


DONE, CURRENT, TO_COME = "done", "current", "to_come"


def stage_progress(*, case: ComplaintCase, history, rules: dict[str, StageRule], now: dt.datetime) -> list:
    """The case's stages in workflow order, each done, current or still to come.

    A stage done shows its last stay (an opinion sent back is done once more when it is resubmitted): when it was
    left, the deadline it had (counted from when it was entered, on the deadline table as it reads now) and whether
    it was left late. The current stage's deadline is the one the case carries; a stage to come shows its working
    days. ``history`` is the case's status changes (``history_for``), in any order.
    """
    order = list(S)
    current = order.index(case.status)
    entered: dict[str, dt.datetime] = {}
    left: dict[str, dt.datetime] = {}
    for change in sorted(history, key=lambda change: (change.at, change.pk or 0)):
        entered[change.to_status] = change.at
        left.pop(change.to_status, None)
        if change.from_status:
            left[change.from_status] = change.at
    steps = []
    for index, stage in enumerate(order):
        rule = rules.get(stage)
        step = {"stage": stage, "label": S(stage).label, "working_days": rule.working_days if rule else None}
        if index < current or (index == current and stage == S.AUDITED):
            start, end = entered.get(stage), left.get(stage)
            due = stage_due_at(stage=stage, start=start, rules=rules) if start else None
            steps.append(
                ProgressStep(
                    **step,
                    state=DONE,
                    is_current=index == current,
                    entered_at=start,
                    left_at=end,
                    due_at=due,
                    late=bool(due and end and end > due),
                )
            )
        elif index == current:
            due = case.stage_due_at
            steps.append(
                ProgressStep(
                    **step,
                    state=CURRENT,
                    is_current=True,
                    entered_at=case.stage_entered_at,
                    due_at=due,
                    late=bool(due and due < now),
                )
            )
        else:
            steps.append(ProgressStep(**step, state=TO_COME, is_current=False))
    return steps


def approval_role_for(amount: Decimal) -> str | None:
    """核决权限: the role the table names for the claimed amount (None when no bracket covers it)."""
    row = (
        ApprovalAuthority.objects.filter(min_amount__lte=amount)
        .filter(Q(max_amount__isnull=True) | Q(max_amount__gt=amount))
        .order_by("-min_amount")
        .first()
    )
    return row.role if row else None


def approvable_roles(user) -> frozenset[str]:
    """核决权限 by rank: the user's own roles, and every ranked role at or below the user's highest rank.

    Kept on the user object for the request: the inbox and the stage check ask it more than once.
    """
    cached = getattr(user, "_approvable_roles", None)
    if cached is not None:
        return cached
    own = set(user.role_codes)
    ranks = dict(RoleRank.objects.values_list("role", "rank"))
    own_ranks = [ranks[code] for code in own if code in ranks]
    if own_ranks:
        top = max(own_ranks)
        own |= {code for code, rank in ranks.items() if rank <= top}
    result = frozenset(own)
    user._approvable_roles = result
    return result


def _owner_unit_id(*, owner: StageOwner, unit_id, responsible_unit_id, rules) -> int | None:
    if owner.unit_source == CASE_UNIT:
        return unit_id
    if owner.unit_source == RESPONSIBLE_UNIT:
        return responsible_unit_id
    if owner.unit_source == QUALITY_UNIT:
        return rules[S.INVESTIGATION].owner_unit_id
    return None


def slip_owner(*, stage: str, unit_id, responsible_unit_id, approval_role: str, rules) -> tuple[int | None, str]:
    """(unit id, role) a reminder slip for this stage is addressed to."""
    owner = STAGE_OWNERS[stage]
    role = approval_role if stage == S.APPROVAL else (owner.roles[0] if owner.roles else "")
    return _owner_unit_id(owner=owner, unit_id=unit_id, responsible_unit_id=responsible_unit_id, rules=rules), role


def user_owns_stage(*, user, case: ComplaintCase, rules: dict[str, StageRule]) -> bool:
    """May ``user`` act on the case's current stage (the stage's unit and role; approval: the named role or
    a role of higher rank, never the submitter)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    stage = case.status
    if stage == S.APPROVAL:
        # Nobody approves what they submitted.
        return (
            bool(case.approval_role)
            and case.approval_role in approvable_roles(user)
            and case.opinion_submitted_by_id != user.pk
        )
    owner = STAGE_OWNERS[stage]
    if owner.anywhere_roles and user.has_role(*owner.anywhere_roles):
        return True
    if not owner.roles or not user.has_role(*owner.roles):
        return False
    if owner.unit_source == ANY_UNIT:
        return True
    unit_id = _owner_unit_id(
        owner=owner, unit_id=case.unit_id, responsible_unit_id=case.responsible_unit_id, rules=rules
    )
    if unit_id is None:
        # Quality management not named in the table: any head-office department head investigates.
        return owner.unit_source == QUALITY_UNIT and user.sees_all_units
    return user.unit_id == unit_id


def inbox_q(*, user, rules: dict[str, StageRule]) -> Q:
    """The cases whose current stage ``user`` owns, as one filter (the inbox is one query)."""
    q = Q(pk__in=[])
    if not (user and user.is_authenticated and user.is_active):
        return q
    for stage, owner in STAGE_OWNERS.items():
        if stage == S.APPROVAL:
            roles = sorted(approvable_roles(user))
            if roles:
                q |= Q(status=stage, approval_role__in=roles) & ~Q(opinion_submitted_by=user)
            continue
        if owner.anywhere_roles and user.has_role(*owner.anywhere_roles):
            q |= Q(status=stage)
            continue
        if not owner.roles or not user.has_role(*owner.roles):
            continue
        if owner.unit_source == ANY_UNIT:
            q |= Q(status=stage)
        elif owner.unit_source == CASE_UNIT:
            q |= Q(status=stage, unit_id=user.unit_id)
        elif owner.unit_source == RESPONSIBLE_UNIT:
            q |= Q(status=stage, responsible_unit_id=user.unit_id)
        elif owner.unit_source == QUALITY_UNIT:
            quality_unit_id = rules[S.INVESTIGATION].owner_unit_id
            if (quality_unit_id is None and user.sees_all_units) or (
                quality_unit_id is not None and user.unit_id == quality_unit_id
            ):
                q |= Q(status=stage)
    return q


def _involved_head_office(*, case: ComplaintCase):
    """The head-office departments the case's stages involve (the responsible department, the units the deadline
    table names), as a query of their ids."""
    involved = Q(pk__in=StageDeadline.objects.filter(owner_unit__isnull=False).values("owner_unit_id"))
    if case.responsible_unit_id is not None:
        involved |= Q(pk=case.responsible_unit_id)
    return OrgUnit.objects.filter(involved, kind__in=OrgUnit.HEAD_OFFICE_KINDS).values("pk")


def action_owner_unit_ids(*, case: ComplaintCase) -> set[int]:
    """Where an improvement action's owner may come from: the case's own unit and the head-office departments
    the case's stages involve (the responsible department, the units the deadline table names)."""
    return {case.unit_id, *(row["pk"] for row in _involved_head_office(case=case))}


def action_owners(*, case: ComplaintCase):
    """The people who may be given an improvement action of ``case`` (the picker and the service agree): the
    same units as ``action_owner_unit_ids``, read in the one query of the people."""
    return (
        User.objects.filter(
            Q(unit_id=case.unit_id) | Q(unit_id__in=_involved_head_office(case=case)),
            is_active=True,
        )
        .select_related("unit")
        .order_by("unit__name", "last_name", "first_name", "username")
    )
