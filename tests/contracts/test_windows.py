import datetime as dt

import pytest

from contracts.windows import default_term_end, in_notice_window, notice_date

D = dt.date


@pytest.mark.parametrize(
    ("end_on", "expected"),
    [
        (D(2027, 3, 31), D(2027, 2, 28)),  # clause 二十: ending 31 March, noticed on 28 February
        (D(2028, 3, 31), D(2028, 2, 29)),  # ... or on 29 February in a leap year
        (D(2028, 3, 29), D(2028, 2, 29)),
        (D(2027, 3, 29), D(2027, 2, 28)),
        (D(2027, 3, 28), D(2027, 2, 28)),
        (D(2027, 5, 31), D(2027, 4, 30)),
        (D(2027, 4, 30), D(2027, 3, 30)),
        (D(2027, 1, 15), D(2026, 12, 15)),  # across the year end
        (D(2028, 2, 29), D(2028, 1, 29)),
        (D(2027, 2, 28), D(2027, 1, 28)),
        (D(2027, 12, 31), D(2027, 11, 30)),
    ],
)
def test_one_calendar_month_before_the_end(end_on, expected):
    assert notice_date(end_on=end_on, months=1) == expected


def test_a_window_of_months_and_days():
    assert notice_date(end_on=D(2027, 3, 31), months=2, days=10) == D(2027, 1, 21)
    assert notice_date(end_on=D(2027, 3, 31), months=0, days=45) == D(2027, 2, 14)


def test_a_twelve_month_window_from_a_leap_day():
    assert notice_date(end_on=D(2028, 2, 29), months=12) == D(2027, 2, 28)


def test_in_the_window_from_the_notice_day_to_the_last_day():
    end_on = D(2027, 3, 31)
    notice_on = notice_date(end_on=end_on, months=1)
    assert not in_notice_window(end_on=end_on, notice_on=notice_on, today=D(2027, 2, 27))
    assert in_notice_window(end_on=end_on, notice_on=notice_on, today=D(2027, 2, 28))
    assert in_notice_window(end_on=end_on, notice_on=notice_on, today=end_on)
    assert not in_notice_window(end_on=end_on, notice_on=notice_on, today=D(2027, 4, 1))


@pytest.mark.parametrize(
    ("start_on", "months", "end_on"),
    [
        (D(2027, 1, 1), 12, D(2027, 12, 31)),
        (D(2027, 4, 1), 12, D(2028, 3, 31)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2027, 1, 31), 1, D(2027, 2, 28)),
        (D(2027, 1, 30), 1, D(2027, 2, 28)),
        (D(2027, 3, 1), 6, D(2027, 8, 31)),
    ],
)
def test_a_term_of_whole_months_ends_the_day_before(start_on, months, end_on):
    assert default_term_end(start_on=start_on, months=months) == end_on
