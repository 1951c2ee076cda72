"""The call history's rows, written out in Python like the board's (repairs.presenters): 50 rows through
template logic cost most of the page's time."""

import datetime as dt
import html
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from repairs.models import RepairCall
from repairs.presenters import deadline_state_of
from servicedesk.models import person_name

_ID = 2_147_483_647
_SERIAL = "serial-placeholder-0"
_NO_WARNING = dt.timedelta(0)


def call_rows_html(rows, *, now: dt.datetime, show_unit: bool, select_form: str = "") -> str:
    """The rows; with ``select_form``, each starts with a checkbox of that bulk-action form (servicedesk.bulk)."""
    e = html.escape
    status_labels = {value: str(label) for value, label in RepairCall.Status.choices}
    coverage_labels = {value: str(label) for value, label in RepairCall.Coverage.choices}
    call_url = reverse("repairs:call_detail", args=[_ID])
    customer_url = reverse("records:customer", args=[_ID])
    product_url = reverse("records:product", args=[_SERIAL])
    local = timezone.get_current_timezone()
    select_label = str(_("Select"))
    out = []
    for row in rows:
        state = deadline_state_of(
            status=row.status, attend_by=row.attend_by, arrived_at=row.arrived_at, at_risk=_NO_WARNING, now=now
        )
        technician = (
            person_name(
                username=row.technician_username,
                first_name=row.technician_first_name,
                last_name=row.technician_last_name,
            )
            if row.technician_id
            else "—"
        )
        serial = (
            f'<a href="{e(product_url.replace(_SERIAL, quote(row.serial_number, safe="")))}">{e(row.serial_number)}</a>'
            if row.serial_number
            else "—"
        )
        out.append(
            f'<tr data-call="{e(row.number)}"{' class="table-info exact-match"' if row.part == 0 else ""}>'
            + (
                f'<td><input class="form-check-input bulk-select" type="checkbox" name="ids" value="{row.id}"'
                f' form="{e(select_form)}" aria-label="{e(select_label)} {e(row.number)}"></td>'
                if select_form
                else ""
            )
            + f'<td><a href="{e(call_url.replace(str(_ID), str(row.id)))}">{e(row.number)}</a></td>'
            f"<td>{row.received_at.astimezone(local):%Y-%m-%d %H:%M}</td>"
            f"<td>{e(status_labels.get(row.status, ''))}</td>"
            f'<td><a href="{e(customer_url.replace(str(_ID), str(row.customer_id)))}">{e(row.customer_name)}</a></td>'
            f'<td>{e(row.contact_name)}<br><small class="text-muted">{e(row.contact_phone)}</small></td>'
            f'<td>{serial}</td><td class="small">{e(row.problem_start)}</td>'
            f"<td>{e(row.zone_name)}</td><td>{e(technician)}</td>"
            f'<td><span class="badge text-bg-{state.badge}">{e(state.text)}</span></td>'
            f"<td>{e(coverage_labels.get(row.coverage, ''))}</td>"
            + (f"<td>{e(row.unit_name)}</td>" if show_unit else "")
            + "</tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value in a row is escaped
