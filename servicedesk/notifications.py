"""The outbox: notices are rows first, e-mails second.

Services write ``Notification`` rows in their own transaction (a unique
``dedupe_key`` makes a repeated write a no-op) and ask for delivery on commit.
If the broker is down the request still succeeds; the periodic sweep delivers
what is pending.
"""

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def notifications_queue(*, notices: list[Notification]) -> int:
    """Insert notices, ignoring those whose dedupe_key exists; deliver after commit. Returns rows given."""
    if not notices:
        return 0
    Notification.objects.bulk_create(notices, ignore_conflicts=True, batch_size=500)
    transaction.on_commit(request_delivery)
    return len(notices)


def request_delivery() -> None:
    """Kick the delivery task; never fail the caller if the broker is unreachable."""
    from .tasks import deliver_pending_notifications

    try:
        deliver_pending_notifications.apply_async(retry=False)
    except Exception:  # the broker is down or hung: the beat sweep delivers later
        log.warning("broker unavailable; pending notifications will be delivered by the periodic sweep", exc_info=True)


def notifications_deliver_pending(*, limit: int = 200) -> int:
    """Send pending notices, each claimed under a row lock so two workers never send the same one."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .order_by("created_at")[:limit]
            )
            if not batch:
                return sent
            failed = False
            for notice in batch:
                notice.attempts += 1
                try:
                    if notice.to_email:
                        send_mail(notice.subject, notice.body, None, [notice.to_email])
                    notice.sent_at = timezone.now()
                    notice.last_error = ""
                    sent += 1
                except Exception as exc:  # a mail server error: keep it pending, retry next sweep
                    notice.last_error = str(exc)[:1000]
                    failed = True
                    log.warning("notification %s not sent: %s", notice.pk, exc)
                notice.save(update_fields=["attempts", "sent_at", "last_error"])
        # A failing mail server stops the sweep; the next one retries.
        if failed or len(batch) < limit:
            return sent
