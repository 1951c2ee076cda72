"""DOMAIN 4: a contract's visit frequency plans its maintenance visits, once per period, on working days."""

import datetime as dt
import io
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from contracts.models import PlannedVisit, VisitFrequency
from contracts.services import contract_planned_visits_generate
from contracts.services.planned import periods_of
from repairs import services as repair_services
from repairs.models import RepairCall
from servicedesk.models import CalendarException, WorkingCalendar, WorkingWindow
from tests.conftest import is_postgres
from tests.factories import CustomerFactory, SiteFactory
from tests.repairs.field import signed_voucher


def _next_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 or 7)


@pytest.fixture
def contract_at_site(make_contract, dispatcher):
    def make(*, start_on, months=12, frequency=VisitFrequency.QUARTERLY, site=None):
        customer = CustomerFactory(unit=dispatcher.unit, name="静安写字楼物业")
        site = site or SiteFactory(customer=customer)
        end_on = start_on.replace(year=start_on.year + months // 12) - dt.timedelta(days=1)
        contract = make_contract(
            user=dispatcher,
            start_on=start_on,
            end_on=end_on,
            customer=site.customer,
            sites=[site],
            visit_frequency=frequency,
        )
        return contract, site

    return make


def test_periods_follow_the_frequency_and_the_last_is_cut_at_the_terms_end():
    periods = periods_of(start_on=dt.date(2026, 1, 31), end_on=dt.date(2026, 7, 15), months=3)
    assert periods == [
        (dt.date(2026, 1, 31), dt.date(2026, 4, 29)),
        (dt.date(2026, 4, 30), dt.date(2026, 7, 15)),
    ]


def test_a_quarterly_contract_gets_one_visit_for_the_running_quarter_and_a_rerun_adds_none(contract_at_site):
    today = timezone.localdate()
    _contract, site = contract_at_site(start_on=today - dt.timedelta(days=10))
    assert contract_planned_visits_generate(today=today) == 1
    assert contract_planned_visits_generate(today=today) == 0
    visit = PlannedVisit.objects.get()
    call = visit.call
    assert visit.period_start == today - dt.timedelta(days=10) and visit.planned_on >= today
    assert visit.call.attend_by > timezone.now()
    assert call.channel == RepairCall.Channel.PLANNED and call.coverage == RepairCall.Coverage.CONTRACT
    assert call.status == RepairCall.Status.LOGGED and call.site == site and call.created_by is None
    assert timezone.localtime(call.appointment_at).date() == visit.planned_on
    assert call.attend_by > call.appointment_at
    assert visit.planned_on.weekday() < 5


def test_after_an_outage_the_missed_period_is_planned_from_today_not_in_the_past(contract_at_site):
    start = _next_monday(timezone.localdate()) - dt.timedelta(days=7 * 30)
    _contract, _site = contract_at_site(start_on=start)
    # The run of the term's first day, then nothing for months: the second quarter began meanwhile.
    assert contract_planned_visits_generate(today=start) == 1
    late = start + dt.timedelta(days=100)
    assert contract_planned_visits_generate(today=late) == 1
    second = PlannedVisit.objects.order_by("period_start").last()
    assert second.period_start < late <= second.planned_on
    # The third quarter is not planned before its look-ahead.
    assert PlannedVisit.objects.count() == 2


def test_a_visit_falls_on_a_working_day_of_the_sites_calendar(contract_at_site, dispatcher):
    calendar = WorkingCalendar.objects.create(name="上海 2026")
    WorkingWindow.objects.create(calendar=calendar, start=dt.time(8, 30), end=dt.time(17, 30))
    saturday = _next_monday(timezone.localdate()) + dt.timedelta(days=5)
    # The Monday after is a holiday: the visit goes to Tuesday.
    CalendarException.objects.create(calendar=calendar, date=saturday + dt.timedelta(days=2))
    site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
    site.zone.calendar = calendar
    site.zone.save()
    contract_at_site(start_on=saturday, site=site)
    assert contract_planned_visits_generate(today=saturday - dt.timedelta(days=3)) == 1
    visit = PlannedVisit.objects.get()
    assert visit.planned_on == saturday + dt.timedelta(days=3)
    local = timezone.localtime(visit.call.appointment_at)
    assert (local.date(), local.time()) == (visit.planned_on, dt.time(8, 30))
    assert timezone.localtime(visit.call.attend_by).time() == dt.time(17, 30)


def test_on_call_contracts_and_periods_beyond_the_look_ahead_plan_nothing(contract_at_site):
    today = timezone.localdate()
    contract_at_site(start_on=today, frequency=VisitFrequency.ON_CALL)
    contract_at_site(start_on=today + dt.timedelta(days=60))
    assert contract_planned_visits_generate(today=today) == 0


def test_a_monthly_contract_plans_next_month_within_the_look_ahead(contract_at_site):
    today = timezone.localdate()
    contract_at_site(start_on=today - dt.timedelta(days=20), frequency=VisitFrequency.MONTHLY)
    created = contract_planned_visits_generate(today=today)
    periods = sorted(PlannedVisit.objects.values_list("period_start", flat=True))
    assert created == len(periods) and periods[0] == today - dt.timedelta(days=20)
    assert all(start <= today + dt.timedelta(days=14) for start in periods)


def test_a_planned_visit_is_dispatched_attended_and_signed_like_any_and_the_contract_page_counts_it(
    client, contract_at_site, dispatcher, technician
):
    today = timezone.localdate()
    contract, _site = contract_at_site(start_on=today - dt.timedelta(days=3))
    contract_planned_visits_generate(today=today)
    call = PlannedVisit.objects.get().call
    client.force_login(dispatcher)
    board = client.get(reverse("repairs:board")).text
    row = board.split(f'data-call="{call.number}"', 1)[1].split("</tr>", 1)[0]
    assert "planned" in row
    page = client.get(contract.get_absolute_url()).text
    assert call.number in page and "Done: 0 · Due: 1" in page
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    repair_services.repair_call_record_arrival(user=technician, call_id=call.pk)
    call.refresh_from_db()
    voucher = signed_voucher(technician=technician, call=call)
    assert voucher.cover == "contract"
    repair_services.repair_call_resolve(user=technician, call_id=call.pk, outcome="Quarterly maintenance done")
    page = client.get(contract.get_absolute_url()).text
    assert "Done: 1 · Due: 0" in page


def test_the_weeks_planned_visits_are_listed_and_printed_for_the_unit_only(
    client, contract_at_site, dispatcher, other_dispatcher
):
    today = timezone.localdate()
    contract_at_site(start_on=today - dt.timedelta(days=3))
    contract_planned_visits_generate(today=today)
    visit = PlannedVisit.objects.get()
    week = visit.planned_on.isoformat()
    client.force_login(dispatcher)
    page = client.get(reverse("contracts:planned_week"), {"week": week}).text
    assert visit.call.number in page
    pdf = client.get(reverse("contracts:planned_week_pdf"), {"week": week})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert visit.call.number in text
    client.force_login(other_dispatcher)
    assert visit.call.number not in client.get(reverse("contracts:planned_week"), {"week": week}).text
    for garbage in ("", "0001-01-01", "9999-12-31", "next tuesday"):
        assert client.get(reverse("contracts:planned_week"), {"week": garbage}).status_code == 200


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks and concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_generators_at_once_plan_each_visit_exactly_once(make_contract, dispatcher):
    today = timezone.localdate()
    for n in range(6):
        site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
        make_contract(
            user=dispatcher,
            start_on=today - dt.timedelta(days=n),
            end_on=today + dt.timedelta(days=300),
            customer=site.customer,
            sites=[site],
            visit_frequency=VisitFrequency.MONTHLY,
        )
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = contract_planned_visits_generate(today=today, batch_size=2)
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, int) for r in results), results
    visits = PlannedVisit.objects.count()
    assert sum(results) == visits and visits >= 6
    assert RepairCall.objects.filter(channel=RepairCall.Channel.PLANNED).count() == visits
    assert contract_planned_visits_generate(today=today) == 0
