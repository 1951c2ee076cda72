from celery import shared_task
from django.utils import timezone

from .services import penalties_daily_run


@shared_task(acks_late=True)
def close_resale_windows() -> dict:
    """Beat, hourly: open the loss of every newly ruled case; close each ended resale window once."""
    return penalties_daily_run(now=timezone.now())
