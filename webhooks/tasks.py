from celery import shared_task

from .services import webhook_deliveries_send_due


@shared_task(acks_late=True)
def deliver_webhooks() -> int:
    """Kicked after each change with deliveries, and by beat every minute: sends what is due (idempotent)."""
    return webhook_deliveries_send_due()
