"""Planned work logged by the system rather than by a person: maintenance visits under a contract (DOMAIN 4).

The contracts app (above repairs) decides which visits are due and calls this; the call is an ordinary
repair call from then on: dispatched, attended, vouchered and signed like any other.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.numbering import next_number
from servicedesk.workflow import record_status_change

from ..models import Product, RepairCall, Site
from .calls import _board_changed


@transaction.atomic
def repair_call_log_planned_maintenance(
    *,
    unit_id: int,
    site: Site,
    product: Product | None,
    contact_name: str,
    contact_phone: str,
    problem: str,
    appointment_at: dt.datetime,
    attend_by: dt.datetime,
    now: dt.datetime | None = None,
) -> RepairCall:
    """A planned maintenance visit as a call: channel "planned maintenance", free under the contract.

    Its deadline is the end of the planned day (``attend_by``), not the zone's response hours: it is
    not a customer's repair call, and the dispatch board shows it as planned work by its appointment.
    """
    now = now or timezone.now()
    call = RepairCall.objects.create(
        number=next_number(series="RC", at=now),
        unit_id=unit_id,
        customer_id=site.customer_id,
        site=site,
        product=product,
        contact_name=contact_name[:100],
        contact_phone=contact_phone[:32],
        channel=RepairCall.Channel.PLANNED,
        coverage=RepairCall.Coverage.CONTRACT,
        problem=problem[:2000],
        received_at=now,
        zone_id=site.zone_id,
        attend_by=attend_by,
        appointment_at=appointment_at,
        created_by=None,
        created_at=now,
        updated_at=now,
    )
    record_status_change(
        instance=call,
        from_status="",
        to_status=call.status,
        by=None,
        at=now,
        note=_("Planned maintenance visit for %(time)s")
        % {"time": timezone.localtime(appointment_at).strftime("%Y-%m-%d %H:%M")},
    )
    _board_changed(call)
    return call
