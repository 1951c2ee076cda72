"""Clauses 十一 to 十四: carry-in repair, the in/out register, repair cards and their promised times."""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import (
    CustomerNotice,
    absolute_url,
    customer_notices_queue,
    notifications_queue,
    render_notice,
    users_with_role_by_unit,
)
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.sms import sms_check_text, sms_phone
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import RegisterEntry, RepairCall, RepairCard, RepairCardDelay, ServiceVoucher, Visit
from ..notices import CARD_LATE
from ..signatures import signature_png_checked
from .calls import _end_visit, _require, _transition_call
from .quotes import quote_unpaid


def _check_card_worker(user, card: RepairCard) -> None:
    _require(user, "repairs.open_carry_in", unit_id=card.unit_id)


def _supervisors_of(unit_ids) -> dict[int, list]:
    return users_with_role_by_unit(role=Role.SUPERVISOR, unit_ids=unit_ids)


@transaction.atomic
def carry_in_open(
    *,
    user,
    call_id: int,
    voucher_id: int,
    fault_found: str,
    work_planned: str,
    promised_at: dt.datetime,
    parts_planned: str = "",
    items_received: str = "",
    item_description: str = "",
    receipt_signature_png: bytes | None = None,
    receipt_signed_by_name: str = "",
    receipt_email: str = "",
    receipt_phone: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> RepairCard:
    """Clause 十一: the product cannot be fixed on site, so the technician carries it back.

    In one step: the call becomes "carried in", the repair card is filled, and
    the product enters the register under the pickup receipt's number (the
    clerk books it in on arrival). The customer signs the pickup receipt on the
    technician's screen (``receipt_signature_png``, by ``receipt_signed_by_name``),
    and the receipt is sent to ``receipt_email`` and, as an SMS, to the mobile ``receipt_phone`` through the
    outbox (issue 16).
    """
    call = lock_for_update(RepairCall.objects.select_related("product", "customer"), pk=call_id)
    _require(user, "repairs.open_carry_in", unit_id=call.unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and call.technician_id != user.pk:
        raise ApplicationError(_("Only the technician assigned to the call can carry its product in."))
    if expected_version is not None and call.version != expected_version:
        raise ApplicationError(_("The call was changed by someone else a moment ago. Reload and try again."))
    if call.status != RepairCall.Status.ON_SITE:
        raise ApplicationError(_("A product is carried in from a call the technician is attending on site."))
    voucher = ServiceVoucher.objects.filter(pk=voucher_id, call_id=call.pk).first()
    if voucher is None or voucher.status != ServiceVoucher.Status.SIGNED:
        raise ApplicationError(_("Choose the call's voucher signed by the customer."), field="voucher")
    now = now or timezone.now()
    if promised_at <= now:
        raise ApplicationError(_("The promised completion time must be in the future."), field="promised_at")
    for field, value, message in (
        ("fault_found", fault_found, _("Describe the fault found.")),
        ("work_planned", work_planned, _("Describe the work planned.")),
    ):
        if not (value or "").strip():
            raise ApplicationError(message, field=field)
    description = (item_description or "").strip() or (str(call.product) if call.product else "")
    if not description:
        raise ApplicationError(
            _("Describe the product carried in (model and serial number)."), field="item_description"
        )
    signed_by = (receipt_signed_by_name or "").strip()
    if receipt_signature_png is not None:
        receipt_signature_png = signature_png_checked(receipt_signature_png)
        if not signed_by:
            raise ApplicationError(_("Enter the name of who signs the receipt."), field="receipt_signed_by_name")
    receipt_email = (receipt_email or "").strip()
    if (receipt_phone or "").strip():
        try:
            receipt_phone = sms_phone(receipt_phone)
        except ApplicationError as exc:
            raise ApplicationError(exc.message, field="receipt_phone") from None
    else:
        receipt_phone = ""

    call.outcome = fault_found.strip()
    _end_visit(call, outcome=Visit.Outcome.CARRIED_IN, at=now)
    _transition_call(
        instance=call,
        to_status=RepairCall.Status.CARRIED_IN,
        by=user,
        note=_("Carried in for repair: %(fault)s") % {"fault": fault_found.strip()},
        fields=["outcome"],
        at=now,
    )
    card = RepairCard.objects.create(
        number=next_number(series="RK", at=now),
        unit_id=call.unit_id,
        call=call,
        voucher=voucher,
        technician=call.technician or user,
        fault_found=fault_found.strip(),
        work_planned=work_planned.strip(),
        parts_planned=(parts_planned or "").strip(),
        promised_at=promised_at,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=card, from_status="", to_status=card.status, by=user, at=now)
    entry = RegisterEntry.objects.create(
        receipt_number=next_number(series="PR", at=now),
        unit_id=call.unit_id,
        card=card,
        call=call,
        product=call.product,
        item_description=description[:200],
        items_received=(items_received or "").strip(),
        taken_at=now,
        taken_by=user,
        pickup_signature_png=receipt_signature_png,
        pickup_signed_by_name=signed_by[:100] if receipt_signature_png is not None else "",
        receipt_sent_to=receipt_email[:254],
        receipt_sent_to_phone=receipt_phone,
    )
    notices = []
    if receipt_email:
        subject, body = render_notice(
            template="repairs/email/pickup_receipt_customer.txt", context={"card": card, "entry": entry, "call": call}
        )
        notices.append(
            Notification(dedupe_key=f"pickup-receipt:{entry.pk}", to_email=receipt_email, subject=subject, body=body)
        )
    if receipt_phone:
        notices.append(
            Notification(
                dedupe_key=f"pickup-receipt-sms:{entry.pk}",
                channel=Notification.Channel.SMS,
                to_phone=receipt_phone,
                body=sms_check_text(_pickup_receipt_sms(card=card, entry=entry)),
            )
        )
    notifications_queue(notices=notices)
    return card


def _pickup_receipt_sms(*, card: RepairCard, entry: RegisterEntry) -> str:
    """The pickup receipt as a short text message, in the site's language (the customer's)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "Pickup receipt %(receipt)s: we have taken %(product)s for repair (card %(card)s), "
            "promised by %(promised)s. Keep this number to collect it."
        ) % {
            "receipt": entry.receipt_number,
            "product": entry.item_description[:40],  # the SMS stays within its parts whatever the description
            "card": card.number,
            "promised": timezone.localtime(card.promised_at).strftime("%Y-%m-%d %H:%M"),
        }


@transaction.atomic
def register_entry_receive(
    *, user, entry_id: int, storage_location: str, now: dt.datetime | None = None
) -> RegisterEntry:
    """The clerk takes the product from the technician and books it into the register: where it is kept."""
    entry = lock_for_update(RegisterEntry.objects.all(), pk=entry_id)
    _require(user, "repairs.manage_register", unit_id=entry.unit_id)
    if entry.received_at is not None:
        raise ApplicationError(
            _("Receipt %(receipt)s was already booked in by %(clerk)s.")
            % {"receipt": entry.receipt_number, "clerk": entry.received_by}
        )
    storage_location = (storage_location or "").strip()
    if not storage_location:
        raise ApplicationError(_("Say where the product is stored."), field="storage_location")
    entry.received_at = now or timezone.now()
    entry.received_by = user
    entry.storage_location = storage_location[:100]
    entry.save(update_fields=["received_at", "received_by", "storage_location"])
    return entry


# Transitions the workshop makes on the card page; "returned" happens only through the register.
WORKSHOP_STATUSES = (RepairCard.Status.IN_REPAIR, RepairCard.Status.WAITING_PARTS, RepairCard.Status.REPAIRED)


@transaction.atomic
def repair_card_transition(
    *, user, card_id: int, to_status: str, note: str = "", expected_version: int | None = None
) -> RepairCard:
    """Move a repair card along its workflow (the TRANSITIONS table decides); repaired tells the customer."""
    card = lock_for_update(RepairCard.objects.select_related("call__customer"), pk=card_id)
    _check_card_worker(user, card)
    if expected_version is not None and card.version != expected_version:
        raise ApplicationError(
            _("Card %(number)s was changed by someone else a moment ago. Reload and try again.")
            % {"number": card.number}
        )
    if to_status not in WORKSHOP_STATUSES:
        raise ApplicationError(_("A product is returned through the register, against its pickup receipt."))
    entry = RegisterEntry.objects.get(card_id=card.pk)
    if entry.received_at is None:
        raise ApplicationError(_("The clerk must book the product into the register first."))
    fields = []
    note = (note or "").strip()
    if note:
        card.repair_notes = f"{card.repair_notes}\n{note}".strip()
        fields.append("repair_notes")
    if to_status == RepairCard.Status.REPAIRED:
        card.repaired_at = timezone.now()
        fields.append("repaired_at")
    apply_transition(instance=card, to_status=to_status, by=user, note=note, fields=fields)
    customer = card.call.customer
    if to_status == RepairCard.Status.REPAIRED:
        # "Your product is ready": by e-mail, by SMS where the customer has no e-mail, or on the unit's
        # postal list where there is neither, as the customer's preference says (the router, notify).
        subject, body = render_notice(
            template="repairs/email/card_repaired_customer.txt", context={"card": card, "entry": entry}
        )
        customer_notices_queue(
            notices=[
                CustomerNotice(
                    topic="product-ready",
                    dedupe_key=f"repair-card-repaired:{card.pk}:{card.version}",
                    customer_id=customer.pk,
                    unit_id=card.unit_id,
                    email=customer.email,
                    phone=customer.phone,
                    subject=subject,
                    body=body,
                    sms_text=body,
                )
            ]
        )
    return card


@transaction.atomic
def register_entry_release(
    *,
    user,
    entry_id: int,
    release_kind: str,
    released_to_name: str,
    signature_png: bytes,
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """The repaired product leaves the register against its pickup receipt, signed for; the call is closed."""
    entry = lock_for_update(RegisterEntry.objects.all(), pk=entry_id)
    _require(user, "repairs.manage_register", unit_id=entry.unit_id)
    if entry.released_at is not None:
        raise ApplicationError(
            _("Receipt %(receipt)s has already left the register.") % {"receipt": entry.receipt_number}
        )
    if entry.received_at is None:
        raise ApplicationError(_("The product was never booked into the register."))
    if release_kind not in RegisterEntry.Release.values:
        raise ApplicationError(_("Say whether the customer picked it up or it was delivered."), field="release_kind")
    released_to_name = (released_to_name or "").strip()
    if not released_to_name:
        raise ApplicationError(_("Enter the name of the person who received the product."), field="released_to_name")
    card = lock_for_update(RepairCard.objects.all(), pk=entry.card_id)
    if card.status != RepairCard.Status.REPAIRED:
        raise ApplicationError(_("Only a repaired product can be returned."))
    # A charged carry-in (issue 14): the approved quote is paid at hand-back, or a supervisor released it.
    unpaid = quote_unpaid(card)
    if unpaid is not None:
        raise ApplicationError(
            _(
                "Quote %(quote)s (%(total)s yuan) is approved but not paid: collect the fee first, "
                "or ask a supervisor to release the product unpaid."
            )
            % {"quote": unpaid.number, "total": unpaid.total}
        )
    now = now or timezone.now()
    entry.release_signature_png = signature_png_checked(signature_png)
    entry.released_at = now
    entry.released_by = user
    entry.release_kind = release_kind
    entry.released_to_name = released_to_name[:100]
    entry.save(
        update_fields=["release_signature_png", "released_at", "released_by", "release_kind", "released_to_name"]
    )
    note = _("%(how)s, signed by %(name)s against receipt %(receipt)s") % {
        "how": entry.get_release_kind_display(),
        "name": entry.released_to_name,
        "receipt": entry.receipt_number,
    }
    apply_transition(instance=card, to_status=RepairCard.Status.RETURNED, by=user, note=note, at=now)
    # The call's work ends when the product is back with the customer.
    call = lock_for_update(RepairCall.objects.all(), pk=entry.call_id)
    if call.status == RepairCall.Status.CARRIED_IN:
        call.closed_at = now
        _transition_call(
            instance=call, to_status=RepairCall.Status.CLOSED, by=user, note=note, fields=["closed_at"], at=now
        )
    return entry


# --- Promised completion time (clause 十四) -----------------------------------------------------------


def _check_new_promise(*, card: RepairCard, new_promised_at: dt.datetime, now: dt.datetime) -> None:
    if not card.is_open:
        raise ApplicationError(_("This card is no longer waiting for repair."))
    if new_promised_at is None or new_promised_at <= now:
        raise ApplicationError(_("The new promised time must be in the future."), field="new_promised_at")
    if new_promised_at <= card.promised_at:
        raise ApplicationError(_("The new promised time must be later than the current one."), field="new_promised_at")


def _promise_anew(*, user, card: RepairCard, delay: RepairCardDelay, new_promised_at: dt.datetime, now) -> None:
    """A new promised time closes this cycle, starts the next, and tells the customer."""
    customer = card.call.customer
    delay.new_promised_at = new_promised_at
    delay.rescheduled_by = user
    delay.rescheduled_at = now
    delay.customer_notice = (
        RepairCardDelay.CustomerNotice.EMAIL if customer.email else RepairCardDelay.CustomerNotice.LETTER
    )
    delay.save()
    old = card.promised_at
    card.promised_at = new_promised_at
    card.version += 1
    card.updated_at = now
    card.save(update_fields=["promised_at", "version", "updated_at"])
    record_status_change(
        instance=card,
        from_status=card.status,
        to_status=card.status,
        by=user,
        note=_("Promised completion moved from %(old)s to %(new)s: %(reason)s")
        % {
            "old": timezone.localtime(old).strftime("%Y-%m-%d %H:%M"),
            "new": timezone.localtime(new_promised_at).strftime("%Y-%m-%d %H:%M"),
            "reason": delay.reason,
        },
        at=now,
    )
    if customer.email:
        subject, body = render_notice(
            template="repairs/email/card_new_time_customer.txt", context={"card": card, "delay": delay}
        )
        notifications_queue(
            notices=[
                Notification(
                    dedupe_key=f"repair-card-new-time:{card.pk}:{int(new_promised_at.timestamp())}",
                    to_email=customer.email,
                    subject=subject,
                    body=body,
                )
            ]
        )


def _delay_row(*, card: RepairCard) -> RepairCardDelay:
    delay, _created = RepairCardDelay.objects.get_or_create(
        card=card, promised_at=card.promised_at, defaults={"unit_id": card.unit_id}
    )
    return delay


@transaction.atomic
def repair_card_report_delay(
    *, user, card_id: int, reason: str, new_promised_at: dt.datetime, now: dt.datetime | None = None
) -> RepairCardDelay:
    """Clause 十四: the technician reports at once to the supervisor that the promised time cannot be kept."""
    card = lock_for_update(RepairCard.objects.select_related("call__customer"), pk=card_id)
    _check_card_worker(user, card)
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the reason for the delay."), field="reason")
    _check_new_promise(card=card, new_promised_at=new_promised_at, now=now)
    delay = _delay_row(card=card)
    delay.reported_by = user
    delay.reported_at = now
    delay.reason = reason
    _promise_anew(user=user, card=card, delay=delay, new_promised_at=new_promised_at, now=now)
    supervisors = _supervisors_of([card.unit_id]).get(card.unit_id, [])
    subject, body = render_notice(
        template="repairs/email/card_delay_reported.txt",
        context={"card": card, "delay": delay, "url": absolute_url(card.get_absolute_url())},
    )
    notifications_queue(
        notices=[
            Notification(
                dedupe_key=f"repair-card-delay-reported:{card.pk}:{int(delay.promised_at.timestamp())}:{sup.pk}",
                recipient=sup,
                to_email=sup.email,
                subject=subject,
                body=body,
            )
            for sup in supervisors
        ]
    )
    return delay


@transaction.atomic
def repair_card_reschedule(
    *, user, card_id: int, new_promised_at: dt.datetime, reason: str = "", now: dt.datetime | None = None
) -> RepairCardDelay:
    """The supervisor sets a new promised time on a late card (escalated or not); a new cycle starts."""
    card = lock_for_update(RepairCard.objects.select_related("call__customer"), pk=card_id)
    _require(user, "repairs.supervise_repairs", unit_id=card.unit_id)
    now = now or timezone.now()
    _check_new_promise(card=card, new_promised_at=new_promised_at, now=now)
    delay = _delay_row(card=card)
    reason = (reason or "").strip()
    if reason:
        delay.reason = f"{delay.reason}\n{reason}".strip()
    _promise_anew(user=user, card=card, delay=delay, new_promised_at=new_promised_at, now=now)
    return delay


@transaction.atomic
def repair_card_delay_letter_sent(*, user, delay_id: int) -> RepairCardDelay:
    """The printed letter telling the customer the new time has been sent."""
    delay = lock_for_update(RepairCardDelay.objects.all(), pk=delay_id)
    _require(user, "repairs.supervise_repairs", unit_id=delay.unit_id)
    if delay.customer_notice != RepairCardDelay.CustomerNotice.LETTER:
        raise ApplicationError(_("This customer is told by e-mail; there is no letter to send."))
    if delay.letter_sent_at is None:
        delay.letter_sent_at = timezone.now()
        delay.save(update_fields=["letter_sent_at"])
    return delay


ESCALATION_BATCH = 500


def repair_cards_escalate_late(*, now: dt.datetime, batch_size: int = ESCALATION_BATCH) -> int:
    """Escalate every open card past its promised time that nobody reported, once per promised time.

    One indexed query for due cards without a delay row for their current
    promised time; rows are claimed under ``SKIP LOCKED`` so concurrent checks
    split the work, and the unique (card, promised_at) makes a rerun, a late
    run or a concurrent run escalate each promised time exactly once. Notices
    carry a unique ``dedupe_key`` as well, and name the delay row only: the
    outbox renders them when it sends them (``repairs/notices.py``).
    """
    escalated = 0
    while True:
        with transaction.atomic():
            answered = RepairCardDelay.objects.filter(card=OuterRef("pk"), promised_at=OuterRef("promised_at"))
            due = list(
                RepairCard.objects.filter(status__in=RepairCard.OPEN, promised_at__lt=now)
                .exclude(Exists(answered))
                .order_by("promised_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", "unit_id", "promised_at")[:batch_size]
            )
            if not due:
                return escalated
            created = []
            for card_id, unit_id, promised_at in due:
                try:
                    with transaction.atomic():
                        created.append(
                            RepairCardDelay.objects.create(
                                card_id=card_id, unit_id=unit_id, promised_at=promised_at, escalated_at=now
                            )
                        )
                except IntegrityError:  # reported or escalated a moment ago by someone else
                    continue
            escalated += len(created)
            supervisors = _supervisors_of(d.unit_id for d in created)
            # Rendered when delivered (repairs/notices.py): the notice names the delay row.
            notifications_queue(
                notices=[
                    Notification(
                        dedupe_key=f"repair-card-late:{delay.card_id}:{int(delay.promised_at.timestamp())}:{sup.pk}",
                        recipient=sup,
                        to_email=sup.email,
                        kind=CARD_LATE,
                        object_id=delay.pk,
                    )
                    for delay in created
                    for sup in supervisors.get(delay.unit_id, [])
                ]
            )
        if len(due) < batch_size:
            return escalated
