"""Complaints' notices rendered when the outbox delivers them (servicedesk.notifications.notice_kind)."""

from django.urls import reverse

from servicedesk.notifications import absolute_url, notice_kind

from .models import ReminderSlip

REMINDER = "complaints.reminder"


@notice_kind(REMINDER, template="complaints/email/reminder.txt")
def reminder_contexts(ids: set[int]) -> dict[int, dict]:
    slips = ReminderSlip.objects.filter(pk__in=ids).select_related("case")
    return {
        slip.pk: {"slip": slip, "url": absolute_url(reverse("complaints:case_detail", kwargs={"pk": slip.case_id}))}
        for slip in slips
    }
