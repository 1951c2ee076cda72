from celery import shared_task

from .mailbox import mailbox_read


@shared_task(acks_late=True)
def read_mailbox() -> dict:
    """Beat, every minute: each new message of the mailbox once (unique key), marked after the commit."""
    run = mailbox_read()
    return {"fetched": run.fetched, "handled": run.handled, "already": run.already}
