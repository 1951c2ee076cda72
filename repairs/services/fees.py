"""Clause 十: fees collected on site, handed over to the clerk, and the unit's on-site limit."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import (
    DEFAULT_HANDOVER_DAYS,
    DEFAULT_ONSITE_FEE_LIMIT,
    FeeCollection,
    ServiceVoucher,
    UnitFeePolicy,
)
from .calls import _require

CENT = Decimal("0.01")


@dataclass(frozen=True)
class FeePolicy:
    onsite_fee_limit: Decimal
    handover_days: int


def fee_policy_for(*, unit_id: int) -> FeePolicy:
    """The unit's own row, else the company default row, else the standard's value (500 yuan)."""
    rows = {
        row.unit_id: row
        for row in UnitFeePolicy.objects.filter(Q(unit_id=unit_id) | Q(unit__isnull=True)).only(
            "unit_id", "onsite_fee_limit", "handover_days"
        )
    }
    row = rows.get(unit_id) or rows.get(None)
    if row is None:
        return FeePolicy(DEFAULT_ONSITE_FEE_LIMIT, DEFAULT_HANDOVER_DAYS)
    return FeePolicy(row.onsite_fee_limit, row.handover_days)


def settlement_for(*, voucher: ServiceVoucher) -> str:
    """Nothing due: nothing to settle; up to the limit: collect on site; above it: the clerk invoices."""
    # Free service owes only its consumables (parts not free under warranty, issue 14); nothing due, nothing to settle.
    if voucher.total_due <= 0:
        return ServiceVoucher.Settlement.NONE
    if voucher.total_due <= fee_policy_for(unit_id=voucher.unit_id).onsite_fee_limit:
        return ServiceVoucher.Settlement.ON_SITE
    return ServiceVoucher.Settlement.INVOICE


@transaction.atomic
def fee_collection_record(
    *,
    user,
    voucher_id: int,
    amount: Decimal,
    receipt_number: str,
    collected_at: dt.datetime | None = None,
) -> FeeCollection:
    """The technician records the cash collected for a signed voucher, with the receipt's number. Once."""
    # The voucher's row lock serialises two submits of the same form: the second sees the first's fee.
    voucher = lock_for_update(ServiceVoucher.objects.all(), pk=voucher_id)
    _require(user, "repairs.fill_voucher", unit_id=voucher.unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and voucher.technician_id != user.pk:
        raise ApplicationError(_("Only the technician who made the visit records its fee."))
    existing = FeeCollection.objects.filter(voucher_id=voucher.pk).first()
    if existing is not None:
        raise ApplicationError(
            _("The fee for voucher %(number)s is already recorded (receipt %(receipt)s, %(amount)s yuan).")
            % {"number": voucher.number, "receipt": existing.receipt_number, "amount": existing.amount}
        )
    if voucher.status != ServiceVoucher.Status.SIGNED:
        raise ApplicationError(_("Only a signed voucher that has not been corrected can have a fee recorded."))
    if voucher.settlement == ServiceVoucher.Settlement.NONE:
        raise ApplicationError(_("This service is free: there is no fee to collect."))
    if voucher.settlement == ServiceVoucher.Settlement.INVOICE:
        raise ApplicationError(
            _("The amount is above the unit's on-site limit: the clerk invoices this service instead.")
        )
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ApplicationError(_("Enter the amount collected."), field="amount")
    if amount < 0:
        raise ApplicationError(_("A fee cannot be negative."), field="amount")
    if amount == 0:
        raise ApplicationError(_("Enter the amount collected (more than zero)."), field="amount")
    if amount != amount.quantize(CENT):
        raise ApplicationError(_("Amounts have at most two decimals (fen)."), field="amount")
    if amount > voucher.total_due:
        raise ApplicationError(
            _("The fee cannot exceed the voucher's total of %(total)s yuan.") % {"total": voucher.total_due},
            field="amount",
        )
    receipt_number = (receipt_number or "").strip()
    if not receipt_number:
        raise ApplicationError(_("Enter the receipt number."), field="receipt_number")
    if FeeCollection.objects.filter(unit_id=voucher.unit_id, receipt_number=receipt_number).exists():
        raise ApplicationError(
            _("Receipt number %(receipt)s is already used in this unit.") % {"receipt": receipt_number},
            field="receipt_number",
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            fee = FeeCollection.objects.create(
                voucher=voucher,
                unit_id=voucher.unit_id,
                technician=voucher.technician,
                amount=amount,
                receipt_number=receipt_number,
                collected_at=collected_at or now,
            )
    except IntegrityError:  # a concurrent submit won the race the lock did not cover (e.g. the receipt number)
        raise ApplicationError(_("This fee or receipt number was recorded a moment ago; reload the page.")) from None
    record_status_change(
        instance=fee,
        from_status="",
        to_status=fee.status,
        by=user,
        note=_("Receipt %(receipt)s, %(amount)s yuan") % {"receipt": receipt_number, "amount": amount},
    )
    return fee


@transaction.atomic
def fee_collection_confirm_handover(*, user, fee_id: int, now: dt.datetime | None = None) -> FeeCollection:
    """The clerk confirms the technician handed the cash over."""
    fee = lock_for_update(FeeCollection.objects.all(), pk=fee_id)
    _require(user, "repairs.invoice_voucher", unit_id=fee.unit_id)
    if fee.status == FeeCollection.Status.HANDED_OVER:
        raise ApplicationError(
            _("The hand-over of receipt %(receipt)s was already confirmed.") % {"receipt": fee.receipt_number}
        )
    if fee.technician_id == user.pk:
        raise ApplicationError(_("Another person must confirm receiving the money you collected."))
    fee.handed_over_at = now or timezone.now()
    fee.received_by = user
    apply_transition(
        instance=fee,
        to_status=FeeCollection.Status.HANDED_OVER,
        by=user,
        fields=["handed_over_at", "received_by"],
        at=fee.handed_over_at,
    )
    return fee
