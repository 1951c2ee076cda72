from django import template

from complaints.models import ComplaintCase
from servicedesk.roles import role_label as _role_label

register = template.Library()


@register.filter
def share(value) -> str:
    """0.853 → 85%; no figure → —."""
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def rating(value) -> str:
    return "—" if value is None else f"{value:.2f}"


@register.filter
def role_label(value) -> str:
    return _role_label(value)


@register.filter
def case_stage_label(value) -> str:
    if not value:
        return "—"
    try:
        return str(ComplaintCase.Status(value).label)
    except ValueError:
        return value


@register.filter
def duration_days(value) -> str:
    """A timedelta as days with one decimal (3.5 d); nothing → —."""
    if value is None:
        return "—"
    return f"{value.total_seconds() / 86400:.1f}"
