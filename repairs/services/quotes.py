"""Charged carry-in repairs (DOMAIN 2–3): the quote, the customer's approval, the fee at hand-back, bench parts.

A quote lists catalogue parts and labour, priced like a voucher (catalogue prices, a supervisor may move them
within the tolerance). The customer approves it by signing on the screen or on the phone (recorded: who took
the call, when, the customer's name). An approved quote's fee is collected by the clerk when the product is
handed back against the pickup receipt; ``register_entry_release`` refuses to let the product go while it is
unpaid, unless a supervisor released it with a reason.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parts.models import Part, StockMovement
from parts.services import UseLine, part_price_checked, part_use
from servicedesk.exceptions import ApplicationError
from servicedesk.numbering import next_number
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import RepairCard, RepairCardFee, RepairCardPart, RepairQuote, RepairQuoteLine
from ..signatures import signature_png_checked
from .calls import _require
from .fees import fee_receipt_number_next

CENT = Decimal("0.01")
MAX_QUOTE_LINES = 30


@dataclass(frozen=True)
class QuoteLine:
    part_id: int
    quantity: int
    unit_price: Decimal | None = None  # None: the catalogue's price


def _open_card(*, user, card_id: int) -> RepairCard:
    card = lock_for_update(RepairCard.objects.all(), pk=card_id)
    _require(user, "repairs.open_carry_in", unit_id=card.unit_id)
    if not card.is_open and card.status != RepairCard.Status.REPAIRED:
        raise ApplicationError(_("The product is back with the customer: the card is closed."))
    return card


def _priced_lines(*, user, unit_id: int, lines: list[QuoteLine]) -> list[RepairQuoteLine]:
    if len(lines) > MAX_QUOTE_LINES:
        raise ApplicationError(_("At most %(count)d parts on one quote.") % {"count": MAX_QUOTE_LINES})
    parts = Part.objects.in_bulk([line.part_id for line in lines])
    priced = []
    for line in lines:
        part = parts.get(line.part_id)
        if part is None or not part.is_active:
            raise ApplicationError(_("Choose a part from the catalogue."), field="parts")
        if not isinstance(line.quantity, int) or line.quantity < 1 or line.quantity > 9999:
            raise ApplicationError(_("A part's quantity must be at least 1."), field="parts")
        price = part_price_checked(user=user, part=part, unit_id=unit_id, unit_price=line.unit_price)
        priced.append(RepairQuoteLine(part=part, quantity=line.quantity, unit_price=price))
    return priced


@transaction.atomic
def repair_quote_save(
    *,
    user,
    card_id: int,
    labour_charge: Decimal,
    lines: list[QuoteLine],
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> RepairQuote:
    """Write (or rewrite) the card's quote while the customer has not approved it; a declined one is revised."""
    card = _open_card(user=user, card_id=card_id)
    now = now or timezone.now()
    if labour_charge is None or not labour_charge.is_finite() or labour_charge < 0:
        raise ApplicationError(_("The labour charge cannot be negative."), field="labour_charge")
    if labour_charge != labour_charge.quantize(CENT):
        raise ApplicationError(_("Amounts have at most two decimals (fen)."), field="labour_charge")
    priced = _priced_lines(user=user, unit_id=card.unit_id, lines=list(lines))
    total = labour_charge + sum((line.line_total for line in priced), Decimal("0"))
    if total <= 0:
        raise ApplicationError(_("A quote charges something: add labour or parts."), field="labour_charge")
    quote = RepairQuote.objects.select_for_update().filter(card=card).first()
    if quote is None:
        quote = RepairQuote.objects.create(
            number=next_number(series="QT", at=now),
            unit_id=card.unit_id,
            card=card,
            labour_charge=labour_charge,
            total=total,
            created_by=user,
            created_at=now,
            updated_at=now,
        )
        record_status_change(instance=quote, from_status="", to_status=quote.status, by=user, at=now)
    else:
        if expected_version is not None and quote.version != expected_version:
            raise ApplicationError(
                _("Quote %(number)s was changed by someone else a moment ago. Reload and try again.")
                % {"number": quote.number}
            )
        if quote.status == RepairQuote.Status.APPROVED:
            raise ApplicationError(_("The customer approved this quote: it can no longer be changed."))
        if quote.status == RepairQuote.Status.DECLINED:
            apply_transition(instance=quote, to_status=RepairQuote.Status.DRAFT, by=user, note=_("Quote revised"))
        quote.labour_charge = labour_charge
        quote.total = total
        quote.version += 1
        quote.updated_at = now
        quote.save(update_fields=["labour_charge", "total", "version", "updated_at"])
        quote.lines.all().delete()
    for line in priced:
        line.quote = quote
    RepairQuoteLine.objects.bulk_create(priced)
    return quote


def _lock_draft_quote(*, card_id: int, expected_version: int | None) -> RepairQuote:
    quote = RepairQuote.objects.filter(card_id=card_id).first()
    if quote is None:
        raise ApplicationError(_("The card has no quote yet."))
    quote = lock_for_update(RepairQuote.objects.all(), pk=quote.pk)
    if quote.status != RepairQuote.Status.DRAFT:
        raise ApplicationError(
            _("Quote %(number)s is %(status)s.") % {"number": quote.number, "status": quote.get_status_display()}
        )
    if expected_version is not None and quote.version != expected_version:
        raise ApplicationError(
            _("Quote %(number)s was changed a moment ago: show the customer the new quote.") % {"number": quote.number}
        )
    return quote


@transaction.atomic
def repair_quote_approve_signed(
    *,
    user,
    card_id: int,
    signature_png: bytes,
    approved_by_name: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> RepairQuote:
    """The customer signs the quote on the screen."""
    quote = _lock_draft_quote(card_id=card_id, expected_version=expected_version)
    _require(user, "repairs.open_carry_in", unit_id=quote.unit_id)
    name = (approved_by_name or "").strip()
    if not name:
        raise ApplicationError(_("Enter the name of the person who signs."), field="approved_by_name")
    quote.approval_signature_png = signature_png_checked(signature_png)
    return _approve(user=user, quote=quote, kind=RepairQuote.Approval.SIGNATURE, name=name, now=now)


@transaction.atomic
def repair_quote_approve_by_phone(
    *,
    user,
    card_id: int,
    approved_by_name: str,
    approved_at: dt.datetime | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> RepairQuote:
    """The customer approved the quote on the phone: who took the call (the user), when, who approved."""
    quote = _lock_draft_quote(card_id=card_id, expected_version=expected_version)
    _require(user, "repairs.open_carry_in", unit_id=quote.unit_id)
    name = (approved_by_name or "").strip()
    if not name:
        raise ApplicationError(_("Enter the name of the customer who approved."), field="approved_by_name")
    now = now or timezone.now()
    if approved_at is not None and (approved_at > now + dt.timedelta(minutes=5) or approved_at < quote.created_at):
        raise ApplicationError(_("The time of the call must lie between the quote and now."), field="approved_at")
    return _approve(user=user, quote=quote, kind=RepairQuote.Approval.PHONE, name=name, now=approved_at or now)


def _approve(*, user, quote: RepairQuote, kind: str, name: str, now) -> RepairQuote:
    quote.approval_kind = kind
    quote.approved_by_name = name[:100]
    quote.approved_at = now or timezone.now()
    quote.approval_recorded_by = user
    apply_transition(
        instance=quote,
        to_status=RepairQuote.Status.APPROVED,
        by=user,
        note=_("%(how)s by %(name)s, %(total)s yuan")
        % {"how": quote.get_approval_kind_display(), "name": quote.approved_by_name, "total": quote.total},
        fields=["approval_kind", "approved_by_name", "approved_at", "approval_recorded_by", "approval_signature_png"],
        at=quote.approved_at,
    )
    return quote


@transaction.atomic
def repair_quote_decline(*, user, card_id: int, note: str = "") -> RepairQuote:
    quote = _lock_draft_quote(card_id=card_id, expected_version=None)
    _require(user, "repairs.open_carry_in", unit_id=quote.unit_id)
    apply_transition(instance=quote, to_status=RepairQuote.Status.DECLINED, by=user, note=(note or "").strip()[:300])
    return quote


def quote_unpaid(card: RepairCard) -> RepairQuote | None:
    """The card's approved quote when its fee is not collected and no supervisor released it; else None."""
    quote = RepairQuote.objects.filter(card_id=card.pk, status=RepairQuote.Status.APPROVED).first()
    if quote is None or quote.unpaid_release_at is not None:
        return None
    if RepairCardFee.objects.filter(card_id=card.pk).exists():
        return None
    return quote


@transaction.atomic
def repair_card_fee_record(*, user, card_id: int, amount: Decimal, now: dt.datetime | None = None) -> RepairCardFee:
    """The clerk collects the approved quote's fee at hand-back, against the pickup receipt. Once per card.

    A sibling of ``fee_collection_record`` (a voucher's fee): the carry-in's fee belongs to the repair card. Its
    receipt number comes from the unit's receipt series, the same series as the vouchers' fees (DOMAIN 2).
    """
    card = lock_for_update(RepairCard.objects.select_related("register_entry", "unit"), pk=card_id)
    _require(user, "repairs.manage_register", unit_id=card.unit_id)
    existing = RepairCardFee.objects.filter(card_id=card.pk).first()
    if existing is not None:
        raise ApplicationError(
            _("The fee for card %(card)s is already recorded (receipt %(receipt)s, %(amount)s yuan).")
            % {"card": card.number, "receipt": existing.receipt_number, "amount": existing.amount}
        )
    quote = RepairQuote.objects.filter(card_id=card.pk, status=RepairQuote.Status.APPROVED).first()
    if quote is None:
        raise ApplicationError(_("The card has no approved quote: there is no fee to collect."))
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(CENT):
        raise ApplicationError(_("Enter the amount collected."), field="amount")
    if amount != quote.total:
        raise ApplicationError(
            _("The fee is the approved quote's total of %(total)s yuan.") % {"total": quote.total}, field="amount"
        )
    collected_at = now or timezone.now()
    fee = RepairCardFee.objects.create(
        card=card,
        quote=quote,
        unit_id=card.unit_id,
        amount=amount,
        receipt_number=fee_receipt_number_next(unit=card.unit, at=collected_at),
        collected_by=user,
        collected_at=collected_at,
    )
    record_status_change(
        instance=card,
        from_status=card.status,
        to_status=card.status,
        by=user,
        note=_("Fee of quote %(quote)s collected: %(amount)s yuan, receipt %(receipt)s (pickup receipt %(pickup)s)")
        % {
            "quote": quote.number,
            "amount": amount,
            "receipt": fee.receipt_number,
            "pickup": card.register_entry.receipt_number,
        },
    )
    return fee


@transaction.atomic
def repair_quote_release_unpaid(*, user, card_id: int, reason: str) -> RepairQuote:
    """A supervisor lets the product go back with its approved quote unpaid; the reason is recorded."""
    card = lock_for_update(RepairCard.objects.all(), pk=card_id)
    _require(user, "repairs.supervise_repairs", unit_id=card.unit_id)
    quote = quote_unpaid(card)
    if quote is None:
        raise ApplicationError(_("Nothing is unpaid on this card."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the reason."), field="reason")
    quote = lock_for_update(RepairQuote.objects.all(), pk=quote.pk)
    quote.unpaid_release_by = user
    quote.unpaid_release_at = timezone.now()
    quote.unpaid_release_reason = reason[:300]
    quote.version += 1
    quote.save(update_fields=["unpaid_release_by", "unpaid_release_at", "unpaid_release_reason", "version"])
    record_status_change(
        instance=quote,
        from_status=quote.status,
        to_status=quote.status,
        by=user,
        note=_("Released unpaid: %(reason)s") % {"reason": quote.unpaid_release_reason},
    )
    return quote


@transaction.atomic
def repair_card_part_use(
    *, user, card_id: int, part_id: int, quantity: int, now: dt.datetime | None = None
) -> RepairCardPart:
    """A catalogue part used on the bench: out of the van of the technician who used it, at once."""
    card = _open_card(user=user, card_id=card_id)
    if card.status == RepairCard.Status.REPAIRED:
        raise ApplicationError(_("The card is repaired: no more parts are used on it."))
    part = Part.objects.filter(pk=part_id, is_active=True).first()
    if part is None:
        raise ApplicationError(_("Choose a part from the catalogue."), field="part")
    if not isinstance(quantity, int) or quantity < 1 or quantity > 9999:
        raise ApplicationError(_("A part's quantity must be at least 1."), field="quantity")
    now = now or timezone.now()
    part_use(
        user=user,
        technician_id=user.pk,
        lines=[UseLine(part_id=part.pk, quantity=quantity)],
        reference_kind=StockMovement.Reference.REPAIR_CARD,
        reference_id=card.pk,
        reference_text=card.number,
        now=now,
    )
    return RepairCardPart.objects.create(
        card=card, part=part, quantity=quantity, unit_price=part.unit_price, used_by=user, used_at=now
    )
