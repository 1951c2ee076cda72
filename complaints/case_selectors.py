"""Reads for complaints and complaint cases, always scoped: another unit's record is a 404.

A case is visible to its own unit, to the responsible department and to head office.
"""

import datetime as dt

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.utils import timezone

from servicedesk.db import reports_db
from servicedesk.models import StatusChange, values_in_language
from servicedesk.queries import get_one
from servicedesk.roles import Role
from servicedesk.scoping import scope_to_user

from .models import (
    CaseAttachment,
    ComplaintCase,
    CustomerOpinion,
    FollowUpPolicy,
    ImprovementAction,
    OpinionFollowUp,
    ReminderSlip,
    ReturnAllowance,
)
from .stages import inbox_q, stage_rules

S = ComplaintCase.Status
CASE_RELATED = ("unit", "customer", "responsible_unit", "cause_category", "opinion")
# The units, cause category and people a case and its records name. Its page takes them from what it keeps
# (complaints.case_page_cache) instead of joining them: each join cost the case's one-row query 0.5 to 1 ms, mostly
# PostgreSQL's planning (its nine joins took 3.5 ms to plan, its three 0.9), and each list's joins as much again.
CASE_NAMED = (
    "unit",
    "responsible_unit",
    "cause_category",
    "technician",
    "responsible_person",
    "received_by",
    "opinion_submitted_by",
    "approved_by",
    "audited_by",
)
RETURN_PEOPLE = ("salesperson", "checked_by", "posted_by")
ACTION_PEOPLE = ("owner", "confirmed_by")


def scope_cases(queryset: QuerySet, *, user, prefix: str = "") -> QuerySet:
    """Deny by default; the case's unit or the responsible department; head office sees all."""
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    if user.sees_all_units:
        return queryset
    if user.unit_id is None:
        return queryset.none()
    return queryset.filter(
        Q(**{f"{prefix}unit_id": user.unit_id}) | Q(**{f"{prefix}responsible_unit_id": user.unit_id})
    )


def complaint_case_list(*, user, filters: dict) -> QuerySet:
    qs = scope_cases(ComplaintCase.objects.all(), user=user).select_related(*CASE_RELATED)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("unit"):
        qs = qs.filter(unit=filters["unit"])
    if filters.get("overdue"):
        qs = qs.filter(stage_due_at__lt=timezone.now()).exclude(status=S.AUDITED)
    if filters.get("q"):
        qs = qs.filter(Q(number__icontains=filters["q"]) | Q(customer__name__icontains=filters["q"]))
    return qs.order_by("-received_at", "-id")


def complaint_case_inbox(*, user) -> QuerySet:
    """The cases whose current stage this user owns, the most urgent deadline first."""
    qs = scope_cases(ComplaintCase.objects.all(), user=user).filter(inbox_q(user=user, rules=stage_rules()))
    return qs.select_related(*CASE_RELATED).order_by(F("stage_due_at").asc(nulls_last=True), "id")


def complaint_case_get_for_user(*, user, pk: int, named: bool = True) -> ComplaintCase:
    """``named``: with the units, cause category and people it names (``CASE_NAMED``) in the same query."""
    try:
        return get_one(
            scope_cases(ComplaintCase.objects.all(), user=user).select_related(
                "customer", "opinion", "call", *(CASE_NAMED if named else ())
            ),
            pk=pk,
        )
    except ComplaintCase.DoesNotExist:
        raise Http404 from None


def case_attachments(*, case) -> list[CaseAttachment]:
    return list(case.attachments.select_related("uploaded_by"))


def case_returns(*, case, people: bool = True) -> list[ReturnAllowance]:
    """``people``: with the people they name (``RETURN_PEOPLE``) in the same query."""
    return list(case.returns.select_related(*RETURN_PEOPLE) if people else case.returns.all())


def case_actions(*, case, people: bool = True) -> list[ImprovementAction]:
    """``people``: with the people they name (``ACTION_PEOPLE``) in the same query."""
    return list(case.actions.select_related(*ACTION_PEOPLE) if people else case.actions.all())


def case_slips(*, case) -> list[ReminderSlip]:
    return list(case.reminder_slips.select_related("owner_unit"))


def follow_up_methods_that_count(*, unit_id: int) -> set[str]:
    """Clause 二十八: a visit in person; a phone call only where the unit's setting allows it."""
    methods = {OpinionFollowUp.Method.VISIT}
    if FollowUpPolicy.objects.filter(unit_id=unit_id, phone_counts=True).exists():
        methods.add(OpinionFollowUp.Method.PHONE)
    return methods


def attachment_get_for_user(*, user, pk: int) -> CaseAttachment:
    try:
        return scope_cases(CaseAttachment.objects.select_related("case"), user=user, prefix="case__").get(pk=pk)
    except CaseAttachment.DoesNotExist:
        raise Http404 from None


def return_get_for_user(*, user, pk: int) -> ReturnAllowance:
    try:
        return scope_cases(ReturnAllowance.objects.select_related("case"), user=user, prefix="case__").get(pk=pk)
    except ReturnAllowance.DoesNotExist:
        raise Http404 from None


def action_get_for_user(*, user, pk: int) -> ImprovementAction:
    qs = ImprovementAction.objects.select_related("case")
    scoped = scope_cases(qs, user=user, prefix="case__") | qs.filter(owner_id=getattr(user, "pk", None))
    try:
        return scoped.distinct().get(pk=pk)
    except ImprovementAction.DoesNotExist:
        raise Http404 from None


def reminder_slip_list(*, user, day: dt.date | None = None) -> QuerySet:
    qs = scope_cases(ReminderSlip.objects.all(), user=user, prefix="case__").select_related(
        "case", "case__unit", "case__customer", "owner_unit"
    )
    if day is not None:
        qs = qs.filter(overdue_day=day)
    return qs.order_by("-overdue_day", "-id")


def reminder_slip_get_for_user(*, user, pk: int) -> ReminderSlip:
    try:
        return reminder_slip_list(user=user).get(pk=pk)
    except ReminderSlip.DoesNotExist:
        raise Http404 from None


def overdue_cases(*, user, now: dt.datetime) -> QuerySet:
    return (
        scope_cases(ComplaintCase.objects.all(), user=user)
        .filter(stage_due_at__lt=now)
        .exclude(status=S.AUDITED)
        .select_related(*CASE_RELATED)
        .order_by("stage_due_at", "id")
    )


def cases_awaiting_audit(*, user) -> QuerySet:
    return (
        scope_cases(ComplaintCase.objects.all(), user=user)
        .filter(status=S.CLOSED)
        .select_related(*CASE_RELATED)
        .order_by("closed_at", "id")
    )


def overdue_actions(*, user, today: dt.date) -> QuerySet:
    return (
        scope_cases(ImprovementAction.objects.all(), user=user, prefix="case__")
        .filter(due_on__lt=today)
        .exclude(status=ImprovementAction.Status.CONFIRMED)
        .select_related("case", "case__unit", "owner")
        .order_by("due_on", "id")
    )


def my_actions(*, user) -> QuerySet:
    return (
        ImprovementAction.objects.filter(owner=user)
        .exclude(status=ImprovementAction.Status.CONFIRMED)
        .select_related("case")
        .order_by("due_on", "id")
    )


def flagged_receivables(*, user) -> QuerySet:
    """Receivables affected by complaints: left out of the salesperson's collection figures."""
    qs = scope_cases(ReturnAllowance.objects.filter(receivable_affected=True), user=user, prefix="case__")
    if not (user.sees_all_units or user.has_role(Role.SUPERVISOR, Role.ACCOUNTING)):
        qs = qs.filter(salesperson=user)
    return qs.select_related("case", "case__unit", "case__customer", "salesperson").order_by("-created_at", "-id")


# --- Opinions: the handlers' queues ------------------------------------------------------------------------------


def opinion_inbox(*, user) -> QuerySet:
    """Open opinions this user handles: serious ones (deputy GM) before general ones, oldest first.

    A unit's supervisor sees the unit's complaints still waiting for a personal follow-up.
    """
    from django.db.models import Case, Exists, IntegerField, Value, When

    followed_up = Exists(OpinionFollowUp.objects.filter(opinion=OuterRef("pk")))
    qs = (
        scope_to_user(CustomerOpinion.objects.all(), user=user)
        .exclude(status=CustomerOpinion.Status.CLOSED)
        .annotate(has_follow_up=followed_up)
    )
    wanted = Q(pk__in=[])
    if user.has_perm("complaints.handle_serious_opinion"):
        wanted |= Q(queue=CustomerOpinion.Queue.DEPUTY_GM)
    if user.has_perm("complaints.handle_opinion"):
        wanted |= Q(queue=CustomerOpinion.Queue.SERVICE_DEPARTMENT)
    if user.has_perm("complaints.record_follow_up") and user.unit_id:
        wanted |= Q(unit_id=user.unit_id, kind=CustomerOpinion.Kind.COMPLAINT, has_follow_up=False)
    # Clause 二十六: serious ones are handled ahead of others.
    serious_first = Case(
        When(severity=CustomerOpinion.Severity.SERIOUS, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        qs.filter(wanted)
        .select_related("unit", "customer", "call", "technician", "forwarded_to")
        .order_by(serious_first, "received_at", "id")
    )


# The units and people an opinion names: its page takes them from what the case page keeps, as the case page does.
OPINION_NAMED = ("unit", "technician", "forwarded_to", "resolved_by", "created_by")


def opinion_detail(*, user, pk: int, named: bool = True) -> CustomerOpinion:
    """``named``: with the units and people it names (``OPINION_NAMED``) in the same query."""
    try:
        return get_one(
            scope_to_user(CustomerOpinion.objects.all(), user=user).select_related(
                "customer", "call", *(OPINION_NAMED if named else ())
            ),
            pk=pk,
        )
    except CustomerOpinion.DoesNotExist:
        raise Http404 from None


# --- Reports -----------------------------------------------------------------------------------------------------


def _report_cases(*, user, since: dt.datetime | None, until: dt.datetime | None, using: str) -> QuerySet:
    qs = scope_cases(ComplaintCase.objects.using(using), user=user)
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    if until is not None:
        qs = qs.filter(received_at__lt=until)
    return qs


def case_report(*, user, now: dt.datetime, since=None, until=None) -> dict:
    """Cases by stage, by responsible department, by cause, overdue by unit; average time per stage.

    Each figure is one grouped query; the stage times come from the status history (the time from
    entering a stage to the next change), averaged in the database. A report over a period: it reads the
    reports database (servicedesk/db.py), which may lag the primary a little.
    """
    using = reports_db()
    cases = _report_cases(user=user, since=since, until=until, using=using)
    by_stage_counts = dict(cases.order_by().values_list("status").annotate(n=Count("id")))
    by_stage = [(S(value).label, by_stage_counts.get(value, 0)) for value in S.values]
    by_department = list(
        values_in_language(cases.order_by(), "responsible_unit__name")
        .annotate(n=Count("id"))
        .order_by("-n", "responsible_unit__name")
    )
    by_cause = list(
        values_in_language(cases.order_by(), "cause_category__name")
        .annotate(n=Count("id"))
        .order_by("-n", "cause_category__name")
    )
    overdue_by_unit = list(
        values_in_language(cases.filter(stage_due_at__lt=now).exclude(status=S.AUDITED).order_by(), "unit__name")
        .annotate(n=Count("id"))
        .order_by("-n", "unit__name")
    )
    return {
        "by_stage": by_stage,
        "by_department": [(row["responsible_unit__name"], row["n"]) for row in by_department],
        "by_cause": [(row["cause_category__name"], row["n"]) for row in by_cause],
        "overdue_by_unit": [(row["unit__name"], row["n"]) for row in overdue_by_unit],
        "stage_times": stage_average_times(case_ids=cases.values("pk"), using=using),
        "total": sum(by_stage_counts.values()),
    }


def stage_average_times(*, case_ids, using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, dt.timedelta | None, int]]:
    """[(stage label, average time spent in it, stays counted)] from StatusChange, aggregated in the database.

    ``case_ids`` may be a queryset of the same database ``using``: it becomes a subquery.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Avg

    content_type = ContentType.objects.get_for_model(ComplaintCase)
    changes = StatusChange.objects.using(using).filter(content_type=content_type, object_id__in=case_ids)
    next_change_at = (
        StatusChange.objects.using(using)
        .filter(
            content_type=content_type, object_id=OuterRef("object_id"), at__gte=OuterRef("at"), id__gt=OuterRef("id")
        )
        .order_by("at", "id")
        .values("at")[:1]
    )
    rows = (
        changes.annotate(left_at=Subquery(next_change_at))
        .filter(left_at__isnull=False)
        .annotate(spent=ExpressionWrapper(F("left_at") - F("at"), output_field=DurationField()))
        .order_by()
        .values("to_status")
        .annotate(average=Avg("spent"), stays=Count("id"))
    )
    found = {row["to_status"]: (row["average"], row["stays"]) for row in rows}
    return [(S(value).label, *found.get(value, (None, 0))) for value in S.values if value != S.AUDITED]
