"""Clause 二十: the daily expiry-notice run, the notices' e-mail, and the renewal follow-ups it opens."""

import datetime as dt
import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from servicedesk import events
from servicedesk.documents import render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification, StatusChange
from servicedesk.notifications import absolute_url, notifications_queue, render_notice
from servicedesk.workflow import apply_transition, lock_for_update

from ..models import ContractTerm, ExpiryNotice, RenewalFollowUp
from .common import allocate_numbers, require

log = logging.getLogger(__name__)

NOTICE_BATCH = 500
EXPIRE_BATCH = 500
EMAIL_BATCH = 50
MAX_EMAIL_ATTEMPTS = 10
NOTICE_TEMPLATE = "contracts/pdf/expiry_notice.html"


def terms_due_for_notice(*, today: dt.date):
    """Active terms whose notice window has begun and that have no notice yet (partial index ``term_notice_due_idx``).

    A term whose window began during downtime, or that was entered already
    inside its window, is due on the next run; one that has already ended is
    not noticed any more (it expires instead), nor is a renewed one.
    """
    return ContractTerm.objects.filter(
        status=ContractTerm.Status.ACTIVE, noticed_at__isnull=True, notice_on__lte=today, end_on__gte=today
    )


def contract_notices_issue(*, today: dt.date, now: dt.datetime | None = None, batch_size: int = NOTICE_BATCH) -> int:
    """Issue the maintenance expiry notice of every term entering its window, exactly once per term.

    One indexed query per batch, no task per contract. Rows are claimed under
    ``SKIP LOCKED`` so two runs at once split the work; ``noticed_at`` is set in
    the same transaction as the notice, and the notice's unique term makes a
    second notice for a term impossible whatever happens. Each notice opens a
    renewal follow-up; e-mails go out after commit.
    """
    now = now or timezone.now()
    issued = 0
    while True:
        with transaction.atomic():
            ids = list(
                terms_due_for_notice(today=today)
                .order_by("notice_on", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return issued
            ContractTerm.objects.filter(id__in=ids, noticed_at__isnull=True).update(noticed_at=now)
            terms = list(
                ContractTerm.objects.filter(id__in=ids)
                .select_related("contract__customer", "contract__contract_type", "contract__handled_by")
                .order_by("notice_on", "id")
            )
            numbers = allocate_numbers(series="EN", count=len(terms), at=now)
            notices = ExpiryNotice.objects.bulk_create(
                [
                    ExpiryNotice(
                        number=number,
                        term=term,
                        unit_id=term.contract.unit_id,
                        issued_on=today,
                        email_to=term.contract.customer.email,
                        created_at=now,
                    )
                    for term, number in zip(terms, numbers, strict=True)
                ]
            )
            follow_ups = RenewalFollowUp.objects.bulk_create(
                [
                    RenewalFollowUp(
                        term=term,
                        notice=notice,
                        unit_id=term.contract.unit_id,
                        assigned_to=term.contract.handled_by,
                        due_on=min(today + dt.timedelta(days=term.contract.contract_type.follow_up_days), term.end_on),
                        created_at=now,
                        updated_at=now,
                    )
                    for term, notice in zip(terms, notices, strict=True)
                ]
            )
            _record_follow_ups_opened(follow_ups, at=now)
            events.events_emit(
                events.Event(
                    name=events.CONTRACT_NOTICE_ISSUED,
                    object_type="expiry_notice",
                    object_id=notice.pk,
                    unit_id=notice.unit_id,
                    data={
                        "number": notice.number,
                        "contract_id": term.contract_id,
                        "customer_id": term.contract.customer_id,
                        "term_ends_on": term.end_on.isoformat(),
                    },
                    at=now,
                )
                for term, notice in zip(terms, notices, strict=True)
            )
            notifications_queue(notices=_assignee_notices(follow_ups))
            transaction.on_commit(request_notice_delivery)
            issued += len(terms)
        if len(ids) < batch_size:
            return issued


def _record_follow_ups_opened(follow_ups: list[RenewalFollowUp], *, at: dt.datetime) -> None:
    content_type = ContentType.objects.get_for_model(RenewalFollowUp)
    StatusChange.objects.bulk_create(
        [
            StatusChange(
                content_type=content_type,
                object_id=follow_up.pk,
                from_status="",
                to_status=follow_up.status,
                at=at,
                note=_("Opened by expiry notice %(number)s.") % {"number": follow_up.notice.number},
            )
            for follow_up in follow_ups
        ]
    )


def _assignee_notices(follow_ups: list[RenewalFollowUp]) -> list[Notification]:
    notices = []
    for follow_up in follow_ups:
        person = follow_up.assigned_to
        if person is None or not person.email:
            continue
        context = {
            "follow_up": follow_up,
            "term": follow_up.term,
            "contract": follow_up.term.contract,
            "url": absolute_url(reverse("contracts:follow_up", args=[follow_up.pk])),
        }
        subject, body = render_notice(template="contracts/email/follow_up.txt", context=context)
        notices.append(
            Notification(
                dedupe_key=f"contract-renewal-follow-up:{follow_up.term_id}:{person.pk}",
                recipient=person,
                to_email=person.email,
                subject=subject,
                body=body,
            )
        )
    return notices


def contract_terms_expire(*, today: dt.date, batch_size: int = EXPIRE_BATCH) -> int:
    """Active terms whose last day has passed without renewal lapse: later calls on their products are paid."""
    expired = 0
    while True:
        with transaction.atomic():
            terms = list(
                ContractTerm.objects.filter(status=ContractTerm.Status.ACTIVE, end_on__lt=today)
                .order_by("end_on", "id")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            for term in terms:
                apply_transition(
                    instance=term,
                    to_status=ContractTerm.Status.EXPIRED,
                    by=None,
                    note=_("Ended on %(date)s without renewal.") % {"date": term.end_on},
                )
            expired += len(terms)
        if len(terms) < batch_size:
            return expired


def contract_daily_run(*, today: dt.date, now: dt.datetime | None = None) -> dict:
    """The daily beat job: notices first (a term ending today still gets one), then lapses."""
    return {
        "notices": contract_notices_issue(today=today, now=now),
        "expired": contract_terms_expire(today=today),
    }


# --- The notice as a document and an e-mail -------------------------------------------------------


def expiry_notice_context(notice: ExpiryNotice) -> dict:
    term = notice.term
    contract = term.contract
    return {
        "notice": notice,
        "term": term,
        "contract": contract,
        "customer": contract.customer,
        "products": list(contract.products.order_by("serial_number")),
        "sites": list(contract.sites.order_by("address")),
        "unit": contract.unit,
    }


def expiry_notice_pdf(notice: ExpiryNotice) -> bytes:
    return render_pdf(template=NOTICE_TEMPLATE, context=expiry_notice_context(notice))


def request_notice_delivery() -> None:
    """Kick the e-mail task; never fail the caller if the broker is unreachable (the beat sweep delivers)."""
    from ..tasks import deliver_expiry_notices

    try:
        deliver_expiry_notices.apply_async(retry=False)
    except Exception:
        log.warning("broker unavailable; expiry notices will be e-mailed by the periodic sweep", exc_info=True)


def expiry_notices_deliver_pending(*, limit: int = EMAIL_BATCH) -> int:
    """E-mail each pending notice to its customer with the PDF attached, once.

    This is the notices' own outbox (the shared one sends plain text only):
    the notice row is claimed under a row lock, so two workers never send the
    same notice; ``emailed_at`` records the one delivery.
    """
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                ExpiryNotice.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS)
                .exclude(email_to="")
                .select_related("term__contract__customer", "term__contract__unit", "term__contract__contract_type")
                .order_by("created_at", "id")[:limit]
            )
            if not batch:
                return sent
            failed = False
            for notice in batch:
                notice.email_attempts += 1
                try:
                    _send_notice(notice)
                    notice.emailed_at = timezone.now()
                    notice.email_error = ""
                    sent += 1
                except Exception as exc:  # a mail server or rendering error: keep it pending, retry next sweep
                    notice.email_error = str(exc)[:1000]
                    failed = True
                    log.warning("expiry notice %s not e-mailed: %s", notice.pk, exc)
                notice.save(update_fields=["email_attempts", "emailed_at", "email_error"])
        if failed or len(batch) < limit:
            return sent


def _send_notice(notice: ExpiryNotice) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        context = expiry_notice_context(notice)
        pdf = render_pdf(template=NOTICE_TEMPLATE, context=context)
    subject, body = render_notice(template="contracts/email/expiry_notice.txt", context=context)
    message = EmailMessage(subject=subject, body=body, to=[notice.email_to])
    message.attach(f"{notice.number}.pdf", pdf, "application/pdf")
    message.send()


# --- Follow-ups -------------------------------------------------------------------------------------


@transaction.atomic
def renewal_follow_up_record(
    *, user, follow_up_id: int, outcome: str, note: str = "", expected_version: int | None = None
) -> RenewalFollowUp:
    """The customer's answer when it is not a renewal: declined, or no answer. Renewing goes through the term."""
    follow_up = lock_for_update(RenewalFollowUp.objects.all(), pk=follow_up_id)
    require(user, "contracts.follow_up_renewals", unit_id=follow_up.unit_id)
    if expected_version is not None and follow_up.version != expected_version:
        raise ApplicationError(_("This follow-up was changed by someone else a moment ago. Reload and try again."))
    if outcome not in RenewalFollowUp.OUTCOMES:
        raise ApplicationError(_("Record a renewal by renewing the contract."), field="outcome")
    if outcome == RenewalFollowUp.Status.DECLINED and not note.strip():
        raise ApplicationError(_("Note why the customer declined."), field="note")
    follow_up.note = note.strip()
    follow_up.closed_at = timezone.now()
    follow_up.closed_by = user
    apply_transition(
        instance=follow_up,
        to_status=outcome,
        by=user,
        note=follow_up.note,
        fields=["note", "closed_at", "closed_by"],
    )
    return follow_up


@transaction.atomic
def renewal_follow_up_assign(
    *, user, follow_up_id: int, assigned_to, due_on: dt.date, expected_version: int | None = None
) -> RenewalFollowUp:
    """Who asks the customer, and by when."""
    follow_up = lock_for_update(RenewalFollowUp.objects.all(), pk=follow_up_id)
    require(user, "contracts.follow_up_renewals", unit_id=follow_up.unit_id)
    if expected_version is not None and follow_up.version != expected_version:
        raise ApplicationError(_("This follow-up was changed by someone else a moment ago. Reload and try again."))
    if follow_up.status not in RenewalFollowUp.PENDING:
        raise ApplicationError(_("This follow-up is closed."))
    if assigned_to is not None and assigned_to.unit_id != follow_up.unit_id:
        raise ApplicationError(_("Choose someone of the contract's unit."), field="assigned_to")
    follow_up.assigned_to = assigned_to
    follow_up.due_on = due_on
    follow_up.version += 1
    follow_up.updated_at = timezone.now()
    follow_up.save(update_fields=["assigned_to", "due_on", "version", "updated_at"])
    return follow_up
