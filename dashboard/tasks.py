from celery import shared_task
from django.utils import timezone

from .services import service_months_record


@shared_task(acks_late=True)
def record_service_months() -> int:
    """Beat, nightly: the dashboard's month summary; closed months caught up and refreshed (idempotent)."""
    return service_months_record(now=timezone.now())


@shared_task(acks_late=True)
def refresh_current_service_month() -> int:
    """Beat, every few minutes: the current month's stored figures recomputed (idempotent)."""
    return service_months_record(now=timezone.now(), months_back=0, current=True, catch_up=False)
