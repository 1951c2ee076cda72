"""Inbound e-mail → the same services the desk uses (issue 15). The mailbox adapter (``mailbox.py``) hands each
message here as bytes; nothing here talks to the network.

- A known sender (the address of exactly one customer, who has exactly one site) becomes a repair call through
  ``repair_call_log`` with channel "e-mail", received at the time the mailbox received it (DOMAIN 1: the true
  time, so a message read late is logged late).
- A subject carrying a call's or a complaint case's number records the message on that record's history.
- Anyone else waits in the "to be matched" queue; a dispatcher picks the customer, site and product and the
  message becomes a call through the same ``repair_call_log`` (``inbound_message_match``).
- What cannot be read, or is larger than the bound, waits in quarantine with the reason, its bytes kept.

Each message is handled once: ``dedupe_key`` is unique, so a message fetched twice, or by two runs at once,
is written by one transaction only; the other finds it done (or fails on the key and does nothing).
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import ComplaintCase
from complaints.services.attachments import max_attachment_bytes, sniff_type
from repairs.models import Customer, Product, RepairCall, Site
from repairs.services import repair_call_log
from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.uploads import UploadRefused, checked_file_name, checked_image_size, inbound_message_max_bytes
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from .models import InboundAttachment, InboundMessage
from .parsing import Parsed, Unreadable, dedupe_key, headers_of, parse

PRIVATE_DIR = Path("private") / "intake"
NOTE_CHARS = 1500


@dataclass(frozen=True)
class Fetched:
    """One message as the mailbox gave it: its bytes (the header only when it is too large), size and arrival."""

    raw: bytes
    size: int
    received_at: dt.datetime
    folder: str = ""
    uid: int | None = None

    @property
    def too_large(self) -> bool:
        return self.size > inbound_message_max_bytes()


def message_visible_to(*, user, message: InboundMessage) -> bool:
    """Its unit's desk and head office; a message of no unit (an unknown sender, no mailbox unit): head office."""
    if message.unit_id is None:
        return bool(user.is_authenticated and user.is_active and user.sees_all_units)
    return user_may_act_in_unit(user=user, unit_id=message.unit_id)


def private_root() -> Path:
    return Path(settings.MEDIA_ROOT) / PRIVATE_DIR


def attachment_path(attachment: InboundAttachment) -> Path:
    return private_root() / attachment.stored_name  # ours (a uuid and a known extension), never the sender's


def _mailbox_unit() -> OrgUnit | None:
    """The unit whose desk sees unknown senders (SERVICEDESK_IMAP_UNIT); none: head office only."""
    code = settings.INTAKE_IMAP.get("UNIT") or ""
    return OrgUnit.objects.filter(code=code, is_active=True).first() if code else None


def inbound_message_receive(*, fetched: Fetched, now: dt.datetime | None = None) -> InboundMessage | None:
    """Handle one fetched message exactly once. Returns its row, or None when another run wrote it first.

    Never raises for the message's sake: what fails becomes a quarantined row with the reason.
    """
    now = now or timezone.now()
    received_at = min(fetched.received_at, now)  # a sender's clock is not ours; the server's arrival is
    if fetched.too_large:
        message_id, *_rest = headers_of(fetched.raw)
        key = dedupe_key(message_id=message_id, raw=fetched.raw, size=fetched.size)
        return _quarantine(
            fetched=fetched,
            key=key,
            reason=InboundMessage.Reason.TOO_LARGE,
            detail=f"{fetched.size} > {inbound_message_max_bytes()}",
            received_at=received_at,
            now=now,
        )
    try:
        parsed = parse(fetched.raw, size=fetched.size)
    except Unreadable as unreadable:
        message_id, *_rest = headers_of(fetched.raw)
        return _quarantine(
            fetched=fetched,
            key=dedupe_key(message_id=message_id, raw=fetched.raw, size=fetched.size),
            reason=unreadable.reason,
            detail=unreadable.detail,
            received_at=received_at,
            now=now,
        )
    if InboundMessage.objects.filter(dedupe_key=parsed.dedupe_key).exists():
        return None  # fetched again (the mark on the server was lost, or a second run): done already
    written = []
    try:
        with transaction.atomic():
            message = _handle(parsed=parsed, fetched=fetched, received_at=received_at, now=now, written=written)
        return message
    except IntegrityError:
        _unlink(written)
        if InboundMessage.objects.filter(dedupe_key=parsed.dedupe_key).exists():
            return None  # a concurrent run committed it first; its transaction did the work once
        return _quarantine_failed(parsed=parsed, fetched=fetched, error=_("The record could not be saved."), now=now)
    except ApplicationError as exc:  # a rule of the call refused it (a zone no longer in use...)
        _unlink(written)
        return _quarantine_failed(parsed=parsed, fetched=fetched, error=str(exc), now=now)
    except (OSError, ValueError, TypeError, LookupError) as exc:  # a file that cannot be written, a bad value
        _unlink(written)
        return _quarantine_failed(parsed=parsed, fetched=fetched, error=f"{type(exc).__name__}: {exc}", now=now)


def _quarantine_failed(*, parsed: Parsed, fetched: Fetched, error: str, now) -> InboundMessage | None:
    return _quarantine(
        fetched=fetched,
        key=parsed.dedupe_key,
        reason=InboundMessage.Reason.FAILED,
        detail=error,
        received_at=min(fetched.received_at, now),
        now=now,
        parsed=parsed,
    )


def _quarantine(*, fetched: Fetched, key: str, reason: str, detail: str, received_at, now, parsed=None):
    message_id, address, name, subject = (
        (parsed.message_id, parsed.from_address, parsed.from_name, parsed.subject)
        if parsed
        else headers_of(fetched.raw)
    )
    try:
        with transaction.atomic():
            message, created = InboundMessage.objects.get_or_create(
                dedupe_key=key,
                defaults={
                    "message_id": message_id[:300],
                    "from_address": address[:254],
                    "from_name": name[:200],
                    "subject": subject[:300],
                    "received_at": received_at,
                    "size": fetched.size,
                    "folder": fetched.folder[:200],
                    "uid": fetched.uid,
                    "status": InboundMessage.Status.QUARANTINED,
                    "unit": _mailbox_unit(),
                    "quarantine_reason": reason,
                    "quarantine_detail": (detail or "")[:2000],
                    "raw": fetched.raw[: inbound_message_max_bytes()],
                    "processed_at": now,
                },
            )
    except IntegrityError:  # written by a concurrent run between the look-up and the insert
        return None
    return message if created else None


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _handle(*, parsed: Parsed, fetched: Fetched, received_at, now, written: list) -> InboundMessage:
    message = InboundMessage(
        dedupe_key=parsed.dedupe_key,
        message_id=parsed.message_id,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        subject=parsed.subject,
        body=parsed.body,
        received_at=received_at,
        size=fetched.size,
        folder=fetched.folder[:200],
        uid=fetched.uid,
        processed_at=now,
    )
    # The key first: a concurrent run holding the same message waits here for this one's commit, then fails.
    message.status = InboundMessage.Status.TO_MATCH
    message.save()
    if not _record_reply(message=message, parsed=parsed, now=now):
        customers = list(Customer.objects.filter(email__iexact=parsed.from_address).order_by("pk")[:2])
        sites = list(Site.objects.filter(customer=customers[0]).order_by("pk")[:2]) if len(customers) == 1 else []
        if len(customers) == 1 and len(sites) == 1:
            customer, site = customers[0], sites[0]
            call = repair_call_log(
                user=None,
                unit=customer.unit,
                received_at=received_at,
                contact_name=(parsed.from_name or customer.name)[:100],
                contact_phone=customer.phone,
                problem=problem_text(parsed.subject, parsed.body),
                channel=RepairCall.Channel.EMAIL,
                customer=customer,
                site=site,
                product=_only_product(customer=customer, site=site),
                now=now,
            )
            message.status, message.customer, message.call, message.unit_id = (
                InboundMessage.Status.CALL_LOGGED,
                customer,
                call,
                call.unit_id,
            )
        elif len(customers) == 1:
            message.customer, message.unit_id = customers[0], customers[0].unit_id
            message.match_reason = InboundMessage.Match.CHOOSE_SITE
        else:
            message.unit = _mailbox_unit()
            message.match_reason = (
                InboundMessage.Match.SEVERAL_CUSTOMERS if customers else InboundMessage.Match.UNKNOWN_SENDER
            )
    message.save(update_fields=["status", "customer", "call", "case", "unit", "match_reason"])
    for attachment in parsed.attachments:
        _keep_attachment(message=message, attachment=attachment, written=written)
    return message


def problem_text(subject: str, body: str) -> str:
    text = "\n\n".join(part for part in (subject.strip(), body.strip()) if part)
    return text[:2000] or _("(empty e-mail)")


def _only_product(*, customer: Customer, site: Site) -> Product | None:
    products = list(Product.objects.filter(customer=customer, site=site).order_by("pk")[:2])
    return products[0] if len(products) == 1 else None


def _record_reply(*, message: InboundMessage, parsed: Parsed, now) -> bool:
    """The subject names a call or a case: the message goes on its history (who wrote, what), nothing else."""
    named = parsed.number
    if named is None:
        return False
    series, number = named
    model = RepairCall if series == "RC" else ComplaintCase
    target_id = model.objects.filter(number=number).values_list("pk", flat=True).first()
    if target_id is None:
        return False
    target = lock_for_update(model.objects.all(), pk=target_id)
    note = _("E-mail from %(sender)s: %(text)s") % {
        "sender": parsed.from_address,
        "text": problem_text(parsed.subject, parsed.body)[:NOTE_CHARS],
    }
    # A note on the history with the status unchanged, like a reassignment's: the record's own timeline.
    record_status_change(
        instance=target, from_status=target.status, to_status=target.status, by=None, at=now, note=note
    )
    message.status = InboundMessage.Status.REPLY
    message.unit_id = target.unit_id
    message.customer_id = target.customer_id
    if model is RepairCall:
        message.call = target
    else:
        message.case = target
    return True


def _keep_attachment(*, message: InboundMessage, attachment, written: list) -> InboundAttachment:
    """The complaint attachments' rules (servicedesk.uploads): a plain name, the size limit, JPEG/PNG/PDF by
    content, a picture's pixels bounded from its header. A refused file is recorded with the reason."""
    name = (attachment.name or "").strip()
    row = InboundAttachment(
        message=message, original_name=name[:200] or _("(no name)"), content_type="", size=len(attachment.payload)
    )
    try:
        checked_file_name(name)
        limit = max_attachment_bytes()
        if len(attachment.payload) > limit:
            raise UploadRefused(_("The file is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"})
        extension, content_type = sniff_type(name=name, head=attachment.payload[:16])
        if content_type.startswith("image/"):
            checked_image_size(attachment.payload)
    except UploadRefused as refused:
        row.refused_reason = str(refused)[:300]
        row.save()
        return row
    row.content_type = content_type
    row.stored_name = f"{uuid.uuid4().hex}{extension}"
    target = private_root() / row.stored_name
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        written.append(target)
        out.write(attachment.payload)
    row.save()
    return row


@transaction.atomic
def inbound_message_match(
    *,
    user,
    message_id: int,
    customer: Customer,
    site: Site,
    product: Product | None,
    contact_name: str,
    contact_phone: str,
    problem: str,
    expected_version: int | None = None,
) -> InboundMessage:
    """A dispatcher resolves a message of the queue: it becomes a call through ``repair_call_log``, once."""
    message = lock_for_update(InboundMessage.objects.all(), pk=message_id)
    if not user.has_perm("intake.match_inboundmessage") or not message_visible_to(user=user, message=message):
        raise ApplicationError(_("You are not allowed to do this."))
    if expected_version is not None and message.version != expected_version:
        raise ApplicationError(_("Someone else matched this e-mail a moment ago. Reload the page."))
    if message.status != InboundMessage.Status.TO_MATCH:
        raise ApplicationError(_("This e-mail is not waiting to be matched."))
    call = repair_call_log(
        user=user,
        unit=customer.unit,
        received_at=message.received_at,
        contact_name=contact_name,
        contact_phone=contact_phone,
        problem=problem,
        channel=RepairCall.Channel.EMAIL,
        customer=customer,
        site=site,
        product=product,
    )
    message.customer, message.call, message.unit_id = customer, call, call.unit_id
    message.matched_by, message.matched_at = user, timezone.now()
    apply_transition(
        instance=message,
        to_status=InboundMessage.Status.MATCHED,
        by=user,
        note=call.number,
        fields=["customer", "call", "unit", "matched_by", "matched_at"],
    )
    return message
