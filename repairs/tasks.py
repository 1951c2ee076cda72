from celery import shared_task
from django.utils import timezone

from .services import repair_calls_mark_overdue


@shared_task(acks_late=True)
def check_overdue_calls() -> int:
    """Beat, every minute: idempotent, so a late or doubled run does each call once."""
    return repair_calls_mark_overdue(now=timezone.now())
