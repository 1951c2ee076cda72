from django import template

register = template.Library()


@register.filter
def hours(value):
    """A duration in hours with one decimal (time to attend)."""
    return "—" if value is None else f"{value.total_seconds() / 3600:.1f}"


@register.filter
def days(value):
    """A duration in days with one decimal (carry-in turnaround)."""
    return "—" if value is None else f"{value.total_seconds() / 86400:.1f}"
