"""DOMAIN 4: a contract's visit frequency generates its planned maintenance visits, each once per period.

The periodic task runs this daily (servicedesk/schedule.py). It reads the running terms in one query,
claims them under ``SKIP LOCKED`` so two runs at once split the work, and for every period that has
begun (or begins within ``LOOKAHEAD_DAYS``) and has not ended writes one ``PlannedVisit`` per covered
site: the unique (term, site, period_start) makes a rerun, a late run after an outage or a doubled
run create each visit exactly once. A visit is a repair call of the channel "planned maintenance"
(repairs' ``repair_call_log_planned_maintenance``) on the first working day of its period, by the
working calendar of the site's zone (Monday to Friday, 9 to 17, when the zone has none).
"""

import datetime as dt
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from repairs.models import Site
from repairs.services.planned import repair_call_log_planned_maintenance
from servicedesk.calendars import CalendarSpec
from servicedesk.models import WorkingCalendar

from ..models import ContractProduct, ContractSite, ContractTerm, PlannedVisit, VisitFrequency

FREQUENCY_MONTHS = {
    VisitFrequency.MONTHLY: 1,
    VisitFrequency.QUARTERLY: 3,
    VisitFrequency.HALF_YEARLY: 6,
    VisitFrequency.YEARLY: 12,
}
# Visits are created this far ahead, so next week's appear on the board (and its weekly list) in time.
LOOKAHEAD_DAYS = 14
TERM_BATCH = 200
DEFAULT_CALENDAR = CalendarSpec()


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    # The 31st of a shorter month is its last day.
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def periods_of(*, start_on: dt.date, end_on: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """The term's visit periods: ``months`` long from its first day, the last one cut at its end."""
    periods = []
    index = 0
    while True:
        begins = _add_months(start_on, months * index)
        if begins > end_on:
            return periods
        ends = min(_add_months(start_on, months * (index + 1)) - dt.timedelta(days=1), end_on)
        periods.append((begins, ends))
        index += 1


def first_working_day(*, start: dt.date, end: dt.date, calendar: CalendarSpec) -> dt.date | None:
    day = start
    while day <= end:
        if calendar.is_working_day(day):
            return day
        day += dt.timedelta(days=1)
    return None


def _visit_times(day: dt.date, calendar: CalendarSpec) -> tuple[dt.datetime, dt.datetime]:
    """The appointment (the day's first opening) and the deadline (its last closing) of a planned day."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(calendar.timezone)
    windows = sorted(calendar.windows) or [(dt.time(9), dt.time(17))]
    return dt.datetime.combine(day, windows[0][0], tzinfo=tz), dt.datetime.combine(day, windows[-1][1], tzinfo=tz)


def terms_due_for_visits(*, today: dt.date):
    """Terms running today or starting within the look-ahead whose frequency plans visits."""
    return ContractTerm.objects.filter(
        status__in=(ContractTerm.Status.ACTIVE, ContractTerm.Status.RENEWED),
        end_on__gte=today,
        start_on__lte=today + dt.timedelta(days=LOOKAHEAD_DAYS),
        visit_frequency__in=list(FREQUENCY_MONTHS),
    )


def _sites_of(terms: list[ContractTerm]) -> dict[int, dict[int, list]]:
    """{contract_id: {site_id: [covered products at the site]}}: sites covered whole or by a product there."""
    contract_ids = {t.contract_id for t in terms}
    sites: dict[int, dict[int, list]] = defaultdict(dict)
    for contract_id, site_id in ContractSite.objects.filter(contract_id__in=contract_ids).values_list(
        "contract_id", "site_id"
    ):
        sites[contract_id].setdefault(site_id, [])
    for covered in ContractProduct.objects.filter(
        contract_id__in=contract_ids, product__site__isnull=False
    ).select_related("product"):
        sites[covered.contract_id].setdefault(covered.product.site_id, []).append(covered.product)
    return sites


def contract_planned_visits_generate(
    *, today: dt.date, now: dt.datetime | None = None, batch_size: int = TERM_BATCH
) -> int:
    """Create every planned maintenance visit that is due and missing; returns how many were created."""
    now = now or timezone.now()
    horizon = today + dt.timedelta(days=LOOKAHEAD_DAYS)
    created = 0
    after = 0
    while True:
        with transaction.atomic():
            terms = list(
                terms_due_for_visits(today=today)
                .filter(id__gt=after)
                .select_related("contract")
                .order_by("id")
                .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            )
            if not terms:
                return created
            after = terms[-1].id
            covered = _sites_of(terms)
            site_ids = {site_id for by_site in covered.values() for site_id in by_site}
            site_rows = {
                site.pk: site
                for site in Site.objects.filter(pk__in=site_ids)
                .select_related("customer", "zone__calendar")
                .prefetch_related(Prefetch("zone__calendar__windows"), Prefetch("zone__calendar__exceptions"))
            }
            existing = set(
                PlannedVisit.objects.filter(term__in=terms).values_list("term_id", "site_id", "period_start")
            )
            for term in terms:
                months = FREQUENCY_MONTHS[term.visit_frequency]
                for begins, ends in periods_of(start_on=term.start_on, end_on=term.end_on, months=months):
                    if ends < today or begins > horizon:
                        continue
                    for site_id, products in covered.get(term.contract_id, {}).items():
                        if (term.pk, site_id, begins) in existing:
                            continue
                        created += _plan(
                            term=term,
                            site=site_rows[site_id],
                            products=products,
                            period=(begins, ends),
                            today=today,
                            now=now,
                        )
        if len(terms) < batch_size:
            return created


def _calendar_of(site: Site) -> CalendarSpec:
    calendar: WorkingCalendar | None = site.zone.calendar
    return calendar.spec() if calendar is not None else DEFAULT_CALENDAR


def _plan(*, term: ContractTerm, site: Site, products: list, period: tuple, today: dt.date, now: dt.datetime) -> int:
    begins, ends = period
    calendar = _calendar_of(site)
    # A period that began during an outage is planned from today, never in the past; nor on a day
    # whose working hours are already over.
    planned_on = first_working_day(start=max(begins, today), end=ends, calendar=calendar)
    if planned_on is not None and _visit_times(planned_on, calendar)[1] <= now:
        planned_on = first_working_day(start=planned_on + dt.timedelta(days=1), end=ends, calendar=calendar)
    if planned_on is None:
        return 0
    try:
        # The savepoint: a visit written meanwhile by another run is a unique violation, and nothing more.
        with transaction.atomic():
            visit = PlannedVisit.objects.create(
                term=term,
                contract_id=term.contract_id,
                unit_id=term.contract.unit_id,
                site=site,
                period_start=begins,
                period_end=ends,
                planned_on=planned_on,
                created_at=now,
            )
    except IntegrityError:
        return 0
    appointment_at, attend_by = _visit_times(planned_on, calendar)
    visit.call = repair_call_log_planned_maintenance(
        unit_id=term.contract.unit_id,
        site=site,
        product=products[0] if len(products) == 1 else None,
        contact_name=site.customer.name,
        contact_phone=site.customer.phone,
        problem=_("Planned maintenance under contract %(number)s, period %(start)s to %(end)s.")
        % {"number": term.contract.number, "start": begins.isoformat(), "end": ends.isoformat()},
        appointment_at=appointment_at,
        attend_by=attend_by,
        now=now,
    )
    visit.save(update_fields=["call"])
    return 1
