"""Deadlines as pure functions: no database, no clock. ``now`` is always passed in.

Clause 十九 counts the dispatch deadline from the repair call: six hours in
urban areas, seven in suburban ones. By default that is wall-clock time; a zone
may instead count business hours on a working calendar, in which case only the
time inside the calendar's daily windows on working days counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# A calendar with no working time at all would loop forever; ten years is "never".
_MAX_DAYS = 3660


@dataclass(frozen=True)
class CalendarSpec:
    timezone: str = "Asia/Shanghai"
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday is 0
    windows: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9), dt.time(17)),)
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        return day in self.extra_workdays or day.weekday() in self.weekdays


def deadline_for(*, start: dt.datetime, hours: float | int, calendar: CalendarSpec | None = None) -> dt.datetime:
    """The moment ``hours`` of allowed time have passed since ``start``.

    Without a calendar the hours are wall-clock hours. With one, only time inside
    its daily windows on working days counts: a call logged in the evening
    starts counting at the next window, and holidays are skipped (a swapped
    weekend working day counts). The result is timezone-aware.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = dt.timedelta(hours=hours)
    if calendar is None:
        return start + remaining
    if not calendar.windows:
        raise ValueError("the working calendar has no daily working window")

    tz = ZoneInfo(calendar.timezone)
    cursor = start.astimezone(tz)
    day = cursor.date()
    for _ in range(_MAX_DAYS):
        if calendar.is_working_day(day):
            # Sorted: a window listed before an earlier one must not make the earlier one count as past.
            for window_start, window_end in sorted(calendar.windows):
                opens = dt.datetime.combine(day, window_start, tzinfo=tz)
                closes = dt.datetime.combine(day, window_end, tzinfo=tz)
                begin = max(cursor, opens)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = closes
        day += dt.timedelta(days=1)
    raise ValueError("the working calendar has no working time in the next ten years")


def is_overdue(*, due: dt.datetime, now: dt.datetime) -> bool:
    return now > due


def is_at_risk(*, due: dt.datetime, now: dt.datetime, warning: dt.timedelta) -> bool:
    """Not yet late, but inside the warning period before the deadline."""
    return not is_overdue(due=due, now=now) and due - now <= warning
