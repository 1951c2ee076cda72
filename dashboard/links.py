"""Where a dashboard figure leads: the calls behind it. One function, so the target can be repointed in one place.

The calls list of every state (``records:calls``) takes the filters below; until that page exists the link goes
to the dispatch board with the filters it understands (unit, zone), which shows the open calls among them.
"""

import datetime as dt

from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

# figure -> the calls list's filters that select the calls behind it
FIGURE_FILTERS = {
    "received": {},
    "on_time": {"attended": "on_time"},
    "late": {"attended": "late"},
    "open_past_deadline": {"attended": "overdue"},
    "logged_late": {"logged_late": "on"},
    "carry_in": {"carried_in": "on"},
}


def calls_url(*, figure: str, unit_id: int | None, zone_id: int | None, month: dt.date | None) -> str:
    query = {}
    if unit_id:
        query["unit"] = unit_id
    if zone_id:
        query["zone"] = zone_id
    try:
        base = reverse("records:calls")
    except NoReverseMatch:
        return f"{reverse('repairs:board')}?{urlencode(query)}" if query else reverse("repairs:board")
    if month:
        query["date_from"] = month.isoformat()
        next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        query["date_to"] = (next_month - dt.timedelta(days=1)).isoformat()  # the last day, inclusive
    query.update(FIGURE_FILTERS.get(figure, {}))
    return f"{base}?{urlencode(query)}"
