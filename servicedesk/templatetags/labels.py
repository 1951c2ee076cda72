"""Codes shown as their labels, in the reader's language (issue 16: no code reaches a person)."""

from django import template

register = template.Library()


@register.filter
def status_label(value, instance):
    """The translated label of a status code of ``instance``'s model ("draft" → 草稿); "—" for none."""
    if not value:
        return "—"
    try:
        return type(instance).Status(value).label
    except ValueError:
        return value
