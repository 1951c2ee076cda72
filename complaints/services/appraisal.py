"""The month-end appraisal (clause 二十三; DOMAIN section 10): closed months recorded once, kept up to date."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from servicedesk.models import OrgUnit

from ..appraisal import STORED_FIELDS, add_months, live_month_rows
from ..models import TechnicianMonth

# Cards answered after the month ended still count: the last closed months are
# recomputed each night until their cards' links have expired.
MONTHS_KEPT_OPEN = 2


def appraisal_months_record(*, now: dt.datetime, months_back: int = MONTHS_KEPT_OPEN) -> int:
    """Record each unit's closed months (the last ``months_back``) as per-technician rows; returns rows written.

    Figures come from the database's grouped aggregates; writing is an upsert on
    (unit, month, technician) plus removal of rows that no longer apply, so a
    rerun, a late run or two runs at once leave the same rows.
    """
    this_month = timezone.localdate(now).replace(day=1)
    months = [add_months(this_month, -i) for i in range(months_back, 0, -1)]
    written = 0
    for unit_id in OrgUnit.objects.order_by("pk").values_list("pk", flat=True):
        for month in months:
            rows = live_month_rows(unit_id=unit_id, month=month, now=now)
            with transaction.atomic():
                TechnicianMonth.objects.bulk_create(
                    [
                        TechnicianMonth(
                            unit_id=unit_id,
                            technician_id=technician_id,
                            month=month,
                            computed_at=now,
                            **{name: getattr(row, name) for name in STORED_FIELDS},
                        )
                        for technician_id, row in rows.items()
                    ],
                    update_conflicts=True,
                    unique_fields=["unit", "month", "technician"],
                    update_fields=[*STORED_FIELDS, "computed_at"],
                )
                TechnicianMonth.objects.filter(unit_id=unit_id, month=month).exclude(
                    technician_id__in=list(rows)
                ).delete()
            written += len(rows)
    return written
