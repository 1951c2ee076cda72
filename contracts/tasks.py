from celery import shared_task
from django.utils import timezone

from .services import (
    contract_daily_run,
    contract_import_run,
    contract_planned_visits_generate,
    expiry_notices_deliver_pending,
)


@shared_task(acks_late=True)
def issue_expiry_notices() -> dict:
    """Beat, daily (clause 二十): idempotent, so a late, repeated or doubled run notices each term once."""
    result = contract_daily_run(today=timezone.localdate())
    result["emailed"] = expiry_notices_deliver_pending()
    return result


@shared_task(acks_late=True)
def deliver_expiry_notices() -> int:
    """After a run, and as a sweep: e-mail pending notices with their PDF."""
    return expiry_notices_deliver_pending()


@shared_task(acks_late=True)
def run_contract_import(import_id: int) -> str:
    return contract_import_run(import_id=import_id).status


@shared_task(acks_late=True)
def generate_planned_visits() -> int:
    """Beat, daily (DOMAIN 4): idempotent, so a late, repeated or doubled run plans each visit once."""
    return contract_planned_visits_generate(today=timezone.localdate())
