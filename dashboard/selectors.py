"""The service dashboard's figures (clause 十九 as a number), per unit, zone and month, computed in the database.

Every figure is a grouped aggregate over one table read through the reports replica (``reports_db()``), scoped to
the user's units (branch staff their own, head office all). Months are local months (``TIME_ZONE``,
Asia/Shanghai): a call at 23:30 on 31 October local time belongs to October, although it is 15:30 UTC.

- calls: received, attended on time (arrived_at ≤ attend_by), attended late, still open past the deadline,
  median and 90th percentile time to attend (PostgreSQL ``percentile_cont``; elsewhere a Python pass over the
  bounded list of attend times), resolved, resolved on the first visit, repeat repairs within 30 days;
- carry-in: products received and returned, average turnaround (taken from the customer → released);
- fees collected (yuan);
- survey cards: issued, answered, response rate, average ratings.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from complaints.models import SurveyCard
from repairs.models import FeeCollection, RegisterEntry, RepairCall
from servicedesk.db import reports_db
from servicedesk.models import values_in_language
from servicedesk.scoping import scope_to_user

from .models import RecordedMonth, ServiceMonth

REPEAT_WITHIN = dt.timedelta(days=30)
RATINGS = ("attitude", "technique", "arrival", "follow_through")


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the interpolated ``fraction`` percentile of the expression."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def first_visit_fix_q() -> Q:
    """Resolved on the first visit: resolved (or closed after it) with one visit, not two (issue 14: visits
    are their own records; ``RepairCall.visit_count`` counts them, see repairs.selectors_visits)."""
    return Q(status__in=(RepairCall.Status.RESOLVED, RepairCall.Status.CLOSED), visit_count=1)


def repeat_repair_q() -> Q:
    """The product came back: a call for the same product resolved in the 30 days before this one came in."""
    earlier = RepairCall.objects.filter(
        product=OuterRef("product"),
        resolved_at__lt=OuterRef("received_at"),
        resolved_at__gte=OuterRef("received_at") - REPEAT_WITHIN,
    )
    return Q(product__isnull=False) & Q(Exists(earlier))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def local_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``first``'s month, start of the month after ``last``) in local time, as aware datetimes."""
    start = timezone.make_aware(dt.datetime.combine(month_start(first), dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(add_months(month_start(last), 1), dt.time.min))
    return start, end


@dataclass
class Row:
    """One unit, zone and month."""

    unit_id: int
    unit_name: str
    zone_id: int | None
    zone_name: str
    month: dt.date
    received: int = 0
    on_time: int = 0
    late: int = 0
    # DOMAIN 1: arrivals typed by the desk (not tapped on site) and calls that reached the desk late stay marked.
    arrivals_typed: int = 0
    logged_late: int = 0
    open_past_deadline: int = 0
    median_attend: dt.timedelta | None = None
    p90_attend: dt.timedelta | None = None
    resolved: int = 0
    first_visit_fixes: int = 0
    repeat_repairs: int = 0
    carry_ins_returned: int = 0
    carry_in_turnaround: dt.timedelta | None = None
    fees_collected: Decimal = Decimal("0.00")
    cards_issued: int = 0
    cards_answered: int = 0
    ratings: dict = field(default_factory=dict)

    @property
    def attended(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.attended if self.attended else None

    @property
    def first_time_fix_rate(self) -> float | None:
        return self.first_visit_fixes / self.resolved if self.resolved else None

    @property
    def response_rate(self) -> float | None:
        return self.cards_answered / self.cards_issued if self.cards_issued else None

    def rating(self, name: str) -> float | None:
        return self.ratings.get(name)


@dataclass
class Dashboard:
    rows: list[Row]
    months: list[dt.date]
    trend: list[Row]  # one per month, every unit and zone added up
    by_unit: list[Row]  # one per unit, the whole period
    recorded: dict = field(default_factory=dict)  # month -> when its stored rows were computed


def _month_of(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date().replace(day=1)
    return value.replace(day=1)


def _local_month(field_name: str):
    return TruncMonth(field_name, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _attend_time():
    return ExpressionWrapper(F("arrived_at") - F("received_at"), output_field=DurationField())


def _calls(*, scope, start, end, unit_id, zone_id, using):
    qs = scope(RepairCall.objects.using(using)).filter(received_at__gte=start, received_at__lt=end)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if zone_id:
        qs = qs.filter(zone_id=zone_id)
    return qs


def _call_figures(qs, *, now, using) -> list[dict]:
    attended = Q(arrived_at__isnull=False)
    figures = {
        "received": Count("id"),
        "on_time": Count("id", filter=attended & Q(arrived_at__lte=F("attend_by"))),
        "late": Count("id", filter=attended & Q(arrived_at__gt=F("attend_by"))),
        "arrivals_typed": Count("id", filter=attended & Q(arrival_typed=True)),
        "logged_late": Count("id", filter=Q(logged_late=True)),
        "open_past_deadline": Count(
            "id", filter=Q(arrived_at__isnull=True, status__in=RepairCall.AWAITING_ARRIVAL, attend_by__lt=now)
        ),
        "resolved": Count("id", filter=Q(status__in=(RepairCall.Status.RESOLVED, RepairCall.Status.CLOSED))),
        "first_visit_fixes": Count("id", filter=first_visit_fix_q()),
        "repeat_repairs": Count("id", filter=repeat_repair_q()),
    }
    if connections[using].vendor == "postgresql":
        figures["median_attend"] = PercentileCont(
            _attend_time(), fraction=0.5, filter=attended, output_field=DurationField()
        )
        figures["p90_attend"] = PercentileCont(
            _attend_time(), fraction=0.9, filter=attended, output_field=DurationField()
        )
    return list(
        values_in_language(qs, "unit_id", "unit__name", "zone_id", "zone__name", month=_local_month("received_at"))
        .annotate(**figures)
        .order_by()
    )


def _percentiles_in_python(qs) -> dict:
    """Where the database has no percentile_cont (SQLite): the attend times of the (bounded) period's calls."""
    times: dict = {}
    for unit_id, zone_id, received_at, arrived_at in qs.filter(arrived_at__isnull=False).values_list(
        "unit_id", "zone_id", "received_at", "arrived_at"
    ):
        times.setdefault((unit_id, zone_id, _month_of(received_at)), []).append(arrived_at - received_at)
    result = {}
    for key, values in times.items():
        seconds = sorted(v.total_seconds() for v in values)
        result[key] = (
            dt.timedelta(seconds=statistics.median(seconds)),
            dt.timedelta(seconds=_percentile(seconds, 0.9)),
        )
    return result


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks, as percentile_cont does."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = fraction * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _scoped(model, *, scope, using, unit_id, zone_id, zone_path):
    qs = scope(model.objects.using(using))
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if zone_id:
        qs = qs.filter(**{zone_path: zone_id})
    return qs


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    month = month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = add_months(month, 1)
    return months


def every_unit(queryset):
    """The scope of the periodic job that records the months (no user: every unit). Never a page's scope."""
    return queryset


def live_rows(
    *, scope, first: dt.date, last: dt.date, unit_id=None, zone_id=None, now: dt.datetime, using: str
) -> dict[tuple, Row]:
    """{(unit, zone, month): figures} of the months ``first``..``last`` computed from the source tables: one
    grouped query per table (calls, carry-in register, fees, survey cards), whatever the number of rows.
    ``scope`` narrows each queryset to what the reader may see (``scope_to_user`` for a page)."""
    start, end = local_bounds(first, last)
    rows: dict[tuple, Row] = {}

    def row(unit_id, unit_name, zone_id, zone_name, month) -> Row:
        key = (unit_id, zone_id, month)
        if key not in rows:
            rows[key] = Row(
                unit_id=unit_id, unit_name=unit_name, zone_id=zone_id, zone_name=zone_name or "", month=month
            )
        return rows[key]

    calls = _calls(scope=scope, start=start, end=end, unit_id=unit_id, zone_id=zone_id, using=using)
    if calls.query.is_empty():  # deny by default: nothing to read
        return rows
    for g in _call_figures(calls, now=now, using=using):
        r = row(g["unit_id"], g["unit__name"], g["zone_id"], g["zone__name"], _month_of(g["month"]))
        for name in CALL_FIGURES:
            setattr(r, name, g[name])
        r.median_attend, r.p90_attend = g.get("median_attend"), g.get("p90_attend")
    if connections[using].vendor != "postgresql":
        for key, (median, p90) in _percentiles_in_python(calls).items():
            if key in rows:
                rows[key].median_attend, rows[key].p90_attend = median, p90

    # Carry-in: by the month the product was taken from the customer; turnaround once it is back with them.
    entries = _scoped(
        RegisterEntry, scope=scope, using=using, unit_id=unit_id, zone_id=zone_id, zone_path="call__zone_id"
    ).filter(taken_at__gte=start, taken_at__lt=end)
    for g in (
        values_in_language(
            entries, "unit_id", "unit__name", "call__zone_id", "call__zone__name", month=_local_month("taken_at")
        )
        .annotate(
            returned=Count("id", filter=Q(released_at__isnull=False)),
            turnaround=Avg(
                ExpressionWrapper(F("released_at") - F("taken_at"), output_field=DurationField()),
                filter=Q(released_at__isnull=False),
            ),
        )
        .order_by()
    ):
        r = row(g["unit_id"], g["unit__name"], g["call__zone_id"], g["call__zone__name"], _month_of(g["month"]))
        r.carry_ins_returned, r.carry_in_turnaround = g["returned"], g["turnaround"]

    fees = _scoped(
        FeeCollection, scope=scope, using=using, unit_id=unit_id, zone_id=zone_id, zone_path="voucher__call__zone_id"
    ).filter(collected_at__gte=start, collected_at__lt=end)
    for g in (
        values_in_language(
            fees,
            "unit_id",
            "unit__name",
            "voucher__call__zone_id",
            "voucher__call__zone__name",
            month=_local_month("collected_at"),
        )
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        r = row(
            g["unit_id"],
            g["unit__name"],
            g["voucher__call__zone_id"],
            g["voucher__call__zone__name"],
            _month_of(g["month"]),
        )
        r.fees_collected = g["total"] or Decimal("0.00")

    cards = _scoped(
        SurveyCard, scope=scope, using=using, unit_id=unit_id, zone_id=zone_id, zone_path="call__zone_id"
    ).filter(survey_day__gte=month_start(first), survey_day__lt=add_months(month_start(last), 1))
    answered = Q(status=SurveyCard.Status.ANSWERED)
    for g in (
        values_in_language(
            cards, "unit_id", "unit__name", "call__zone_id", "call__zone__name", month=TruncMonth("survey_day")
        )
        .annotate(
            issued=Count("id"),
            answered=Count("id", filter=answered),
            **{f"avg_{name}": Avg(F(f"rating_{name}"), filter=answered, output_field=FloatField()) for name in RATINGS},
        )
        .order_by()
    ):
        r = row(g["unit_id"], g["unit__name"], g["call__zone_id"], g["call__zone__name"], _month_of(g["month"]))
        r.cards_issued, r.cards_answered = g["issued"], g["answered"]
        r.ratings = {name: g[f"avg_{name}"] for name in RATINGS}
    return rows


def _stored_rows(*, user, months, unit_id, zone_id, using) -> list[Row]:
    """The recorded months' rows, scoped like the live figures: one query."""
    qs = scope_to_user(ServiceMonth.objects.using(using), user=user).filter(month__in=months)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if zone_id:
        qs = qs.filter(zone_id=zone_id)
    rows = []
    for values in values_in_language(
        qs,
        "unit_id",
        "zone_id",
        "month",
        "unit__name",
        "zone__name",
        *STORED_FIGURES,
        *(f"rating_{name}" for name in RATINGS),
    ):
        ratings = {name: values.pop(f"rating_{name}") for name in RATINGS}
        unit_name, zone_name = values.pop("unit__name"), values.pop("zone__name")
        rows.append(Row(unit_name=unit_name, zone_name=zone_name or "", ratings=ratings, **values))
    # Rows with no survey cards have no ratings at all in the live figures (not four empty ones).
    for r in rows:
        if not r.cards_issued:
            r.ratings = {}
    return rows


def dashboard_for(
    *,
    user,
    first: dt.date,
    last: dt.date,
    unit_id: int | None = None,
    zone_id: int | None = None,
    now: dt.datetime | None = None,
) -> Dashboard:
    """The figures of the months ``first``..``last`` (local), per unit, zone and month; a fixed number of queries.

    Months the periodic job has recorded (``RecordedMonth``: the closed months, and the current month as of its
    last refresh) are read from their stored rows; any other month is computed live from the calls.
    """
    now = now or timezone.now()
    using = reports_db()
    months = months_between(first, last)
    if scope_to_user(RepairCall.objects.using(using), user=user).query.is_empty():
        return Dashboard(rows=[], months=months, trend=[], by_unit=[])  # deny by default: nothing to read
    recorded = dict(RecordedMonth.objects.using(using).filter(month__in=months).values_list("month", "computed_at"))
    rows = _stored_rows(user=user, months=list(recorded), unit_id=unit_id, zone_id=zone_id, using=using)
    unrecorded = [m for m in months if m not in recorded]
    if unrecorded:
        scope = partial(scope_to_user, user=user)
        live = live_rows(
            scope=scope,
            first=unrecorded[0],
            last=unrecorded[-1],
            unit_id=unit_id,
            zone_id=zone_id,
            now=now,
            using=using,
        )
        rows.extend(r for r in live.values() if r.month not in recorded)
    ordered = sorted(rows, key=lambda r: (r.month, r.unit_name, r.zone_name))
    return Dashboard(
        rows=ordered,
        months=months,
        trend=_trend(ordered, months),
        by_unit=_by_unit(ordered),
        recorded=recorded,
    )


CALL_FIGURES = (
    "received",
    "on_time",
    "late",
    "arrivals_typed",
    "logged_late",
    "open_past_deadline",
    "resolved",
    "first_visit_fixes",
    "repeat_repairs",
)
# The figures a ServiceMonth row keeps besides its ratings (the same names as Row's).
STORED_FIGURES = (
    *CALL_FIGURES,
    "median_attend",
    "p90_attend",
    "carry_ins_returned",
    "carry_in_turnaround",
    "fees_collected",
    "cards_issued",
    "cards_answered",
)


ADDITIVE = (
    "received",
    "on_time",
    "late",
    "arrivals_typed",
    "logged_late",
    "open_past_deadline",
    "resolved",
    "first_visit_fixes",
    "repeat_repairs",
    "carry_ins_returned",
    "fees_collected",
    "cards_issued",
    "cards_answered",
)


def _add_up(rows: list[Row], **identity) -> Row:
    """The counts of several rows added up (percentiles and averages do not add: left empty)."""
    total = Row(**identity)
    for r in rows:
        for name in ADDITIVE:
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return total


def _trend(rows: list[Row], months: list[dt.date]) -> list[Row]:
    return [
        _add_up([r for r in rows if r.month == m], unit_id=0, unit_name="", zone_id=None, zone_name="", month=m)
        for m in months
    ]


def _by_unit(rows: list[Row]) -> list[Row]:
    units = {}
    for r in rows:
        units.setdefault((r.unit_name, r.unit_id), []).append(r)
    return [
        _add_up(group, unit_id=unit_id, unit_name=name, zone_id=None, zone_name="", month=group[0].month)
        for (name, unit_id), group in sorted(units.items())
    ]
