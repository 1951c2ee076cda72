"""Reads, always scoped to the user's unit: another unit's ruling, loss or audit entry is a 404."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from complaints.models import ComplaintCase
from servicedesk.db import reports_db
from servicedesk.models import values_in_language
from servicedesk.queries import get_one
from servicedesk.scoping import scope_to_user

from .arithmetic import to_fen
from .models import AuditEntry, CaseLoss, PenaltyLine, PenaltyRuling

PAGE_SIZE = 50


def _page(queryset, page_number, size=PAGE_SIZE) -> Page:
    return Paginator(queryset, size).get_page(page_number)


# --- Rulings ---------------------------------------------------------------------------------------------------


def ruling_list(*, user, filters: dict | None = None, page_number=None) -> Page:
    return _page(ruling_filtered(user=user, filters=filters), page_number)


def ruling_filtered(*, user, filters: dict | None = None) -> QuerySet:
    """The rulings the list's filters select, newest first (the list pages them; its export streams them)."""
    filters = filters or {}
    rulings = (
        scope_to_user(PenaltyRuling.objects.all(), user=user)
        .select_related("case", "unit", "corrects", "approved_by", "proposed_by")
        .annotate(line_count=Count("lines"))
    )
    if filters.get("status"):
        rulings = rulings.filter(status=filters["status"])
    if filters.get("q"):
        q = filters["q"].strip()
        rulings = rulings.filter(Q(number__icontains=q) | Q(case__number__icontains=q))
    return rulings.order_by("-opened_at", "-id")


def cases_awaiting_ruling(*, user, limit: int = 50) -> list[ComplaintCase]:
    """Ruled cases of the user's units without a live ruling yet."""
    live = PenaltyRuling.objects.filter(case=OuterRef("pk"), kind=PenaltyRuling.Kind.ORIGINAL).exclude(
        status=PenaltyRuling.Status.CANCELLED
    )
    cases = (
        scope_to_user(ComplaintCase.objects.all(), user=user)
        .filter(status__in=ComplaintCase.RULED_STATUSES, ruled_at__isnull=False)
        .filter(~Exists(live))
        .select_related("unit", "customer", "cause_category", "responsible_unit", "responsible_person")
        .order_by("ruled_at", "id")
    )
    return list(cases[:limit])


def case_get_for_user(*, user, pk: int) -> ComplaintCase:
    try:
        return scope_to_user(ComplaintCase.objects.all(), user=user).get(pk=pk)
    except ComplaintCase.DoesNotExist:
        raise Http404 from None


# The unit and people a ruling and its lines name. Its page takes them from what the complaint case page keeps
# (complaints.case_page_cache) and reads the case on its own: in one query, the ruling's eleven joins took 5.9 ms
# (2.7 of planning) and its lines' nine 3.9 ms; without the named rows 1.3 + 1.5 (the case) and 2.3 ms.
RULING_NAMED = ("unit", "opened_by", "proposed_by", "approved_by")
LINE_NAMED = ("person", "department", "adjusted_by")


def ruling_get_for_user(*, user, pk: int, named: bool = True) -> PenaltyRuling:
    """``named``: with the unit and people it and its lines name (``RULING_NAMED``, ``LINE_NAMED``, each line's
    person's unit) and its case in the same queries."""
    line_related = ("penalty_kind", "proposed_kind", "criteria_row", "criteria_row__cause_category", "reverses")
    ruling_related = ("criteria_version", "cause_category", "corrects")
    case_related = ("customer", "cause_category", "penalty_loss")
    if named:
        line_related += (*LINE_NAMED, "person__unit")
        ruling_related += (*RULING_NAMED, "case", *(f"case__{name}" for name in case_related))
        case = ()
    else:
        case = (Prefetch("case", queryset=ComplaintCase.objects.select_related(*case_related)),)
    lines = PenaltyLine.objects.select_related(*line_related).order_by("position", "pk")
    try:
        return get_one(
            scope_to_user(PenaltyRuling.objects.all(), user=user)
            .select_related(*ruling_related)
            .prefetch_related(*case, Prefetch("lines", queryset=lines), "corrections"),
            pk=pk,
        )
    except PenaltyRuling.DoesNotExist:
        raise Http404 from None


def line_get_for_user(*, user, ruling_pk: int, line_pk: int) -> PenaltyLine:
    ruling = ruling_get_for_user(user=user, pk=ruling_pk)
    for line in ruling.lines.all():
        if line.pk == line_pk:
            return line
    raise Http404


def rulings_for_case(*, case: ComplaintCase) -> list[PenaltyRuling]:
    return list(case.penalty_rulings.select_related("approved_by").order_by("opened_at", "id"))


# --- Losses -----------------------------------------------------------------------------------------------------


def loss_get_for_user(*, user, pk: int) -> CaseLoss:
    try:
        return (
            scope_to_user(CaseLoss.objects.all(), user=user)
            .select_related("case", "case__customer", "unit")
            .prefetch_related("proceeds__entered_by")
            .get(pk=pk)
        )
    except CaseLoss.DoesNotExist:
        raise Http404 from None


# --- The monthly ledger (deductions for payroll) ----------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = month.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    combine = dt.datetime.combine
    return timezone.make_aware(combine(start, dt.time.min)), timezone.make_aware(combine(end, dt.time.min))


@dataclass
class LedgerRow:
    party_id: int
    name: str
    unit: str
    lines: int
    loss_share: Decimal
    deduction: Decimal


def ledger(*, user, month: dt.date, party: str) -> list[LedgerRow]:
    """Approved deductions of the month (by approval time), per person or per department: one grouped query.

    Corrections count in the month they are approved: their reversal lines are negative, so a
    person's month is what payroll deducts (or gives back) that month. A report: it reads the reports
    database (servicedesk/db.py), which may lag the primary a little.
    """
    start, end = month_bounds(month)
    lines = scope_to_user(PenaltyLine.objects.using(reports_db()), user=user, unit_field="ruling__unit").filter(
        ruling__status=PenaltyRuling.Status.APPROVED, ruling__approved_at__gte=start, ruling__approved_at__lt=end
    )
    if party == "department":
        grouped = (
            values_in_language(
                lines.filter(department__isnull=False), "department_id", "department__name", "department__parent__name"
            )
            .order_by()
            .annotate(n=Count("id"), loss_share=Sum("loss_share"), deduction=Sum("deduction"))
        )
        rows = [
            LedgerRow(
                party_id=g["department_id"],
                name=g["department__name"],
                unit=g["department__parent__name"] or "",
                lines=g["n"],
                loss_share=to_fen(g["loss_share"]),
                deduction=to_fen(g["deduction"]),
            )
            for g in grouped
        ]
    else:
        grouped = (
            values_in_language(
                lines.filter(person__isnull=False),
                "person_id",
                "person__username",
                "person__first_name",
                "person__last_name",
                "person__unit__name",
            )
            .order_by()
            .annotate(n=Count("id"), loss_share=Sum("loss_share"), deduction=Sum("deduction"))
        )
        rows = [
            LedgerRow(
                party_id=g["person_id"],
                name=(f"{g['person__last_name']}{g['person__first_name']}".strip() or g["person__username"]),
                unit=g["person__unit__name"] or "",
                lines=g["n"],
                loss_share=to_fen(g["loss_share"]),
                deduction=to_fen(g["deduction"]),
            )
            for g in grouped
        ]
    return sorted(rows, key=lambda r: (r.unit, r.name))


def deductions_by_person(
    *, unit_id: int, month: dt.date, person_ids, using: str = DEFAULT_DB_ALIAS
) -> dict[int, Decimal]:
    """{person: approved deductions of the month} from the unit's rulings: one grouped query (the appraisal,
    which passes the database it reads)."""
    start, end = month_bounds(month)
    grouped = (
        PenaltyLine.objects.using(using)
        .filter(
            person_id__in=list(person_ids),
            ruling__unit_id=unit_id,
            ruling__status=PenaltyRuling.Status.APPROVED,
            ruling__approved_at__gte=start,
            ruling__approved_at__lt=end,
        )
        .values("person_id")
        .order_by()
        .annotate(total=Sum("deduction"))
    )
    return {g["person_id"]: to_fen(g["total"]) for g in grouped}


# --- The audit trail --------------------------------------------------------------------------------------------


def audit_list(*, user, ruling_id: int | None = None, page_number=None) -> Page:
    """Newest first; a head-office user sees every unit's and the criteria table's, others their unit's."""
    entries = scope_to_user(AuditEntry.objects.all(), user=user).select_related("actor", "ruling", "unit")
    if ruling_id:
        entries = entries.filter(ruling_id=ruling_id)
    return _page(entries.order_by("-at", "-id"), page_number)
