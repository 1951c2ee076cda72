"""Each technician's work today and this week, for the dispatcher choosing who to send (issue 16).

Three reads whatever the number of technicians or calls: the technicians the user may dispatch,
their visits this week (each visit of a call is a trip: a second visit is its own entry), and
their open calls still to attend (dispatched, or planned by an appointment: revisits, parts
to fit, planned maintenance visits). Scoped like every read: the user's unit, or head office.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from servicedesk.models import columns_in_language, person_name
from servicedesk.scoping import scope_to_user

from .models import RepairCall, Visit
from .selectors import repair_call_queryset
from .services.calls import active_technicians

DAY_STARTS = 8  # the hours drawn on today's line; work outside them still shows in the week
DAY_ENDS = 20
PLANNED_LENGTH = dt.timedelta(hours=1)  # an appointment has a start, not an end: an hour is drawn


@dataclass
class Entry:
    kind: str  # "on_site", "visit" (ended), "planned", "to_attend"
    start: dt.datetime
    end: dt.datetime | None
    call_id: int
    call_number: str
    visit_number: int | None = None
    overdue: bool = False

    @property
    def url(self) -> str:
        return reverse("repairs:call_detail", args=[self.call_id])


@dataclass
class TechnicianWeek:
    technician_id: int
    name: str
    unit_name: str
    days: list[list[Entry]]
    today: list[Entry] = field(default_factory=list)
    busy_hours: list[bool] = field(default_factory=list)
    on_site: bool = False

    @property
    def free_today(self) -> bool:
        return not self.today


@dataclass
class Timeline:
    days: list[dt.date]
    today: dt.date
    hours: list[int]
    technicians: list[TechnicianWeek]


def _week_of(now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    today = timezone.localtime(now).date()
    monday = today - dt.timedelta(days=today.weekday())
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    return monday, start, start + dt.timedelta(days=7)


def technician_timeline(*, user, unit=None, now: dt.datetime) -> Timeline:
    monday, week_start, week_end = _week_of(now)
    today = timezone.localtime(now).date()
    technicians = scope_to_user(active_technicians(), user=user)
    if unit is not None:
        technicians = technicians.filter(unit=unit)
    people = list(
        technicians.values_list(
            *columns_in_language(technicians.model, ("pk", "username", "first_name", "last_name", "unit__name"))
        )
    )
    rows = {
        pk: TechnicianWeek(
            technician_id=pk,
            name=person_name(username=username, first_name=first, last_name=last),
            unit_name=unit_name or "",
            days=[[] for _ in range(7)],
        )
        for pk, username, first, last, unit_name in people
    }
    ids = list(rows)
    if ids:
        visits = scope_to_user(Visit.objects.all(), user=user).filter(
            technician_id__in=ids, arrived_at__gte=week_start, arrived_at__lt=week_end
        )
        for technician_id, arrived_at, ended_at, call_id, number, visit_number in visits.order_by(
            "arrived_at"
        ).values_list("technician_id", "arrived_at", "ended_at", "call_id", "call__number", "number"):
            _add(
                rows[technician_id],
                Entry(
                    kind="visit" if ended_at else "on_site",
                    start=arrived_at,
                    end=ended_at or max(now, arrived_at),
                    call_id=call_id,
                    call_number=number,
                    visit_number=visit_number,
                ),
                monday=monday,
                today=today,
            )
        to_attend = (
            repair_call_queryset(user=user)
            .filter(technician_id__in=ids, status__in=RepairCall.PLANNABLE)
            .filter(
                Q(appointment_at__gte=week_start, appointment_at__lt=week_end)
                | Q(appointment_at__isnull=True, status=RepairCall.Status.DISPATCHED)
            )
        )
        for technician_id, call_id, number, appointment_at, attend_by in to_attend.order_by(
            "appointment_at", "attend_by"
        ).values_list("technician_id", "id", "number", "appointment_at", "attend_by"):
            if appointment_at is not None:
                entry = Entry("planned", appointment_at, appointment_at + PLANNED_LENGTH, call_id, number)
            else:
                # Waiting for the technician to go: shown on its deadline's day, and today when already late.
                entry = Entry("to_attend", max(attend_by, week_start), None, call_id, number, overdue=attend_by < now)
                if attend_by < now:
                    entry.start = now
                elif attend_by >= week_end:
                    entry.start = week_end - dt.timedelta(minutes=1)
            _add(rows[technician_id], entry, monday=monday, today=today)
    hours = list(range(DAY_STARTS, DAY_ENDS))
    for row in rows.values():
        row.busy_hours = [_busy(row.today, today, hour) for hour in hours]
        row.on_site = any(entry.kind == "on_site" for entry in row.today)
    return Timeline(
        days=[monday + dt.timedelta(days=i) for i in range(7)],
        today=today,
        hours=hours,
        technicians=sorted(rows.values(), key=lambda row: (row.unit_name, row.name)),
    )


def _add(row: TechnicianWeek, entry: Entry, *, monday: dt.date, today: dt.date) -> None:
    day = timezone.localtime(entry.start).date()
    index = (day - monday).days
    if 0 <= index < 7:
        row.days[index].append(entry)
    if day == today:
        row.today.append(entry)


def _busy(entries: list[Entry], today: dt.date, hour: int) -> bool:
    tz = timezone.get_current_timezone()
    begins = dt.datetime.combine(today, dt.time(hour), tzinfo=tz)
    ends = begins + dt.timedelta(hours=1)
    return any(e.end is not None and e.start < ends and e.end > begins for e in entries)
