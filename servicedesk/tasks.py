from celery import shared_task

from .notifications import notifications_deliver_pending


@shared_task(acks_late=True)
def deliver_pending_notifications() -> int:
    return notifications_deliver_pending()
