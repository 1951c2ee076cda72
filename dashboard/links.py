"""Where a dashboard figure leads: the calls behind it. One function, so the target can be repointed in one place.

The calls list of every state (``records:calls``) takes the filters below; until that page exists the link goes
to the dispatch board with the filters it understands (unit, zone), which shows the open calls among them.
"""

import datetime as dt

from django.urls import NoReverseMatch, get_script_prefix, reverse
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


def _target(prefix: str) -> tuple[str, bool]:
    """The calls list's path (or the board's), reversed once per script prefix: a head-office page links
    some 2,400 figures, and ``reverse`` + ``urlencode`` for each cost more than the rest of the view."""
    if prefix not in _TARGETS:
        try:
            _TARGETS[prefix] = (reverse("records:calls"), True)
        except NoReverseMatch:
            _TARGETS[prefix] = (reverse("repairs:board"), False)
    return _TARGETS[prefix]


_TARGETS: dict[str, tuple[str, bool]] = {}


def calls_url(*, figure: str, unit_id: int | None, zone_id: int | None, month: dt.date | None) -> str:
    query = {}
    if unit_id:
        query["unit"] = unit_id
    if zone_id:
        query["zone"] = zone_id
    base, is_calls_list = _target(get_script_prefix())
    if not is_calls_list:
        return f"{base}?{urlencode(query)}" if query else base
    if month:
        query["date_from"] = month.isoformat()
        next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        query["date_to"] = (next_month - dt.timedelta(days=1)).isoformat()  # the last day, inclusive
    query.update(FIGURE_FILTERS.get(figure, {}))
    # Ids, ISO dates and the fixed filter values above: nothing to escape (urlencode would give the same).
    return f"{base}?" + "&".join(f"{key}={value}" for key, value in query.items())
