"""The outbox: notices are rows first, e-mails second.

Services write ``Notification`` rows in their own transaction (a unique
``dedupe_key`` makes a repeated write a no-op) and ask for delivery on commit.
If the broker is down the request still succeeds; the periodic sweep delivers
what is pending.

A notice is written in one of two forms, both valid:

- written out: ``subject`` and ``body`` rendered when the row is written
  (``render_notice``). One-off notices written inside a user's request do this.
- by kind: only ``kind`` (a name registered with ``notice_kind``) and
  ``object_id``. Periodic checks that write hundreds of notices at once do this:
  writing them stays cheap, and the delivery sweep renders each batch of one
  kind together (one query for the objects, one compiled template, one switch
  of language), then stores the text it sent on the row. Such a notice
  describes its object as it is when it is sent, normally seconds later.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import get_template
from django.utils import timezone, translation

from .exceptions import ApplicationError
from .models import Notification
from .pauses import Pause
from .sms import sms_send

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
RETRY_FIRST = dt.timedelta(seconds=30)
RETRY_MAX = dt.timedelta(hours=1)


# Outbox routers (registered by a higher app in its AppConfig.ready, e.g. ``notify``): each takes the notices a
# service is about to write and returns the rows to write instead (the same e-mail, its SMS and in-app copies,
# or fewer when a person's rules say so), in the caller's transaction.
OutboxRouter = Callable[[list[Notification]], list[Notification]]
_outbox_routers: list[OutboxRouter] = []


def register_outbox_router(router: OutboxRouter) -> None:
    if router not in _outbox_routers:  # ready() may run twice in tests
        _outbox_routers.append(router)


def notifications_queue(*, notices: list[Notification]) -> int:
    """Insert notices, ignoring those whose dedupe_key exists; deliver after commit. Returns rows given."""
    for router in _outbox_routers:
        notices = router(list(notices))
    if not notices:
        return 0
    Notification.objects.bulk_create(notices, ignore_conflicts=True, batch_size=500)
    transaction.on_commit(request_delivery)
    return len(notices)


def render_notice(*, template: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a text e-mail template whose first line is the subject, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _subject_and_body(get_template(template).render(context))


def _subject_and_body(text: str) -> tuple[str, str]:
    subject, _sep, body = text.strip().partition("\n")
    return subject[:200], body.strip()


# --- notices rendered at delivery -------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeKind:
    """How the notices of one kind are rendered: ``contexts(ids)`` → {object id: template context}."""

    name: str
    template: str
    contexts: Callable[[set[int]], dict[int, dict]]


_KINDS: dict[str, NoticeKind] = {}


def notice_kind(name: str, *, template: str):
    """Register the renderer of notices of kind ``name`` (a decorator, used in each app's ``notices.py``).

    The decorated function takes the set of object ids of a batch of notices and
    returns a template context for each object that still exists, with one query
    for all of them: rendering a batch must not cost a query per notice.
    """

    def register(contexts: Callable[[set[int]], dict[int, dict]]):
        _KINDS[name] = NoticeKind(name=name, template=template, contexts=contexts)
        return contexts

    return register


@dataclass(frozen=True)
class RenderFailure:
    error: str
    final: bool  # the notice's object is gone: no later attempt can render it


def notices_render(*, notices: Iterable[Notification]) -> dict[int, RenderFailure]:
    """Fill in the subject and body of the notices written by kind, in memory, in the site's language.

    Notices already written out are left as they are. Returns the notices that
    could not be rendered, by primary key; a bad renderer never stops the others.
    """
    by_kind: dict[str, list[Notification]] = {}
    for notice in notices:
        if notice.kind and not notice.subject:
            by_kind.setdefault(notice.kind, []).append(notice)
    failures: dict[int, RenderFailure] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for name, group in by_kind.items():
            # An unknown kind (a deploy in progress) or a broken renderer: retried on later sweeps.
            kind = _KINDS.get(name)
            if kind is None:
                error = f"no renderer is registered for notices of kind {name!r}"
                failures.update({notice.pk: RenderFailure(error, final=False) for notice in group})
                continue
            try:
                template = get_template(kind.template)
                contexts = kind.contexts({notice.object_id for notice in group})
            except Exception as exc:
                log.exception("notices of kind %s not rendered", name)
                failures.update({notice.pk: RenderFailure(str(exc)[:1000], final=False) for notice in group})
                continue
            for notice in group:
                context = contexts.get(notice.object_id)
                if context is None:
                    failures[notice.pk] = RenderFailure(
                        f"not sent: {name} #{notice.object_id} no longer exists", final=True
                    )
                    continue
                try:
                    notice.subject, notice.body = _subject_and_body(template.render(context))
                except Exception as exc:
                    log.exception("notice %s not rendered", notice.pk)
                    failures[notice.pk] = RenderFailure(str(exc)[:1000], final=False)
    return failures


# --- notices to customers, by the customer's preference ---------------------------------------------


@dataclass(frozen=True)
class CustomerNotice:
    """A notice to a customer (not a user): the router decides e-mail, SMS, the postal list or nothing.

    ``topic`` names what it is about ("product-ready"); ``sms_text`` is the short text an SMS carries;
    ``letter`` is what goes on the printable postal list for a customer with neither e-mail nor mobile.
    """

    topic: str
    dedupe_key: str
    customer_id: int
    unit_id: int
    email: str
    phone: str
    subject: str
    body: str
    sms_text: str


CustomerRouter = Callable[[list[CustomerNotice]], list[Notification]]
_customer_router: list[CustomerRouter] = []


def register_customer_router(router: CustomerRouter) -> None:
    _customer_router[:] = [router]


def _by_email_only(notices: list[CustomerNotice]) -> list[Notification]:
    return [
        Notification(dedupe_key=n.dedupe_key, to_email=n.email, subject=n.subject, body=n.body)
        for n in notices
        if n.email
    ]


def customer_notices_queue(*, notices: list[CustomerNotice]) -> int:
    """Write customer notices on the channel each customer gets them by (by e-mail only when no app decides)."""
    router = _customer_router[0] if _customer_router else _by_email_only
    return notifications_queue(notices=router(list(notices)))


def absolute_url(path: str) -> str:
    return settings.SERVICEDESK_BASE_URL.rstrip("/") + path


def users_with_role_by_unit(*, role: str, unit_ids) -> dict[int, list]:
    """Active users of ``role`` with an e-mail address, grouped by unit, in one query."""
    by_unit: dict[int, list] = {}
    users = get_user_model().objects.filter(unit_id__in=set(unit_ids), is_active=True, groups__name=role)
    for user in users.exclude(email="").order_by("pk"):
        by_unit.setdefault(user.unit_id, []).append(user)
    return by_unit


# After a failed kick this process stops kicking for a while: with the broker hung, each attempt waits
# for the socket timeout, and the notices are safe in the outbox for the periodic sweep anyway.
broker_pause = Pause("delivery kicks")


def request_delivery() -> None:
    """Kick the delivery task; never fail the caller if the broker is unreachable."""
    from .tasks import deliver_pending_notifications

    if broker_pause.active():
        return
    try:
        deliver_pending_notifications.apply_async(retry=False)
    except Exception:  # the broker is down or hung: the beat sweep delivers later
        broker_pause.start()
        log.warning(
            "broker unavailable; pending notifications will be delivered by the periodic sweep "
            "(no kicks from this process for %s s)",
            broker_pause.seconds,
            exc_info=True,
        )


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a notice waits after its ``attempts``-th failed attempt: 30 s, doubling, at most an hour."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


class _Undeliverable(Exception):
    """No later attempt can deliver this notice (no mobile number, a text an SMS cannot carry)."""


def _send(notice: Notification) -> None:
    """Deliver one notice on its channel; raises on failure (a mail or gateway error is retried later)."""
    if notice.channel == Notification.Channel.SMS:
        try:
            sms_send(to=notice.to_phone, text=notice.body or notice.subject, message_id=notice.dedupe_key)
        except ApplicationError as exc:
            raise _Undeliverable(str(exc)) from exc
    elif notice.channel == Notification.Channel.INAPP:
        return  # stored is delivered: the user reads it under the bell
    elif notice.to_email:
        send_mail(notice.subject, notice.body, None, [notice.to_email])


def notifications_deliver_pending(*, limit: int = 200) -> int:
    """Send pending notices on their channels, each claimed under a row lock so two workers never send one twice.

    Each notice is sent and marked sent in its own transaction: a worker killed in the middle of a
    sweep (SIGKILL, lost machine) leaves every message sent before it marked as sent, so the next sweep
    resends at most the one that was on the wire (bench/faults/worker_sigkill.py).

    Notices written by kind are rendered a batch at a time before any is claimed (``notices_render``);
    the text is stored on the row with ``sent_at``. One whose object is gone, or that no attempt can
    deliver (an SMS to a number that is not a mobile), is given up at once, with the reason in
    ``last_error``. A failed attempt waits ``retry_delay`` before the next, and the sweep ends after its
    batch (a mail server or SMS gateway that is down is not hammered; the notices wait in the outbox).
    """
    sent = 0
    while True:
        now = timezone.now()
        batch = list(
            Notification.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("created_at")[:limit]
        )
        if not batch:
            return sent
        failures = notices_render(notices=batch)
        sent_before, failed = sent, False
        for rendered in batch:
            with transaction.atomic():
                notice = (
                    Notification.objects.select_for_update(skip_locked=True)
                    .filter(pk=rendered.pk, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                    .first()
                )
                if notice is None:  # sent meanwhile by another sweep, or being sent by it now
                    continue
                notice.attempts += 1
                fields = ["attempts", "sent_at", "last_error", "next_attempt_at"]
                failure = failures.get(notice.pk)
                if failure is not None:
                    if failure.final:
                        notice.attempts = MAX_ATTEMPTS
                    else:
                        notice.next_attempt_at = timezone.now() + retry_delay(notice.attempts)
                    notice.last_error = failure.error
                    log.warning("notification %s not rendered: %s", notice.pk, failure.error)
                    notice.save(update_fields=fields)
                    continue
                if not notice.subject:  # written by kind: send, and keep, the text rendered above
                    notice.subject, notice.body = rendered.subject, rendered.body
                    fields += ["subject", "body"]
                try:
                    _send(notice)
                    notice.sent_at = timezone.now()
                    notice.last_error = ""
                    notice.next_attempt_at = None
                    sent += 1
                except _Undeliverable as exc:
                    notice.attempts = MAX_ATTEMPTS
                    notice.last_error = str(exc)[:1000]
                    log.warning("notification %s cannot be delivered: %s", notice.pk, exc)
                except Exception as exc:  # a mail server or gateway error: keep it pending, retry after a wait
                    notice.last_error = str(exc)[:1000]
                    notice.next_attempt_at = timezone.now() + retry_delay(notice.attempts)
                    failed = True
                    log.warning("notification %s not sent: %s", notice.pk, exc)
                    fields = ["attempts", "sent_at", "last_error", "next_attempt_at"]  # rendered again when retried
                notice.save(update_fields=fields)
        # A failure ends the sweep after this batch (the next sweep retries); a short batch was the last;
        # a batch that another sweep is sending is left to it.
        if failed or len(batch) < limit or sent == sent_before:
            return sent
