"""Clause 二十: when a term's expiry notice is due. Pure date arithmetic, no database, no clock."""

import datetime as dt
import functools

from dateutil.relativedelta import relativedelta


@functools.lru_cache(maxsize=4096)
def notice_date(*, end_on: dt.date, months: int, days: int = 0) -> dt.date:
    """The first day of the notice window of a term whose last covered day is ``end_on``.

    Calendar months, clamped to the month's end: a term ending 31 March is
    noticed on 28 February (29 in a leap year), one ending 30 April on 30 March.
    """
    return end_on - relativedelta(months=months, days=days)


def in_notice_window(*, end_on: dt.date, notice_on: dt.date, today: dt.date) -> bool:
    return notice_on <= today <= end_on


def default_term_end(*, start_on: dt.date, months: int = 12) -> dt.date:
    """The last day of a term of ``months`` calendar months from ``start_on``: the day before the same date then.

    When that date does not exist (a term from 31 January for one month, from
    29 February for a year) the month's last day is the term's last day.
    """
    later = start_on + relativedelta(months=months)
    if later.day < start_on.day:  # clamped to the end of a shorter month
        return later
    return later - dt.timedelta(days=1)
