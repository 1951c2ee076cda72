"""The service dashboard: figures per unit, zone and local month, scoped, with drill-down and exports."""

import csv
import datetime as dt
import io
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.links import calls_url
from dashboard.selectors import dashboard_for
from repairs import services
from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.factories import log_call as log_call_now

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER, NOVEMBER = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def log_call(*, dispatcher, received_at=None, **kwargs):
    """A call logged as it came in (the service refuses a call whose deadline has passed: the clock is set)."""
    if received_at is None:
        return log_call_now(dispatcher=dispatcher, **kwargs)
    with mock.patch("django.utils.timezone.now", return_value=received_at + dt.timedelta(minutes=1)):
        return log_call_now(dispatcher=dispatcher, received_at=received_at, **kwargs)


def attended(call, *, technician, dispatcher, after: dt.timedelta):
    arrival = call.received_at + after
    with mock.patch("django.utils.timezone.now", return_value=call.received_at + dt.timedelta(minutes=2)):
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    with mock.patch("django.utils.timezone.now", return_value=arrival):
        return services.repair_call_record_arrival(user=technician, call_id=call.pk)


@pytest.fixture
def boss(unit):
    return UserFactory(username="boss", unit=unit, roles=[Role.SUPERVISOR])


def _row(result, month):
    rows = [r for r in result.rows if r.month == month]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_call_at_23_30_on_31_october_local_time_belongs_to_october(dispatcher, boss):
    log_call(dispatcher=dispatcher, received_at=at(2026, 10, 31, 23, 30))  # 15:30 UTC, still October
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 1, 0, 10))  # 16:10 UTC on 31 October: November
    result = dashboard_for(user=boss, first=OCTOBER, last=NOVEMBER)
    assert _row(result, OCTOBER).received == 1
    assert _row(result, NOVEMBER).received == 1
    assert [m.received for m in result.trend] == [1, 1]
    assert dashboard_for(user=boss, first=NOVEMBER, last=NOVEMBER).trend[0].received == 1


def test_on_time_late_open_past_deadline_and_the_attend_time_percentiles(dispatcher, technician, boss):
    now = at(2026, 11, 20, 12, 0)
    for hours in (1, 2, 3):  # urban zone: six hours to attend
        call = log_call(dispatcher=dispatcher, received_at=at(2026, 11, 2, 8, 0))
        attended(call, technician=technician, dispatcher=dispatcher, after=dt.timedelta(hours=hours))
    late = log_call(dispatcher=dispatcher, received_at=at(2026, 11, 3, 8, 0))
    attended(late, technician=technician, dispatcher=dispatcher, after=dt.timedelta(hours=10))
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 4, 8, 0))  # nobody went: past its deadline
    row = _row(dashboard_for(user=boss, first=NOVEMBER, last=NOVEMBER, now=now), NOVEMBER)
    assert (row.received, row.on_time, row.late, row.open_past_deadline) == (5, 3, 1, 1)
    assert row.on_time_share == pytest.approx(0.75)
    # Attend times 1, 2, 3 and 10 hours: the median interpolates to 2.5 h, the 90th percentile to 7.9 h.
    assert row.median_attend == dt.timedelta(hours=2.5)
    assert abs(row.p90_attend - dt.timedelta(hours=7.9)) < dt.timedelta(seconds=1)


def test_first_time_fix_and_repeat_repairs(dispatcher, technician, boss):
    from tests.repairs.field import call_on_site, signed_voucher

    first = call_on_site(dispatcher=dispatcher, technician=technician)
    signed_voucher(technician=technician, call=first)
    services.repair_call_resolve(user=technician, call_id=first.pk, outcome="Fixed")
    again = log_call(dispatcher=dispatcher, site=first.site, product=first.product)  # back within 30 days
    today = again.received_at.astimezone(SHANGHAI).date().replace(day=1)
    row = _row(dashboard_for(user=boss, first=today, last=today), today)
    assert row.resolved == 1 and row.first_visit_fixes == 1 and row.first_time_fix_rate == 1
    assert row.repeat_repairs == 1


def test_a_branch_sees_its_own_unit_and_head_office_every_unit(
    dispatcher, other_dispatcher, boss, head_office_user, other_unit
):
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 5, 9, 0))
    log_call(dispatcher=other_dispatcher, received_at=at(2026, 11, 5, 9, 0))
    assert sum(r.received for r in dashboard_for(user=boss, first=NOVEMBER, last=NOVEMBER).rows) == 1
    head_office_user.groups.add(*boss.groups.all())
    everything = dashboard_for(user=head_office_user, first=NOVEMBER, last=NOVEMBER)
    assert sum(r.received for r in everything.rows) == 2
    assert len(everything.by_unit) == 2
    client = Client()
    client.force_login(boss)
    assert client.get(reverse("dashboard:index"), {"unit": other_unit.pk}).status_code == 404
    nobody = UserFactory(username="nobody", unit=None, roles=[Role.SUPERVISOR])
    assert dashboard_for(user=nobody, first=NOVEMBER, last=NOVEMBER).rows == []


def test_the_page_links_each_figure_to_its_calls_and_exports_the_table(client, dispatcher, boss, unit):
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 5, 9, 0))
    client.force_login(boss)
    page = client.get(reverse("dashboard:index"), {"first": "2026-10", "last": "2026-11"})
    assert page.status_code == 200
    link = calls_url(figure="received", unit_id=unit.pk, zone_id=page.context["result"].rows[0].zone_id, month=NOVEMBER)
    assert link.replace("&", "&amp;") in page.text
    assert 'id="dashboard-table"' in page.text and "<svg" in page.text
    response = client.get(reverse("export", args=["dashboard", "csv"]), {"first": "2026-10", "last": "2026-11"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Month", "Unit", "Zone", "Calls received"]
    assert rows[1][0] == "2026-11" and rows[1][3] == "1"


def test_bad_months_are_a_form_error(client, boss):
    client.force_login(boss)
    url = reverse("dashboard:index")
    assert client.get(url, {"first": "2026-13"}).status_code == 400
    assert client.get(url, {"first": "2026-11", "last": "2026-10"}).status_code == 400
    assert client.get(url, {"first": "2020-01", "last": "2026-10"}).status_code == 400


def test_people_without_the_dashboard_permission_are_refused(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(reverse("dashboard:index")).status_code == 403


def test_the_page_runs_a_fixed_number_of_queries(client, dispatcher, boss, django_assert_max_num_queries):
    client.force_login(boss)
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 5, 9, 0))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("dashboard:index"), {"first": "2026-10", "last": "2026-11"})
    for day in range(1, 20):
        log_call(dispatcher=dispatcher, received_at=at(2026, 10, day, 9, 0))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("dashboard:index"), {"first": "2026-10", "last": "2026-11"})


def test_the_python_percentile_interpolates_as_percentile_cont_does():
    from dashboard.selectors import _percentile

    assert _percentile([1.0, 2.0, 3.0, 10.0], 0.5) == 2.5
    assert _percentile([1.0, 2.0, 3.0, 10.0], 0.9) == pytest.approx(7.9)
    assert _percentile([4.0], 0.9) == 4.0


def test_every_linked_figure_leads_to_exactly_the_calls_it_counts(client, dispatcher, technician, boss, unit):
    """The drill-down goes to the call history with that list's own filters: the rows there are the figure."""
    import re

    for hours in (1, 2):
        call = log_call(dispatcher=dispatcher, received_at=at(2026, 11, 2, 8, 0))
        attended(call, technician=technician, dispatcher=dispatcher, after=dt.timedelta(hours=hours))
    late = log_call(dispatcher=dispatcher, received_at=at(2026, 11, 3, 8, 0))
    attended(late, technician=technician, dispatcher=dispatcher, after=dt.timedelta(hours=10))
    log_call(dispatcher=dispatcher, received_at=at(2026, 11, 4, 8, 0))  # nobody went: past its deadline
    # A letter read the next morning (DOMAIN 1): logged now with its true time, late from the start.
    log_call_now(dispatcher=dispatcher, received_at=at(2026, 11, 5, 8, 0))
    log_call(dispatcher=dispatcher, received_at=at(2026, 10, 30, 8, 0))  # another month: never in the figures
    client.force_login(boss)
    page = client.get(reverse("dashboard:index"), {"first": "2026-11", "last": "2026-11"})
    row = _row(page.context["result"], NOVEMBER)
    assert (row.received, row.on_time, row.late, row.logged_late) == (5, 2, 1, 1)
    assert row.open_past_deadline == 2  # the one nobody went to, and the one logged late
    for figure in ("received", "on_time", "late", "logged_late", "open_past_deadline"):
        link = calls_url(figure=figure, unit_id=unit.pk, zone_id=row.zone_id, month=NOVEMBER)
        assert link.replace("&", "&amp;") in page.text, figure
        listed = client.get(link + "&all=1")
        assert listed.status_code == 200, figure
        numbers = set(re.findall(r"RC-\d{4}-\d{6}", listed.text))
        assert len(numbers) == getattr(row, figure), (figure, link, sorted(numbers))
