from celery import shared_task
from django.utils import timezone

from .services import appraisal_months_record, survey_cards_issue


@shared_task(acks_late=True)
def issue_survey_cards() -> int:
    """Beat, daily after midnight: cards for every call of the finished days (idempotent, catches up)."""
    return survey_cards_issue(now=timezone.now())


@shared_task(acks_late=True)
def record_appraisal_months() -> int:
    """Beat, nightly: the month-end appraisal of the last closed months (idempotent, catches late cards)."""
    return appraisal_months_record(now=timezone.now())


@shared_task(acks_late=True)
def issue_reminder_slips() -> int:
    """Beat, hourly: a reminder slip for each overdue complaint-case stage, once per stage stay and day."""
    from .services import reminder_slips_issue

    return reminder_slips_issue(now=timezone.now())
