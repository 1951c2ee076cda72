from django import template
from django.utils.translation import gettext as _

from servicedesk.calendars import is_at_risk, is_overdue

register = template.Library()


def _duration(delta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return _("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
    return _("%(hours)dh %(minutes)02dm") % {"hours": hours, "minutes": minutes}


@register.simple_tag
def deadline_state(call, now):
    """How the board shows a call's deadline: overdue, at risk, on time, or met."""
    if call.arrived_at is not None:
        met = call.arrived_at <= call.attend_by
        return {
            "css": "",
            "badge": "success" if met else "secondary",
            "text": _("attended in time") if met else _("attended late"),
        }
    if call.status not in call.AWAITING_ARRIVAL:
        return {"css": "", "badge": "light", "text": "—"}
    if is_overdue(due=call.attend_by, now=now):
        return {
            "css": "row-overdue",
            "badge": "danger",
            "text": _("overdue by %(time)s") % {"time": _duration(now - call.attend_by)},
        }
    remaining = _("%(time)s left") % {"time": _duration(call.attend_by - now)}
    if is_at_risk(due=call.attend_by, now=now, warning=call.zone.at_risk_window):
        return {"css": "row-at-risk", "badge": "warning", "text": remaining}
    return {"css": "", "badge": "info", "text": remaining}


@register.filter
def status_label(value, instance):
    """The translated label of a status code of ``instance``'s model."""
    if not value:
        return "—"
    try:
        return type(instance).Status(value).label
    except ValueError:
        return value
