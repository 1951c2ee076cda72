"""The dashboard's table as CSV and Excel (``servicedesk.exports``)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from servicedesk import exports
from servicedesk.exports import Column, ExportSpec

from .selectors import RATINGS
from .views import dashboard_result


def _hours(value):
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _days(value):
    return None if value is None else round(value.total_seconds() / 86400, 1)


def _round(value, digits=4):
    return None if value is None else round(value, digits)


RATING_LABELS = {
    "attitude": _("Attitude"),
    "technique": _("Technique"),
    "arrival": _("Arrival time"),
    "follow_through": _("Follow-through on promises"),
}


def columns(user):
    return [
        Column(_("Month"), lambda r: f"{r.month:%Y-%m}"),
        Column(_("Unit"), "unit_name"),
        Column(_("Zone"), "zone_name"),
        Column(_("Calls received"), "received", exports.INTEGER),
        Column(_("Attended on time"), "on_time", exports.INTEGER),
        Column(_("Attended late"), "late", exports.INTEGER),
        Column(_("Arrivals entered by hand"), "arrivals_typed", exports.INTEGER),
        Column(_("Logged late"), "logged_late", exports.INTEGER),
        Column(_("On-time rate"), lambda r: _round(r.on_time_share), exports.PERCENT),
        Column(_("Open past the deadline"), "open_past_deadline", exports.INTEGER),
        Column(_("Median time to attend (hours)"), lambda r: _hours(r.median_attend), exports.NUMBER),
        Column(_("90th percentile time to attend (hours)"), lambda r: _hours(r.p90_attend), exports.NUMBER),
        Column(_("Resolved"), "resolved", exports.INTEGER),
        Column(_("First-time-fix rate"), lambda r: _round(r.first_time_fix_rate), exports.PERCENT),
        Column(_("Repeat repairs within 30 days"), "repeat_repairs", exports.INTEGER),
        Column(_("Carry-ins returned"), "carry_ins_returned", exports.INTEGER),
        Column(_("Carry-in turnaround (days)"), lambda r: _days(r.carry_in_turnaround), exports.NUMBER),
        Column(_("Fees collected (yuan)"), "fees_collected", exports.DECIMAL),
        Column(_("Survey response rate"), lambda r: _round(r.response_rate), exports.PERCENT),
        *[
            Column(RATING_LABELS[name], lambda r, name=name: _round(r.rating(name), 2), exports.NUMBER)
            for name in RATINGS
        ],
    ]


def rows(*, user, params):
    _form, result = dashboard_result(user=user, params=params)
    if result is None:
        raise Http404
    return result.rows


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="dashboard",
            title=_("Service dashboard"),
            permission="dashboard.view_dashboard",
            rows=rows,
            columns=columns,
            filename="service-dashboard",
        )
    )
