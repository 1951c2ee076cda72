"""The dashboard's month summary (issue 13): the periodic job that records each month's figures once.

``service_months_record`` rewrites a month's ``ServiceMonth`` rows from the live computation
(``dashboard.selectors.live_rows``, every unit) under a lock on the month's ``RecordedMonth`` row: two runs at
once write the month one after the other, a rerun or a late run writes the same rows again, and the unique
constraint (month, unit, zone) keeps each month counted once whatever happens.

Which months a run records: the current month (refreshed), the last ``MONTHS_KEPT_OPEN`` closed months (late
survey cards, fees and typed arrivals still land there), every month with calls that was never recorded (the
first run, or after an outage), and every recorded month with a call changed since (a call logged late with
its true received time in an old month, an arrival typed by hand later).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone

from repairs.models import RepairCall

from .models import RecordedMonth, ServiceMonth
from .selectors import RATINGS, STORED_FIGURES, add_months, every_unit, live_rows, months_between

MONTHS_KEPT_OPEN = 3


def _months_to_record(*, now: dt.datetime, months_back: int, current: bool, catch_up: bool) -> list[dt.date]:
    this_month = timezone.localdate(now).replace(day=1)
    wanted = {add_months(this_month, -i) for i in range(1, months_back + 1)}
    if current:
        wanted.add(this_month)
    if not catch_up:
        return sorted(wanted)
    first_call = RepairCall.objects.aggregate(first=Min("received_at"))["first"]
    if first_call is None:
        return sorted(wanted)
    recorded = dict(RecordedMonth.objects.values_list("month", "computed_at"))
    for month in months_between(timezone.localdate(first_call), add_months(this_month, -1)):
        if month not in recorded:
            wanted.add(month)
    if recorded:
        # Calls changed after their month was recorded (the workflow stamps updated_at on every change).
        oldest = min(recorded.values())
        changed = (
            RepairCall.objects.filter(updated_at__gt=oldest)
            .annotate(month=TruncMonth("received_at"))
            .values("month")
            .order_by()
            .annotate(last_change=Max("updated_at"))
        )
        for values in changed:
            month = timezone.localtime(values["month"]).date()  # TruncMonth in the local time zone
            if month in recorded and values["last_change"] > recorded[month]:
                wanted.add(month)
    return sorted(m for m in wanted if m <= this_month)


def service_month_record(*, month: dt.date, now: dt.datetime) -> int:
    """Rewrite one month's rows (every unit and zone) from the live figures; returns the rows written."""
    with transaction.atomic():
        RecordedMonth.objects.bulk_create([RecordedMonth(month=month, computed_at=now)], ignore_conflicts=True)
        marker = RecordedMonth.objects.select_for_update().get(month=month)
        rows = live_rows(scope=every_unit, first=month, last=month, now=now, using="default")
        ServiceMonth.objects.filter(month=month).delete()
        ServiceMonth.objects.bulk_create(
            [
                ServiceMonth(
                    unit_id=r.unit_id,
                    zone_id=r.zone_id,
                    month=month,
                    **{name: getattr(r, name) for name in STORED_FIGURES},
                    **{f"rating_{name}": r.ratings.get(name) for name in RATINGS},
                )
                for r in rows.values()
                if r.month == month
            ]
        )
        marker.computed_at = now
        marker.save(update_fields=["computed_at"])
    return len(rows)


def service_months_record(
    *,
    now: dt.datetime | None = None,
    months_back: int = MONTHS_KEPT_OPEN,
    current: bool = True,
    catch_up: bool = True,
) -> int:
    """Record every month that needs it (see the module's docstring); returns the rows written.

    ``catch_up=False`` (the frequent refresh of the current month) skips the look for never-recorded and changed
    months, which the nightly run does."""
    now = now or timezone.now()
    months = _months_to_record(now=now, months_back=months_back, current=current, catch_up=catch_up)
    return sum(service_month_record(month=month, now=now) for month in months)
