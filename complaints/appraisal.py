"""Clause 二十三: the technicians' monthly performance appraisal (月绩效考核).

Every figure is an aggregate computed by the database, grouped by technician
(a month) or by month (the twelve-month trend): a handful of grouped queries
whatever the number of calls. Python only merges the few grouped rows.

Definitions (the month is the local month of the call's ``received_at``):

- calls handled: the unit's calls assigned to the technician, cancelled ones excluded;
- attended within the deadline: arrived on site at or before ``attend_by``, as a
  share of the handled calls that are due (arrived, or past their deadline);
- ratings: the average of each of the four ratings (clause 二十五) over the
  answered cards of those calls, with the number of answers behind each;
- response rate: answered cards over cards issued for those calls;
- complaints: customer opinions of kind complaint attributed to the technician,
  by the month they were received;
- penalties: the approved deductions (yuan) of the unit's penalty rulings on the technician, by the
  month the ruling was approved (one grouped query, ``penalties.selectors.deductions_by_person``);
  “—” when there are none.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repairs.models import RepairCall
from servicedesk.db import reports_db
from servicedesk.roles import Role

from .models import CustomerOpinion, SurveyCard, TechnicianMonth

RATINGS = ("attitude", "technique", "arrival", "follow_through")

# The penalties app sits above complaints and registers its look-up of approved deductions here when it loads:
# ``deductions_by_person(*, unit_id, month, person_ids, using) -> {person id: Decimal}``.
_deductions_by_person = None


def register_deductions_lookup(lookup) -> None:
    global _deductions_by_person  # set once, when the higher app loads
    _deductions_by_person = lookup



@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    scale: str  # "count", "share" (0–1) or "rating" (1–5)


CRITERIA = (
    Criterion("calls_handled", _("Calls handled"), "count"),
    Criterion("in_time_share", _("Attended within deadline"), "share"),
    Criterion("avg_attitude", _("Attitude"), "rating"),
    Criterion("avg_technique", _("Technique"), "rating"),
    Criterion("avg_arrival", _("Arrival time"), "rating"),
    Criterion("avg_follow_through", _("Follow-through on promises"), "rating"),
    Criterion("response_rate", _("Card response rate"), "share"),
    Criterion("complaints", _("Complaints"), "count"),
)


@dataclass
class Figures:
    calls_handled: int = 0
    calls_due: int = 0
    attended_in_time: int = 0
    cards_issued: int = 0
    cards_answered: int = 0
    avg_attitude: float | None = None
    n_attitude: int = 0
    avg_technique: float | None = None
    n_technique: int = 0
    avg_arrival: float | None = None
    n_arrival: int = 0
    avg_follow_through: float | None = None
    n_follow_through: int = 0
    complaints: int = 0
    sum_attitude: int = 0
    sum_technique: int = 0
    sum_arrival: int = 0
    sum_follow_through: int = 0
    # Approved penalty deductions of the month (Decimal yuan); None, shown “—”, when there are none.
    penalties: Decimal | None = None
    # Issue 14: first arrivals typed by the desk rather than tapped on site, shown apart from the rest
    # (and, of those, the ones that count as within the deadline).
    arrivals_typed: int = 0
    in_time_typed: int = 0

    @property
    def in_time_share(self) -> float | None:
        return self.attended_in_time / self.calls_due if self.calls_due else None

    @property
    def response_rate(self) -> float | None:
        return self.cards_answered / self.cards_issued if self.cards_issued else None

    def update_from(self, row: dict) -> None:
        for key, value in row.items():
            if hasattr(self, key) and value is not None:
                setattr(self, key, value)
        for rating in RATINGS:
            # Stored months keep sums; the average follows from them.
            n, total = getattr(self, f"n_{rating}"), getattr(self, f"sum_{rating}")
            if getattr(self, f"avg_{rating}") is None and n:
                setattr(self, f"avg_{rating}", total / n)


@dataclass
class AppraisalRow(Figures):
    technician_id: int = 0
    technician_name: str = ""


@dataclass
class MonthFigures(Figures):
    month: dt.date = field(default_factory=dt.date.today)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _card_aggregates() -> dict:
    aggregates = {
        "cards_issued": Count("id"),
        "cards_answered": Count("id", filter=Q(status=SurveyCard.Status.ANSWERED)),
    }
    for rating in RATINGS:
        aggregates[f"avg_{rating}"] = Avg(f"rating_{rating}")
        aggregates[f"sum_{rating}"] = Sum(f"rating_{rating}")
        aggregates[f"n_{rating}"] = Count(f"rating_{rating}")
    return aggregates


def _call_aggregates(*, now: dt.datetime) -> dict:
    return {
        "calls_handled": Count("id"),
        "calls_due": Count("id", filter=Q(arrived_at__isnull=False) | Q(attend_by__lt=now)),
        "attended_in_time": Count("id", filter=Q(arrived_at__lte=F("attend_by"))),
        **_typed_aggregates(),
    }


def _typed_aggregates() -> dict:
    return {
        "arrivals_typed": Count("id", filter=Q(arrival_typed=True)),
        "in_time_typed": Count("id", filter=Q(arrival_typed=True, arrived_at__lte=F("attend_by"))),
    }


def _handled_calls(*, unit_id: int, start: dt.date, end: dt.date, using: str):
    return (
        RepairCall.objects.using(using)
        .filter(unit_id=unit_id, received_at__gte=_aware(start), received_at__lt=_aware(end), technician__isnull=False)
        .exclude(status=RepairCall.Status.CANCELLED)
    )


def _cards(*, unit_id: int, start: dt.date, end: dt.date, using: str):
    # The card's day is its call's local day, so the calls' own range is repeated on the
    # joined side: both tables are then read through their (unit, day) indexes.
    return (
        SurveyCard.objects.using(using)
        .filter(
            unit_id=unit_id,
            survey_day__gte=start,
            survey_day__lt=end,
            call__unit_id=unit_id,
            call__received_at__gte=_aware(start),
            call__received_at__lt=_aware(end),
            call__technician__isnull=False,
        )
        .exclude(call__status=RepairCall.Status.CANCELLED)
    )


def _complaints(*, unit_id: int, start: dt.date, end: dt.date, using: str):
    return CustomerOpinion.objects.using(using).filter(
        unit_id=unit_id,
        kind=CustomerOpinion.Kind.COMPLAINT,
        technician__isnull=False,
        received_at__gte=_aware(start),
        received_at__lt=_aware(end),
    )


STORED_FIELDS = [
    f.name
    for f in TechnicianMonth._meta.concrete_fields
    if f.name not in ("id", "unit", "technician", "month", "computed_at")
]


def live_month_rows(
    *, unit_id: int, month: dt.date, now: dt.datetime, using: str = DEFAULT_DB_ALIAS
) -> dict[int, AppraisalRow]:
    """{technician_id: figures} computed from the calls, cards and complaints: three grouped queries.

    The month-end job records these figures, so by default they come from the primary; the page passes
    the reports database.
    """
    start = month_start(month)
    end = add_months(start, 1)
    rows: dict[int, AppraisalRow] = {}

    def row(technician_id: int) -> AppraisalRow:
        return rows.setdefault(technician_id, AppraisalRow(technician_id=technician_id))

    for values in (
        _handled_calls(unit_id=unit_id, start=start, end=end, using=using)
        .values("technician_id")
        .order_by()
        .annotate(**_call_aggregates(now=now))
    ):
        row(values.pop("technician_id")).update_from(values)
    for values in (
        _cards(unit_id=unit_id, start=start, end=end, using=using)
        .values("call__technician_id")
        .order_by()
        .annotate(**_card_aggregates())
    ):
        row(values.pop("call__technician_id")).update_from(values)
    for values in (
        _complaints(unit_id=unit_id, start=start, end=end, using=using)
        .values("technician_id")
        .order_by()
        .annotate(complaints=Count("id"))
    ):
        row(values.pop("technician_id")).update_from(values)
    return rows


def _is_closed(month: dt.date, now: dt.datetime) -> bool:
    return month_start(month) < timezone.localdate(now).replace(day=1)


def appraisal_for_month(*, unit_id: int, month: dt.date, now: dt.datetime | None = None) -> list[AppraisalRow]:
    """One row per technician of the unit (and anyone who handled its calls).

    A closed month that the month-end job has recorded is read from its stored
    rows; the current month (or one not recorded yet) is computed live. A report:
    it reads the reports database (servicedesk/db.py: the replica may lag a little).
    """
    now = now or timezone.now()
    using = reports_db()
    rows: dict[int, AppraisalRow] = {}
    if _is_closed(month, now):
        for values in (
            TechnicianMonth.objects.using(using)
            .filter(unit_id=unit_id, month=month_start(month))
            .values("technician_id", *STORED_FIELDS)
        ):
            technician_id = values.pop("technician_id")
            rows[technician_id] = AppraisalRow(technician_id=technician_id)
            rows[technician_id].update_from(values)
        if rows:
            # Typed arrivals are not among the stored figures: one grouped query over the month's calls.
            start = month_start(month)
            for values in (
                _handled_calls(unit_id=unit_id, start=start, end=add_months(start, 1), using=using)
                .values("technician_id")
                .order_by()
                .annotate(**_typed_aggregates())
            ):
                if values["technician_id"] in rows:
                    rows[values.pop("technician_id")].update_from(values)
    if not rows:
        rows = live_month_rows(unit_id=unit_id, month=month, now=now, using=using)

    technicians = (
        get_user_model()
        .objects.using(using)
        .filter(Q(unit_id=unit_id, is_active=True, groups__name=Role.TECHNICIAN) | Q(pk__in=list(rows)))
        .distinct()
        .only("pk", "username", "first_name", "last_name")
    )
    for technician in technicians:
        rows.setdefault(technician.pk, AppraisalRow(technician_id=technician.pk)).technician_name = str(technician)
    # Clause 六: the month's approved penalty deductions, one grouped query.
    if _deductions_by_person is not None:
        for technician_id, total in _deductions_by_person(
            unit_id=unit_id, month=month, person_ids=rows, using=using
        ).items():
            rows[technician_id].penalties = total
    return list(rows.values())


SORT_KEYS = {
    "technician": lambda r: r.technician_name.casefold(),
    **{c.key: (lambda key: lambda r: getattr(r, key))(c.key) for c in CRITERIA},
    "response_rate": lambda r: r.response_rate,
    "cards_issued": lambda r: r.cards_issued,
}


def sort_rows(rows: list[AppraisalRow], sort: str) -> tuple[list[AppraisalRow], str]:
    """Sort by a whitelisted column; "-" for descending; rows without a figure go last."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        key, descending = "technician", False
    getter = SORT_KEYS[key]
    present = [r for r in rows if getter(r) is not None]
    missing = [r for r in rows if getter(r) is None]
    present.sort(key=lambda r: (getter(r), r.technician_name.casefold()), reverse=descending)
    missing.sort(key=lambda r: r.technician_name.casefold())
    return present + missing, ("-" if descending else "") + key


def totals_of(rows: list[Figures], *, month: dt.date) -> MonthFigures:
    """The unit's month from its technicians' rows: counts and sums add up, averages follow."""
    total = MonthFigures(month=month_start(month))
    for name in (*STORED_FIELDS, "arrivals_typed", "in_time_typed"):
        setattr(total, name, sum(getattr(row, name) for row in rows))
    total.update_from({})
    return total


def appraisal_trend(
    *,
    unit_id: int,
    month: dt.date,
    now: dt.datetime | None = None,
    months: int = 12,
    month_rows: list[Figures] | None = None,
):
    """The unit's figures for the ``months`` months up to ``month``.

    Recorded months come from the stored rows (one grouped query); the months
    not recorded (the current one, or all of them before the first month-end
    run) are computed live with one grouped query per table over their span.
    A report: it reads the reports database (servicedesk/db.py).
    """
    now = now or timezone.now()
    using = reports_db()
    end = add_months(month_start(month), 1)
    start = add_months(end, -months)
    by_month = {add_months(start, i): MonthFigures(month=add_months(start, i)) for i in range(months)}
    local = ZoneInfo(timezone.get_current_timezone_name())

    def as_month(value) -> dt.date:
        if isinstance(value, dt.datetime):
            value = value.astimezone(local).date() if timezone.is_aware(value) else value.date()
        return value.replace(day=1)

    recorded = set()
    if month_rows is not None:
        # The page has just computed the last month per technician: add those up, do not count twice.
        recorded.add(month_start(month))
        by_month[month_start(month)] = totals_of(month_rows, month=month)
    for values in (
        TechnicianMonth.objects.using(using)
        .filter(unit_id=unit_id, month__gte=start, month__lt=end)
        .values("month")
        .order_by()
        .annotate(**{name: Sum(name) for name in STORED_FIELDS})
    ):
        day = values.pop("month")
        if _is_closed(day, now) and day not in recorded:
            recorded.add(day)
            by_month[day].update_from(values)
    missing = [m for m in sorted(by_month) if m not in recorded]
    if not missing:
        return [by_month[m] for m in sorted(by_month)]
    live_start, live_end = missing[0], add_months(missing[-1], 1)

    def apply(rows):
        for values in rows:
            day = as_month(values.pop("month"))
            if day in by_month and day not in recorded:
                by_month[day].update_from(values)

    apply(
        _handled_calls(unit_id=unit_id, start=live_start, end=live_end, using=using)
        .annotate(month=TruncMonth("received_at", tzinfo=local))
        .values("month")
        .order_by()
        .annotate(**_call_aggregates(now=now))
    )
    apply(
        _cards(unit_id=unit_id, start=live_start, end=live_end, using=using)
        .annotate(month=TruncMonth("survey_day"))
        .values("month")
        .order_by()
        .annotate(**_card_aggregates())
    )
    apply(
        _complaints(unit_id=unit_id, start=live_start, end=live_end, using=using)
        .annotate(month=TruncMonth("received_at", tzinfo=local))
        .values("month")
        .order_by()
        .annotate(complaints=Count("id"))
    )
    return [by_month[m] for m in sorted(by_month)]


# --- Charts: inline SVG drawn on the server (no script, no CDN) ---------------

CHART_WIDTH, CHART_HEIGHT = 360, 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 34, 8, 10, 22


def _format(value, scale: str) -> str:
    if value is None:
        return "—"
    if scale == "share":
        return f"{value * 100:.0f}%"
    if scale == "rating":
        return f"{value:.2f}"
    return str(value)


def chart(criterion: Criterion, trend: list[MonthFigures]) -> dict:
    """Coordinates of a line chart of one criterion over the trend's months."""
    values = [getattr(m, criterion.key) for m in trend]
    if criterion.scale == "rating":
        low, high, ticks = 1.0, 5.0, [1, 2, 3, 4, 5]
    elif criterion.scale == "share":
        low, high, ticks = 0.0, 1.0, [0, 0.5, 1]
    else:
        top = max([v for v in values if v is not None] or [0])
        high = float(max(top, 1))
        low, ticks = 0.0, sorted({0, round(high / 2), int(high)})
    plot_w = CHART_WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(values) - 1, 1)

    def y_of(value) -> float:
        return PAD_TOP + plot_h - (float(value) - low) / (high - low) * plot_h

    points = [
        {
            "x": round(PAD_LEFT + i * step, 1),
            "y": round(y_of(v), 1),
            "label": f"{trend[i].month:%Y-%m}: {_format(v, criterion.scale)}",
        }
        for i, v in enumerate(values)
        if v is not None
    ]
    return {
        "criterion": criterion,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "ticks": [{"y": round(y_of(t), 1), "label": _format(t, criterion.scale)} for t in ticks],
        "months": [{"x": round(PAD_LEFT + i * step, 1), "label": f"{m.month:%m}"} for i, m in enumerate(trend)],
        "baseline_y": PAD_TOP + plot_h,
        "left": PAD_LEFT,
        "right": CHART_WIDTH - PAD_RIGHT,
        "latest": _format(values[-1] if values else None, criterion.scale),
    }


def charts(trend: list[MonthFigures]) -> list[dict]:
    return [chart(criterion, trend) for criterion in CRITERIA]


# --- Export ------------------------------------------------------------------


def export_columns() -> list[tuple[str, str]]:
    """(label, attribute) of every exported column, in order."""
    columns = [
        (_("Technician"), "technician_name"),
        (_("Calls handled"), "calls_handled"),
        (_("Calls due"), "calls_due"),
        (_("Attended within deadline"), "attended_in_time"),
        (_("Share within deadline"), "in_time_share"),
        (_("Arrivals entered by hand"), "arrivals_typed"),
        (_("Within deadline, entered by hand"), "in_time_typed"),
    ]
    for rating, label in zip(
        RATINGS, (_("Attitude"), _("Technique"), _("Arrival time"), _("Follow-through on promises")), strict=True
    ):
        columns.append((label, f"avg_{rating}"))
        columns.append((_("%(criterion)s: answers") % {"criterion": label}, f"n_{rating}"))
    columns += [
        (_("Cards issued"), "cards_issued"),
        (_("Cards answered"), "cards_answered"),
        (_("Response rate"), "response_rate"),
        (_("Complaints"), "complaints"),
        (_("Penalties"), "penalties"),
    ]
    return columns


def export_value(row, attribute: str):
    value = getattr(row, attribute)
    if isinstance(value, float):
        return round(value, 4 if attribute in ("in_time_share", "response_rate") else 2)
    return value
