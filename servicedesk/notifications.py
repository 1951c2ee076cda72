"""The outbox: notices are rows first, e-mails second.

Services write ``Notification`` rows in their own transaction (a unique
``dedupe_key`` makes a repeated write a no-op) and ask for delivery on commit.
If the broker is down the request still succeeds; the periodic sweep delivers
what is pending.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import get_template
from django.utils import timezone, translation

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


def render_notice(*, template: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a text e-mail template whose first line is the subject, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        subject, _sep, body = get_template(template).render(context).strip().partition("\n")
    return subject[:200], body.strip()


def absolute_url(path: str) -> str:
    return settings.SERVICEDESK_BASE_URL.rstrip("/") + path


def users_with_role_by_unit(*, role: str, unit_ids) -> dict[int, list]:
    """Active users of ``role`` with an e-mail address, grouped by unit, in one query."""
    by_unit: dict[int, list] = {}
    users = get_user_model().objects.filter(unit_id__in=set(unit_ids), is_active=True, groups__name=role)
    for user in users.exclude(email="").order_by("pk"):
        by_unit.setdefault(user.unit_id, []).append(user)
    return by_unit


def request_delivery() -> None:
    """Kick the delivery task; never fail the caller if the broker is unreachable."""
    from .tasks import deliver_pending_notifications

    try:
        deliver_pending_notifications.apply_async(retry=False)
    except Exception:  # the broker is down or hung: the beat sweep delivers later
        log.warning("broker unavailable; pending notifications will be delivered by the periodic sweep", exc_info=True)


def notifications_deliver_pending(*, limit: int = 200) -> int:
    """Send pending notices, each claimed under a row lock so two workers never send the same one.

    Each notice is sent and marked sent in its own transaction: a worker killed in the middle of a
    sweep (SIGKILL, lost machine) leaves every e-mail sent before it marked as sent, so the next sweep
    resends at most the one that was on the wire (bench/faults/worker_sigkill.py).
    """
    sent = 0
    while True:
        batch = list(
            Notification.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not batch:
            return sent
        sent_before, failed = sent, False
        for pk in batch:
            with transaction.atomic():
                notice = (
                    Notification.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                    .first()
                )
                if notice is None:  # sent meanwhile by another sweep, or being sent by it now
                    continue
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
        # A failing mail server stops the sweep after this batch (the next sweep retries); a short
        # batch was the last; a batch that another sweep is sending is left to it.
        if failed or len(batch) < limit or sent == sent_before:
            return sent
