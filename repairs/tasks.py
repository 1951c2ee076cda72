from celery import shared_task
from django.utils import timezone

from .services import repair_calls_mark_overdue, repair_cards_escalate_late


@shared_task(acks_late=True)
def check_overdue_calls() -> int:
    """Beat, every minute: idempotent, so a late or doubled run does each call once."""
    return repair_calls_mark_overdue(now=timezone.now())


@shared_task(acks_late=True)
def escalate_late_repair_cards() -> int:
    """Beat, every few minutes: escalates each missed promised time once, however often it runs."""
    return repair_cards_escalate_late(now=timezone.now())
