"""Clause 十: fees collected on site, handed over to the clerk, and the unit's on-site limit."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.workflow import apply_transition, history_for, lock_for_update, record_status_change

from ..models import (
    DEFAULT_HANDOVER_DAYS,
    DEFAULT_ONSITE_FEE_LIMIT,
    FeeAdjustment,
    FeeCollection,
    ServiceVoucher,
    UnitFeePolicy,
)
from .calls import _require

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RECEIPT_SERIES = "SJ"  # 收据: the fee receipt's series, one per unit


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
    # One visit, one settlement: a correction of a visit whose fee was collected stays settled on site,
    # its difference is collected or refunded there (DOMAIN 2).
    if voucher.corrects_id and visit_has_money(voucher_id=voucher.corrects_id):
        return ServiceVoucher.Settlement.ON_SITE
    # Free service owes only its consumables (parts not free under warranty, issue 14); nothing due, nothing to settle.
    if voucher.total_due <= 0:
        return ServiceVoucher.Settlement.NONE
    if voucher.total_due <= fee_policy_for(unit_id=voucher.unit_id).onsite_fee_limit:
        return ServiceVoucher.Settlement.ON_SITE
    return ServiceVoucher.Settlement.INVOICE


@dataclass(frozen=True)
class FeeAccount:
    """What a visit's customer owes and has settled, from its current voucher's money rows.

    balance = total − collected + refunded − written off; never negative (the services keep it so).
    """

    total: Decimal
    collected: Decimal = ZERO
    refunded: Decimal = ZERO
    written_off: Decimal = ZERO

    @property
    def settled(self) -> Decimal:
        return self.collected - self.refunded + self.written_off

    @property
    def balance(self) -> Decimal:
        return self.total - self.settled


def fee_account_for(*, voucher: ServiceVoucher) -> FeeAccount:
    """The account of the visit whose current voucher is ``voucher`` (two queries)."""
    total = voucher.total_due if voucher.settlement == ServiceVoucher.Settlement.ON_SITE else ZERO
    collected = FeeCollection.objects.filter(voucher_id=voucher.pk).aggregate(s=Sum("amount", default=ZERO))["s"]
    adjustments = dict(
        FeeAdjustment.objects.filter(voucher_id=voucher.pk)
        .filter(kind__in=[FeeAdjustment.Kind.REFUND, FeeAdjustment.Kind.WRITE_OFF])
        .values("kind")
        .annotate(s=Sum("amount"))
        .values_list("kind", "s")
    )
    return FeeAccount(
        total=total,
        collected=collected,
        refunded=adjustments.get(FeeAdjustment.Kind.REFUND, ZERO),
        written_off=adjustments.get(FeeAdjustment.Kind.WRITE_OFF, ZERO),
    )


def _store_balance(voucher: ServiceVoucher) -> None:
    """Keep the voucher's stored balance equal to its ledger (the rows are the truth, the column the index)."""
    account = fee_account_for(voucher=voucher)
    if account.balance < 0:  # the checks above make this impossible; the constraint would refuse it anyway
        raise ApplicationError(_("This would leave the visit with more settled than its total."))
    voucher.fee_balance = account.balance
    ServiceVoucher.objects.filter(pk=voucher.pk).update(fee_balance=account.balance)


def visit_has_money(*, voucher_id: int) -> bool:
    return (
        FeeCollection.objects.filter(voucher_id=voucher_id).exists()
        or FeeAdjustment.objects.filter(voucher_id=voucher_id).exists()
    )


def fee_receipt_number_next(*, unit, at: dt.datetime | None = None) -> str:
    """The next number of the unit's receipt series (SJ-<unit>-2026-000001); gap-free, never typed."""
    series = f"{RECEIPT_SERIES}-{unit.code}"
    if len(series) > 32:  # NumberSequence.series; a unit code that long gets its id instead
        series = f"{RECEIPT_SERIES}-U{unit.pk}"
    return next_number(series=series, at=at)


def _check_amount(amount) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ApplicationError(_("Enter the amount collected."), field="amount")
    if amount < 0:
        raise ApplicationError(_("A fee cannot be negative."), field="amount")
    if amount == 0:
        raise ApplicationError(_("Enter the amount collected (more than zero)."), field="amount")
    if amount != amount.quantize(CENT):
        raise ApplicationError(_("Amounts have at most two decimals (fen)."), field="amount")


def _lock_collectable(*, user, voucher_id: int) -> ServiceVoucher:
    # The voucher's row lock serialises everything that moves the visit's money: two submits of the same
    # form, a collection racing a write-off, a correction being signed.
    voucher = lock_for_update(ServiceVoucher.objects.select_related("unit"), pk=voucher_id)
    _require(user, "repairs.fill_voucher", unit_id=voucher.unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and voucher.technician_id != user.pk:
        raise ApplicationError(_("Only the technician who made the visit records its fee."))
    return voucher


def _collect(*, user, voucher: ServiceVoucher, amount: Decimal, kind: str, collected_at, note: str) -> FeeCollection:
    now = timezone.now()
    receipt_number = fee_receipt_number_next(unit=voucher.unit, at=collected_at or now)
    try:
        with transaction.atomic():
            fee = FeeCollection.objects.create(
                voucher=voucher,
                collected_on=voucher,
                kind=kind,
                unit_id=voucher.unit_id,
                technician=voucher.technician,
                amount=amount,
                receipt_number=receipt_number,
                collected_at=collected_at or now,
            )
    except IntegrityError:  # a concurrent submit won a race the lock did not cover
        raise ApplicationError(_("This fee was recorded a moment ago; reload the page.")) from None
    record_status_change(
        instance=fee,
        from_status="",
        to_status=fee.status,
        by=user,
        note=note % {"receipt": receipt_number, "amount": amount},
    )
    _store_balance(voucher)
    return fee


@transaction.atomic
def fee_collection_record(
    *,
    user,
    voucher_id: int,
    amount: Decimal,
    collected_at: dt.datetime | None = None,
) -> FeeCollection:
    """The technician records the visit's fee, collected for a signed voucher. Once per visit.

    The receipt number is the next of the unit's series. The fee may be below the total (a part
    payment): the rest stays as the visit's balance until collected or written off.
    """
    voucher = _lock_collectable(user=user, voucher_id=voucher_id)
    existing = FeeCollection.objects.filter(voucher_id=voucher.pk, kind=FeeCollection.Kind.FEE).first()
    if existing is not None:
        balance = fee_account_for(voucher=voucher).balance
        if existing.collected_on_id != voucher.pk:
            message = _(
                "The fee of this visit was already collected on voucher %(original)s (receipt %(receipt)s, "
                "%(amount)s yuan); correction %(number)s carries it and takes no second fee."
            )
        else:
            message = _("The fee for voucher %(number)s is already recorded (receipt %(receipt)s, %(amount)s yuan).")
        message %= {
            "number": voucher.number,
            "original": existing.collected_on.number,
            "receipt": existing.receipt_number,
            "amount": existing.amount,
        }
        if balance > 0:
            message += " " + _("Collect the balance of %(balance)s yuan instead.") % {"balance": balance}
        raise ApplicationError(message)
    _check_collectable(voucher)
    _check_amount(amount)
    account = fee_account_for(voucher=voucher)
    if amount > account.balance:
        if account.balance < voucher.total_due:
            raise ApplicationError(
                _("The fee cannot exceed the balance of %(balance)s yuan.") % {"balance": account.balance},
                field="amount",
            )
        raise ApplicationError(
            _("The fee cannot exceed the voucher's total of %(total)s yuan.") % {"total": voucher.total_due},
            field="amount",
        )
    return _collect(
        user=user,
        voucher=voucher,
        amount=amount,
        kind=FeeCollection.Kind.FEE,
        collected_at=collected_at,
        note=_("Receipt %(receipt)s, %(amount)s yuan"),
    )


def _check_collectable(voucher: ServiceVoucher) -> None:
    if voucher.status != ServiceVoucher.Status.SIGNED:
        raise ApplicationError(_("Only a signed voucher that has not been corrected can have a fee recorded."))
    if voucher.settlement == ServiceVoucher.Settlement.NONE:
        raise ApplicationError(_("This service is free: there is no fee to collect."))
    if voucher.settlement == ServiceVoucher.Settlement.INVOICE:
        raise ApplicationError(
            _("The amount is above the unit's on-site limit: the clerk invoices this service instead.")
        )


@transaction.atomic
def fee_balance_collect(
    *,
    user,
    voucher_id: int,
    amount: Decimal,
    collected_at: dt.datetime | None = None,
) -> FeeCollection:
    """A further collection against the visit's balance (after a part payment or a correction), with its receipt."""
    voucher = _lock_collectable(user=user, voucher_id=voucher_id)
    _check_collectable(voucher)
    if not FeeCollection.objects.filter(voucher_id=voucher.pk, kind=FeeCollection.Kind.FEE).exists():
        raise ApplicationError(_("No fee is recorded for this visit yet: record the fee first."))
    _check_amount(amount)
    balance = fee_account_for(voucher=voucher).balance
    if balance <= 0:
        raise ApplicationError(_("Nothing is left to collect on this visit."))
    if amount > balance:
        raise ApplicationError(
            _("The amount cannot exceed the balance of %(balance)s yuan.") % {"balance": balance}, field="amount"
        )
    return _collect(
        user=user,
        voucher=voucher,
        amount=amount,
        kind=FeeCollection.Kind.BALANCE,
        collected_at=collected_at,
        note=_("Balance collected: receipt %(receipt)s, %(amount)s yuan"),
    )


def _reason(reason: str, *, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the reason; it is recorded."), field=field)
    return reason[:1000]


@transaction.atomic
def fee_balance_write_off(*, user, voucher_id: int, reason: str, amount: Decimal | None = None) -> FeeAdjustment:
    """A supervisor writes off a balance that will not be collected (all of it unless an amount is given)."""
    voucher = lock_for_update(ServiceVoucher.objects.all(), pk=voucher_id)
    _require(user, "repairs.fill_voucher", unit_id=voucher.unit_id)
    if not user.has_role(Role.SUPERVISOR):
        raise ApplicationError(_("Only a service supervisor can write off a balance."))
    if voucher.status != ServiceVoucher.Status.SIGNED or voucher.settlement != ServiceVoucher.Settlement.ON_SITE:
        raise ApplicationError(_("Only the balance of a signed voucher collected on site can be written off."))
    balance = fee_account_for(voucher=voucher).balance
    if balance <= 0:
        raise ApplicationError(_("Nothing is left to collect on this visit."))
    amount = balance if amount is None else amount
    _check_amount(amount)
    if amount > balance:
        raise ApplicationError(
            _("The amount cannot exceed the balance of %(balance)s yuan.") % {"balance": balance}, field="amount"
        )
    reason = _reason(reason)
    adjustment = FeeAdjustment.objects.create(
        unit_id=voucher.unit_id,
        voucher=voucher,
        made_on=voucher,
        kind=FeeAdjustment.Kind.WRITE_OFF,
        amount=amount,
        reason=reason,
        created_by=user,
    )
    record_status_change(
        instance=voucher,
        from_status=voucher.status,
        to_status=voucher.status,
        by=user,
        note=_("Balance of %(amount)s yuan written off: %(reason)s") % {"amount": amount, "reason": reason},
    )
    _store_balance(voucher)
    return adjustment


@dataclass(frozen=True)
class CorrectionEffect:
    """What signing a correction does to the visit's money: the total's change, split into its effects."""

    change: Decimal  # corrected total less the replaced voucher's total
    to_collect: Decimal = ZERO  # the total went up: more to collect
    reduced: Decimal = ZERO  # the total went down within the open balance: less to collect
    refund: Decimal = ZERO  # the total went below what was settled: handed back to the customer


def correction_effect(*, account: FeeAccount, corrected_total: Decimal) -> CorrectionEffect:
    """Pure: how a corrected total moves a visit's account (``account`` is the replaced voucher's)."""
    change = corrected_total - account.total
    if change >= 0:
        return CorrectionEffect(change=change, to_collect=change)
    refund = max(account.settled - corrected_total, ZERO)
    return CorrectionEffect(change=change, reduced=-change - refund, refund=refund)


def fees_carry_to_correction(
    *, user, original: ServiceVoucher, correction: ServiceVoucher, reason: str, at: dt.datetime
) -> list[FeeAdjustment]:
    """Signing a correction: it carries the visit's fees and adjustments (one visit, one fee).

    A changed total is an adjustment line with its reason: more to collect, less to collect (within the
    open balance) and/or a refund of what was settled above the new total. Called inside the signing's
    transaction, with both vouchers locked.
    """
    ServiceVoucher.objects.filter(pk=original.pk).update(fee_balance=ZERO)  # superseded: owes nothing itself
    if not visit_has_money(voucher_id=original.pk):
        return []
    account = fee_account_for(voucher=original)
    FeeCollection.objects.filter(voucher_id=original.pk).update(voucher=correction)
    FeeAdjustment.objects.filter(voucher_id=original.pk).update(voucher=correction)
    effect = correction_effect(account=account, corrected_total=correction.total_due)
    note = _("Fees of %(original)s carried: %(settled)s yuan settled.") % {
        "original": original.number,
        "settled": account.settled,
    }
    lines = []
    if effect.change:
        reason = _reason(reason, field="fee_difference_reason")
        if effect.refund > account.collected - account.refunded:
            raise ApplicationError(
                _("Part of this visit's fee was written off: the corrected total cannot be below %(minimum)s yuan.")
                % {"minimum": account.written_off}
            )
        for kind, amount in (
            (FeeAdjustment.Kind.COLLECT, effect.to_collect),
            (FeeAdjustment.Kind.REDUCE, effect.reduced),
            (FeeAdjustment.Kind.REFUND, effect.refund),
        ):
            if amount > 0:
                line = FeeAdjustment.objects.create(
                    unit_id=correction.unit_id,
                    voucher=correction,
                    made_on=correction,
                    kind=kind,
                    amount=amount,
                    reason=reason,
                    created_by=user,
                    created_at=at,
                )
                lines.append(line)
                note += " " + _("%(kind)s: %(amount)s yuan (%(reason)s).") % {
                    "kind": line.get_kind_display(),
                    "amount": amount,
                    "reason": reason,
                }
    record_status_change(
        instance=correction, from_status=correction.status, to_status=correction.status, by=user, note=note, at=at
    )
    _store_balance(correction)
    return lines


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
    # DOMAIN 2: neither the collector nor the recorder (a supervisor may record a technician's fee);
    # the recorder is the author of the fee's first history row.
    recorded_by_id = (
        history_for(fee).filter(from_status="").order_by("at", "id").values_list("by_id", flat=True).first()
    )
    if recorded_by_id == user.pk:
        raise ApplicationError(_("You recorded this fee; another person must confirm its hand-over."))
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
