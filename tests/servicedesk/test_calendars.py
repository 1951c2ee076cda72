"""The dispatch deadline as a pure function: no database, no clock (clause 十九)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from servicedesk.calendars import CalendarSpec, deadline_for, is_at_risk, is_overdue

SHANGHAI = ZoneInfo("Asia/Shanghai")

# March 2026: the 2nd is a Monday, the 6th a Friday, the 7th and 8th the weekend.
MON, TUE, WED, FRI, SAT, SUN, NEXT_MON = (dt.date(2026, 3, d) for d in (2, 3, 4, 6, 7, 8, 9))

OFFICE = CalendarSpec()  # Monday to Friday, 09:00-17:00, Asia/Shanghai
WITH_LUNCH = CalendarSpec(windows=((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def test_urban_call_is_due_six_wall_clock_hours_after_the_call():
    assert deadline_for(start=at(MON, 22, 30), hours=6) == at(TUE, 4, 30)


def test_suburban_call_is_due_seven_wall_clock_hours_after_the_call():
    assert deadline_for(start=at(SAT, 20), hours=7) == at(SUN, 3)


def test_wall_clock_hours_may_be_fractional():
    assert deadline_for(start=at(MON, 10), hours=6.5) == at(MON, 16, 30)


def test_wall_clock_deadline_keeps_the_callers_time_zone_and_instant():
    start = at(MON, 10).astimezone(dt.UTC)
    due = deadline_for(start=start, hours=6)
    assert due == at(MON, 16)
    assert due.tzinfo is not None


def test_business_hours_inside_one_day():
    assert deadline_for(start=at(MON, 9), hours=6, calendar=OFFICE) == at(MON, 15)


def test_business_hours_carry_across_the_night():
    # 15:00-17:00 is two hours; the other four start at 09:00 the next morning.
    assert deadline_for(start=at(MON, 15), hours=6, calendar=OFFICE) == at(TUE, 13)


def test_business_hours_skip_the_weekend():
    assert deadline_for(start=at(FRI, 15), hours=6, calendar=OFFICE) == at(NEXT_MON, 13)


def test_business_hours_skip_a_holiday():
    calendar = CalendarSpec(holidays=frozenset({NEXT_MON}))
    assert deadline_for(start=at(FRI, 15), hours=6, calendar=calendar) == at(dt.date(2026, 3, 10), 13)


def test_a_holiday_in_the_middle_of_the_week_is_skipped():
    calendar = CalendarSpec(holidays=frozenset({TUE}))
    assert deadline_for(start=at(MON, 15), hours=6, calendar=calendar) == at(WED, 13)


def test_a_swapped_weekend_working_day_counts():
    calendar = CalendarSpec(extra_workdays=frozenset({SAT}))
    assert deadline_for(start=at(FRI, 15), hours=6, calendar=calendar) == at(SAT, 13)


def test_a_holiday_swapped_with_the_sunday_before_it():
    # Monday the 2nd is off, Sunday the 1st is worked instead.
    sunday_before = dt.date(2026, 3, 1)
    calendar = CalendarSpec(holidays=frozenset({MON}), extra_workdays=frozenset({sunday_before}))
    assert deadline_for(start=at(sunday_before, 8), hours=8, calendar=calendar) == at(sunday_before, 17)
    assert deadline_for(start=at(sunday_before, 16), hours=2, calendar=calendar) == at(TUE, 10)


def test_a_call_logged_in_the_evening_starts_counting_next_morning():
    assert deadline_for(start=at(MON, 20), hours=6, calendar=OFFICE) == at(TUE, 15)


def test_a_call_logged_before_opening_starts_counting_at_opening():
    assert deadline_for(start=at(MON, 7, 15), hours=6, calendar=OFFICE) == at(MON, 15)


def test_a_call_logged_on_a_sunday_starts_counting_on_monday():
    assert deadline_for(start=at(SUN, 11), hours=7, calendar=OFFICE) == at(NEXT_MON, 16)


def test_a_call_logged_on_friday_evening_is_due_on_monday():
    assert deadline_for(start=at(FRI, 18), hours=7, calendar=OFFICE) == at(NEXT_MON, 16)


def test_the_lunch_break_does_not_count():
    assert deadline_for(start=at(MON, 11), hours=2, calendar=WITH_LUNCH) == at(MON, 14)


def test_a_call_logged_during_lunch_starts_counting_after_lunch():
    assert deadline_for(start=at(MON, 12, 30), hours=1, calendar=WITH_LUNCH) == at(MON, 14)


def test_several_windows_across_a_night():
    # Mon 16:00-17:00 (1 h), Tue 09:00-12:00 (3 h), Tue 13:00-15:00 (2 h).
    assert deadline_for(start=at(MON, 16), hours=6, calendar=WITH_LUNCH) == at(TUE, 15)


def test_windows_given_out_of_order_are_still_counted_in_order():
    calendar = CalendarSpec(windows=((dt.time(13), dt.time(17)), (dt.time(9), dt.time(12))))
    assert deadline_for(start=at(MON, 11), hours=2, calendar=calendar) == at(MON, 14)


def test_a_deadline_that_ends_exactly_at_closing_time_is_that_day():
    assert deadline_for(start=at(MON, 11), hours=6, calendar=OFFICE) == at(MON, 17)


def test_a_deadline_ending_exactly_at_the_end_of_the_morning_window_is_before_lunch():
    assert deadline_for(start=at(MON, 9), hours=3, calendar=WITH_LUNCH) == at(MON, 12)


def test_a_call_logged_exactly_at_closing_time_starts_next_morning():
    assert deadline_for(start=at(MON, 17), hours=1, calendar=OFFICE) == at(TUE, 10)


def test_fractional_business_hours():
    assert deadline_for(start=at(MON, 16, 30), hours=0.75, calendar=OFFICE) == at(TUE, 9, 15)


def test_business_hours_accept_a_start_in_another_time_zone():
    # 01:00 UTC on Monday is 09:00 in Shanghai.
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    assert deadline_for(start=start, hours=6, calendar=OFFICE) == at(MON, 15)


def test_the_calendars_own_time_zone_decides_the_windows():
    london = CalendarSpec(timezone="Europe/London")
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    assert deadline_for(start=start, hours=8, calendar=london) == start + dt.timedelta(hours=8)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        deadline_for(start=dt.datetime(2026, 3, 2, 9), hours=6)
    with pytest.raises(ValueError, match="aware"):
        deadline_for(start=dt.datetime(2026, 3, 2, 9), hours=6, calendar=OFFICE)


def test_negative_hours_are_refused():
    with pytest.raises(ValueError, match="negative"):
        deadline_for(start=at(MON, 9), hours=-1)
    with pytest.raises(ValueError, match="negative"):
        deadline_for(start=at(MON, 9), hours=-0.5, calendar=OFFICE)


def test_zero_hours_is_the_start_itself():
    assert deadline_for(start=at(MON, 10), hours=0) == at(MON, 10)
    assert deadline_for(start=at(MON, 10), hours=0, calendar=OFFICE) == at(MON, 10)


def test_a_calendar_without_windows_is_refused():
    with pytest.raises(ValueError, match="window"):
        deadline_for(start=at(MON, 9), hours=6, calendar=CalendarSpec(windows=()))


def test_a_calendar_without_working_days_is_refused_rather_than_looping_forever():
    with pytest.raises(ValueError, match="no working time"):
        deadline_for(start=at(MON, 9), hours=6, calendar=CalendarSpec(weekdays=frozenset()))


def test_overdue_only_after_the_deadline():
    due = at(MON, 15)
    assert not is_overdue(due=due, now=at(MON, 14, 59))
    assert not is_overdue(due=due, now=due)
    assert is_overdue(due=due, now=due + dt.timedelta(seconds=1))


def test_at_risk_inside_the_warning_period_only():
    due = at(MON, 15)
    hour = dt.timedelta(hours=1)
    assert not is_at_risk(due=due, now=at(MON, 13, 59), warning=hour)
    assert is_at_risk(due=due, now=at(MON, 14), warning=hour)
    assert is_at_risk(due=due, now=at(MON, 14, 30), warning=hour)
    assert is_at_risk(due=due, now=due, warning=hour)


def test_an_overdue_call_is_not_at_risk_but_overdue():
    due = at(MON, 15)
    assert not is_at_risk(due=due, now=at(MON, 15, 1), warning=dt.timedelta(hours=1))
