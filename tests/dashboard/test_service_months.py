"""The dashboard's month summary (issue 13): stored rows per unit, zone and month equal the live figures."""

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from complaints.models import SurveyCard
from dashboard.models import RecordedMonth, ServiceMonth
from dashboard.selectors import add_months, dashboard_for
from dashboard.services import service_months_record
from repairs import services
from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.factories import log_call as log_call_now
from tests.repairs.field import call_on_site, carried_in, signed_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(unit):
    return UserFactory(username="boss", unit=unit, roles=[Role.SUPERVISOR])


@pytest.fixture
def busy_month(dispatcher, technician, supervisor, other_dispatcher):
    """Calls of this month of every kind the dashboard counts, built through the services on today's clock."""
    # Attended on time and resolved on the first visit, with a fee.
    fixed = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = signed_voucher(technician=technician, call=fixed)
    services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("120.50"))
    services.repair_call_resolve(user=technician, call_id=fixed.pk, outcome="Fixed")
    # Back within 30 days: a repeat repair, with an arrival typed by hand by the supervisor (late: 8 hours).
    again = log_call_now(dispatcher=dispatcher, site=fixed.site, product=fixed.product)
    services.repair_call_dispatch(user=dispatcher, call_id=again.pk, technician=technician)
    typed_at = again.received_at + dt.timedelta(hours=7)
    with mock.patch("django.utils.timezone.now", return_value=typed_at + dt.timedelta(hours=1)):
        services.repair_call_enter_arrival(user=supervisor, call_id=again.pk, arrived_at=typed_at, reason="No signal")
    # A letter read late: logged with its true time, overdue from the start.
    log_call_now(dispatcher=dispatcher, received_at=timezone.now() - dt.timedelta(hours=9))
    # Carried in, and a call in another unit.
    carried_in(dispatcher=dispatcher, technician=technician)
    log_call_now(dispatcher=other_dispatcher)
    # The day's survey cards, one answered on paper.
    tomorrow = timezone.now() + dt.timedelta(days=1)
    complaint_services.survey_cards_issue(now=tomorrow, since=timezone.localdate() - dt.timedelta(days=1))
    card = SurveyCard.objects.filter(call=fixed).get()
    complaint_services.survey_card_answer_on_paper(
        user=dispatcher, card_id=card.pk, answer=complaint_services.SurveyAnswer(attitude=5, technique=4, arrival=3)
    )
    return timezone.localdate().replace(day=1)


def _figures(result):
    return [dataclasses.asdict(r) for r in result.rows]


def _links(client, month):
    page = client.get(reverse("dashboard:index"), {"first": f"{month:%Y-%m}", "last": f"{month:%Y-%m}"})
    assert page.status_code == 200
    return sorted(re.findall(r'href="(/records/calls/[^"]*)"', page.text)), page


def test_the_stored_months_equal_the_live_figures_and_their_links(client, busy_month, boss, head_office_user):
    head_office_user.groups.add(*boss.groups.all())
    month = busy_month
    later = timezone.now() + dt.timedelta(days=40)  # the month is closed by then
    live = dashboard_for(user=head_office_user, first=month, last=month, now=later)
    live_branch = dashboard_for(user=boss, first=month, last=month, now=later)
    client.force_login(boss)
    live_links, _ = _links(client, month)
    row = next(r for r in live.rows if r.unit_id == boss.unit_id)
    # The data covers every kind of figure (so the comparison below compares something).
    assert row.received == 4 and row.arrivals_typed == 1 and row.logged_late == 1 and row.late >= 1
    assert row.repeat_repairs == 1 and row.first_visit_fixes == 1 and row.fees_collected == Decimal("120.50")
    assert row.cards_issued >= 3 and row.cards_answered == 1 and row.ratings["attitude"] == 5
    assert row.open_past_deadline >= 1 and row.median_attend is not None

    assert service_months_record(now=later) > 0
    assert RecordedMonth.objects.filter(month=month).exists()
    stored = dashboard_for(user=head_office_user, first=month, last=month, now=later)
    assert _figures(stored) == _figures(live)
    assert [dataclasses.asdict(r) for r in stored.trend] == [dataclasses.asdict(r) for r in live.trend]
    assert [dataclasses.asdict(r) for r in stored.by_unit] == [dataclasses.asdict(r) for r in live.by_unit]
    assert _figures(dashboard_for(user=boss, first=month, last=month, now=later)) == _figures(live_branch)
    stored_links, _page = _links(client, month)
    assert stored_links == live_links and len(live_links) >= 5
    # The closed month is read from its rows, not from the calls.
    with CaptureQueriesContext(connection) as ctx:
        dashboard_for(user=head_office_user, first=month, last=month, now=later)
    assert not [q for q in ctx.captured_queries if "repairs_repaircall" in q["sql"]]


def test_running_twice_or_late_counts_each_month_once(busy_month, head_office_user, boss):
    head_office_user.groups.add(*boss.groups.all())
    month = busy_month
    later = timezone.now() + dt.timedelta(days=40)
    service_months_record(now=later)
    first = list(ServiceMonth.objects.order_by("month", "unit_id", "zone_id").values())
    service_months_record(now=later)
    # After an outage: run three months late, the months in between are recorded too, this one once.
    service_months_record(now=later + dt.timedelta(days=90))
    again = list(ServiceMonth.objects.filter(month=month).order_by("unit_id", "zone_id").values())
    assert [{k: v for k, v in r.items() if k != "id"} for r in first if r["month"] == month] == [
        {k: v for k, v in r.items() if k != "id"} for r in again
    ]
    months = set(RecordedMonth.objects.values_list("month", flat=True))
    assert {month, add_months(month, 1), add_months(month, 2), add_months(month, 3)} <= months
    total = dashboard_for(user=head_office_user, first=month, last=add_months(month, 3), now=later)
    assert sum(r.received for r in total.trend) == 5


def test_a_call_changed_after_its_month_was_recorded_is_counted_at_the_next_run(
    dispatcher, technician, boss, supervisor
):
    # A letter found six months late (DOMAIN 1): logged now with its true time, in a month long closed.
    received = timezone.now() - dt.timedelta(days=190)
    call = log_call_now(dispatcher=dispatcher, received_at=received)
    month = timezone.localdate(received).replace(day=1)
    service_months_record()
    assert ServiceMonth.objects.get(month=month).logged_late == 1
    assert ServiceMonth.objects.get(month=month).late == 0
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_enter_arrival(
        user=supervisor, call_id=call.pk, arrived_at=timezone.now(), reason="Phone was dead"
    )
    service_months_record()  # the month is past the months kept open: found by the call's change
    row = ServiceMonth.objects.get(month=month)
    assert (row.late, row.arrivals_typed, row.logged_late) == (1, 1, 1)
    stored = dashboard_for(user=boss, first=month, last=month)
    RecordedMonth.objects.all().delete()
    assert _figures(stored) == _figures(dashboard_for(user=boss, first=month, last=month))


def test_the_current_month_is_shown_as_of_its_last_refresh(client, dispatcher, boss):
    log_call_now(dispatcher=dispatcher)
    client.force_login(boss)
    page = client.get(reverse("dashboard:index"))
    assert 'id="dashboard-as-of"' not in page.text  # not recorded yet: computed live
    service_months_record(months_back=0, catch_up=False)
    log_call_now(dispatcher=dispatcher)  # after the refresh: counted at the next one
    page = client.get(reverse("dashboard:index"))
    assert 'id="dashboard-as-of"' in page.text
    assert sum(r.received for r in page.context["result"].rows) == 1
    service_months_record(months_back=0, catch_up=False)
    assert sum(r.received for r in client.get(reverse("dashboard:index")).context["result"].rows) == 2
