"""Repairs' notices rendered when the outbox delivers them (servicedesk.notifications.notice_kind).

The periodic checks write these notices by kind and object id only; the
functions here turn a batch of object ids into template contexts with one query.
"""

from django.urls import reverse

from servicedesk.notifications import absolute_url, notice_kind

from .models import RepairCall, RepairCardDelay

CALL_OVERDUE = "repairs.call_overdue"
CARD_LATE = "repairs.card_late"


@notice_kind(CALL_OVERDUE, template="repairs/email/overdue.txt")
def call_overdue_contexts(ids: set[int]) -> dict[int, dict]:
    calls = RepairCall.objects.filter(pk__in=ids).select_related("customer", "site", "technician")
    return {call.pk: {"call": call, "url": absolute_url(call.get_absolute_url())} for call in calls}


@notice_kind(CARD_LATE, template="repairs/email/card_late.txt")
def card_late_contexts(ids: set[int]) -> dict[int, dict]:
    """The object is the delay row the escalation wrote (the card and the promised time it missed)."""
    delays = RepairCardDelay.objects.filter(pk__in=ids).select_related("card__call__customer", "card__technician")
    url = absolute_url(reverse("repairs:supervision"))
    return {delay.pk: {"card": delay.card, "delay": delay, "url": url} for delay in delays}
