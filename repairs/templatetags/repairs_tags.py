from django import template

from servicedesk import extensions
from servicedesk.templatetags.labels import status_label

from .. import presenters, selectors_field

register = template.Library()


@register.simple_tag
def deadline_state(call, now):
    """How a call's deadline shows: overdue, at risk, on time, or met (see repairs.presenters)."""
    return presenters.deadline_state(call, now)


# The shared filter, under this library's name too (the repairs templates load it from here).
register.filter("status_label", status_label)


@register.simple_tag(takes_context=True)
def call_fee_balance(context, call):
    """What the call's customer still owes for its visits (DOMAIN 2), scoped to the viewing user."""
    return selectors_field.call_fee_balance(user=context["request"].user, call=call)


@register.simple_tag
def record_url(kind, key):
    """The customer's or product's record page, when an app above repairs provides one (servicedesk.extensions)."""
    return extensions.record_link(kind, key)
