"""The repair call's dispatch deadline (clause 十九), built on the pure calendar functions."""

import datetime as dt

from servicedesk.calendars import deadline_for

from .models import Zone


def attend_by_for(*, zone: Zone, received_at: dt.datetime) -> dt.datetime:
    """``received_at`` plus the zone's response hours, in wall-clock or business hours.

    Urban zones default to six hours and suburban to seven; a zone with a working
    calendar counts only the calendar's working time.
    """
    calendar = zone.calendar.spec() if zone.calendar_id else None
    return deadline_for(start=received_at, hours=float(zone.response_hours), calendar=calendar)
