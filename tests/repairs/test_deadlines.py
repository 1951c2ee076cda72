"""The call's attend-by deadline from its zone: wall clock or a working calendar (clause 十九)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from repairs.deadlines import attend_by_for
from repairs.models import RepairCall, Zone
from servicedesk.models import CalendarException, WorkingCalendar, WorkingWindow
from tests.factories import SiteFactory, log_call

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRI, SAT, MON, TUE = (dt.date(2026, 3, d) for d in (6, 7, 9, 10))


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def office_calendar(db):
    calendar = WorkingCalendar.objects.create(name="Shanghai office")
    WorkingWindow.objects.create(calendar=calendar, start=dt.time(9), end=dt.time(12))
    WorkingWindow.objects.create(calendar=calendar, start=dt.time(13), end=dt.time(17))
    return calendar


@pytest.fixture
def business_zone(office_calendar):
    return Zone.objects.create(
        code="business", name="Business hours", response_hours=Decimal("6"), calendar=office_calendar
    )


def test_default_zones_are_six_hours_urban_and_seven_suburban(db):
    hours = dict(Zone.objects.values_list("code", "response_hours"))
    assert hours["urban"] == Decimal("6")
    assert hours["suburban"] == Decimal("7")


def test_urban_zone_counts_six_wall_clock_hours(urban):
    assert attend_by_for(zone=urban, received_at=at(FRI, 20)) == at(SAT, 2)


def test_suburban_zone_counts_seven_wall_clock_hours(suburban):
    assert attend_by_for(zone=suburban, received_at=at(FRI, 20)) == at(SAT, 3)


def test_a_zone_with_a_working_calendar_counts_business_hours_over_the_weekend(business_zone):
    # Fri 15:00-17:00 is two hours; Monday 09:00-12:00 three more, then one after lunch.
    assert attend_by_for(zone=business_zone, received_at=at(FRI, 15)) == at(MON, 14)


def test_a_holiday_in_the_calendar_is_skipped(business_zone, office_calendar):
    CalendarException.objects.create(calendar=office_calendar, date=MON, kind=CalendarException.Kind.HOLIDAY)
    assert attend_by_for(zone=business_zone, received_at=at(FRI, 15)) == at(TUE, 14)


def test_a_swapped_saturday_in_the_calendar_counts(business_zone, office_calendar):
    CalendarException.objects.create(calendar=office_calendar, date=SAT, kind=CalendarException.Kind.WORKING_DAY)
    assert attend_by_for(zone=business_zone, received_at=at(FRI, 15)) == at(SAT, 14)


def test_the_calendars_working_days_come_from_the_table(business_zone, office_calendar):
    office_calendar.saturday = True
    office_calendar.save()
    assert attend_by_for(zone=business_zone, received_at=at(FRI, 16)) == at(SAT, 15)


def test_logging_a_call_stores_the_urban_deadline(dispatcher, urban):
    received = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    call = log_call(dispatcher=dispatcher, received_at=received, zone=urban)
    call.refresh_from_db()
    assert call.zone == urban
    assert call.attend_by == received + dt.timedelta(hours=6)


def test_logging_a_call_stores_the_suburban_deadline(dispatcher, suburban):
    received = timezone.now().replace(microsecond=0)
    call = log_call(dispatcher=dispatcher, received_at=received, zone=suburban)
    call.refresh_from_db()
    assert call.attend_by == received + dt.timedelta(hours=7)


def test_logging_a_call_in_a_business_hours_zone_stores_the_calendar_deadline(dispatcher, business_zone):
    call = log_call(dispatcher=dispatcher, zone=business_zone, received_at=at(FRI, 18), now=at(FRI, 18, 5))
    call.refresh_from_db()
    # Logged after closing on Friday: Monday 09:00-12:00 and 13:00-16:00.
    assert call.attend_by == at(MON, 16)
    assert call.received_at == at(FRI, 18)


def test_the_deadline_follows_the_site_zone_not_a_guess(dispatcher, unit, suburban):
    site = SiteFactory(customer__unit=unit, zone=suburban)
    received = timezone.now().replace(microsecond=0)
    call = log_call(dispatcher=dispatcher, site=site, received_at=received)
    assert call.zone == suburban
    assert RepairCall.objects.get(pk=call.pk).attend_by == received + dt.timedelta(hours=7)


def test_changing_a_zone_later_does_not_move_stored_deadlines(dispatcher, urban):
    received = timezone.now().replace(microsecond=0)
    call = log_call(dispatcher=dispatcher, received_at=received, zone=urban)
    urban.response_hours = Decimal("2")
    urban.save()
    call.refresh_from_db()
    assert call.attend_by == received + dt.timedelta(hours=6)


def test_a_call_whose_deadline_has_passed_is_logged_late_with_its_true_deadline(dispatcher, urban):
    received = timezone.now() - dt.timedelta(hours=6, minutes=1)
    call = log_call(dispatcher=dispatcher, zone=urban, received_at=received)
    assert call.received_at == received and call.attend_by == received + dt.timedelta(hours=6)
    assert call.logged_late and call.logged_late_by == dispatcher
