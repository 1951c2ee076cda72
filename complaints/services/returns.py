"""Returns and allowances of a case: the warehouse checks, a mismatch blocks posting, accounting posts."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.bounds import require_fits
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import CaseCost, ComplaintCase, ReturnAllowance
from .cases import case_visible_to

R = ReturnAllowance.Status
CENT = Decimal("0.01")
QUANTITY = Decimal("0.001")


def _decimal(value, *, field_name: str, step: Decimal) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(step)
    except (InvalidOperation, ValueError, TypeError):
        raise ApplicationError(_("Enter a number."), field=field_name) from None
    if not number.is_finite() or number < 0 or number >= Decimal("1e9"):
        raise ApplicationError(_("Enter a number of zero or more."), field=field_name)
    return number


def _case_for(*, user, case_id: int, perm: str) -> ComplaintCase:
    case = lock_for_update(ComplaintCase.objects.all(), pk=case_id)
    if not user.has_perm(perm) or not case_visible_to(user=user, case=case):
        raise ApplicationError(_("You are not allowed to do this."))
    return case


def _return_for(*, user, return_id: int, perm: str) -> ReturnAllowance:
    item = lock_for_update(ReturnAllowance.objects.select_related("case"), pk=return_id)
    if not user.has_perm(perm) or not case_visible_to(user=user, case=item.case):
        raise ApplicationError(_("You are not allowed to do this."))
    return item


def slip_mismatches(item: ReturnAllowance) -> list[str]:
    """What does not agree: the counted quantity with the slip, the slip's amount with quantity × unit price."""
    problems = []
    if item.kind == ReturnAllowance.Kind.RETURN and item.returned_quantity != item.slip_quantity:
        problems.append(
            _("returned %(counted)s, the slip says %(slip)s")
            % {"counted": item.returned_quantity, "slip": item.slip_quantity}
        )
    expected = (item.slip_quantity * item.unit_price).quantize(CENT)
    if item.slip_amount != expected:
        problems.append(
            _("the slip's amount %(amount)s is not %(quantity)s × %(price)s = %(expected)s")
            % {
                "amount": item.slip_amount,
                "quantity": item.slip_quantity,
                "price": item.unit_price,
                "expected": expected,
            }
        )
    return problems


@transaction.atomic
def return_allowance_record(
    *,
    user,
    case_id: int,
    kind: str,
    invoice_number: str,
    item: str,
    slip_quantity,
    unit_price,
    slip_amount,
    return_slip_number: str = "",
    receivable_affected: bool = False,
    salesperson=None,
) -> ReturnAllowance:
    """Sales records a return (goods come back, the warehouse checks them) or a price allowance."""
    case = _case_for(user=user, case_id=case_id, perm="complaints.work_case")
    if kind not in ReturnAllowance.Kind.values:
        raise ApplicationError(_("Choose return or allowance."), field="kind")
    invoice_number = (invoice_number or "").strip()
    if not invoice_number:
        raise ApplicationError(_("Give the original invoice number."), field="invoice_number")
    item_text = (item or "").strip()
    if not item_text:
        raise ApplicationError(_("Say what is returned or allowed."), field="item")
    if receivable_affected and salesperson is None:
        raise ApplicationError(_("Name the salesperson whose receivable is affected."), field="salesperson")
    now = timezone.now()
    record = ReturnAllowance.objects.create(
        case=case,
        kind=kind,
        invoice_number=invoice_number[:64],
        return_slip_number=(return_slip_number or "").strip()[:64],
        item=item_text[:200],
        slip_quantity=_decimal(slip_quantity, field_name="slip_quantity", step=QUANTITY),
        unit_price=_decimal(unit_price, field_name="unit_price", step=CENT),
        slip_amount=_decimal(slip_amount, field_name="slip_amount", step=CENT),
        receivable_affected=receivable_affected,
        salesperson=salesperson if receivable_affected else None,
        recorded_by=user,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=record, from_status="", to_status=record.status, by=user, at=now)
    if kind == ReturnAllowance.Kind.ALLOWANCE:
        # No goods come back: the slip only has to agree with itself.
        record.returned_quantity = record.accepted_quantity = record.slip_quantity
        _settle_check(record=record, user=user, now=now, note=_("Allowance: no goods to count."))
    return record


def _settle_check(*, record: ReturnAllowance, user, now, note: str = "") -> None:
    problems = slip_mismatches(record)
    amount = (record.accepted_quantity * record.unit_price).quantize(CENT)
    require_fits(ReturnAllowance._meta.get_field("amount"), amount, field="accepted_quantity")
    record.amount = amount
    record.mismatch_note = "; ".join(problems)
    record.checked_by, record.checked_at = user, now
    fields = ["returned_quantity", "accepted_quantity", "amount", "mismatch_note", "checked_by", "checked_at"]
    apply_transition(
        instance=record, to_status=R.MISMATCH if problems else R.CHECKED, by=user, note=note, fields=fields, at=now
    )


@transaction.atomic
def return_allowance_check(
    *, user, return_id: int, returned_quantity, accepted_quantity, note: str = ""
) -> ReturnAllowance:
    """The warehouse counts what actually came back against the return slip and what it accepts."""
    record = _return_for(user=user, return_id=return_id, perm="complaints.check_returns")
    if record.status not in (R.RECORDED, R.MISMATCH):
        raise ApplicationError(_("This has been checked already."))
    record.returned_quantity = _decimal(returned_quantity, field_name="returned_quantity", step=QUANTITY)
    record.accepted_quantity = _decimal(accepted_quantity, field_name="accepted_quantity", step=QUANTITY)
    if record.accepted_quantity > record.returned_quantity:
        raise ApplicationError(_("More cannot be accepted than came back."), field="accepted_quantity")
    _settle_check(record=record, user=user, now=timezone.now(), note=(note or "").strip())
    return record


@transaction.atomic
def return_allowance_resolve(*, user, return_id: int, slip_quantity, slip_amount, note: str) -> ReturnAllowance:
    """A mismatch is resolved by correcting the slip (with the reason); only an agreeing slip can be posted."""
    record = _return_for(user=user, return_id=return_id, perm="complaints.work_case")
    if record.status != R.MISMATCH:
        raise ApplicationError(_("There is no mismatch to resolve."))
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("Say how the mismatch was resolved."), field="note")
    record.slip_quantity = _decimal(slip_quantity, field_name="slip_quantity", step=QUANTITY)
    record.slip_amount = _decimal(slip_amount, field_name="slip_amount", step=CENT)
    record.save(update_fields=["slip_quantity", "slip_amount"])
    _settle_check(record=record, user=user, now=timezone.now(), note=note)
    return record


@transaction.atomic
def return_allowance_post(*, user, return_id: int, voucher_number: str) -> ReturnAllowance:
    """Accounting posts the voucher; the original invoice is annotated. A mismatch blocks this."""
    record = _return_for(user=user, return_id=return_id, perm="complaints.post_returns")
    if record.status in (R.RECORDED, R.MISMATCH):
        raise ApplicationError(
            _("The warehouse check does not agree with the return slip yet; resolve it before posting.")
            if record.status == R.MISMATCH
            else _("The warehouse has not checked the returned quantity yet.")
        )
    voucher_number = (voucher_number or "").strip()
    if not voucher_number:
        raise ApplicationError(_("Give the accounting voucher number."), field="voucher_number")
    # The case's loss adds up what is posted of each kind: the sum must fit an amount's column too.
    posted = record.case.returns.filter(status=R.POSTED, kind=record.kind).aggregate(total=Sum("amount"))["total"]
    require_fits(ReturnAllowance._meta.get_field("amount"), (posted or 0) + record.amount)
    now = timezone.now()
    record.voucher_number = voucher_number[:64]
    record.posted_by, record.posted_at = user, now
    record.invoice_note = _(
        "Complaint case %(case)s: returned quantity %(returned)s, unit price %(price)s, amount %(amount)s, "
        "accepted quantity %(accepted)s; voucher %(voucher)s."
    ) % {
        "case": record.case.number,
        "returned": record.returned_quantity,
        "price": record.unit_price,
        "amount": record.amount,
        "accepted": record.accepted_quantity,
        "voucher": record.voucher_number,
    }
    apply_transition(
        instance=record,
        to_status=R.POSTED,
        by=user,
        at=now,
        fields=["voucher_number", "posted_by", "posted_at", "invoice_note"],
    )
    return record


@transaction.atomic
def case_cost_record(*, user, case_id: int, description: str, amount) -> CaseCost:
    """Another cost of the complaint (freight, travel, rework) that counts towards its loss."""
    case = _case_for(user=user, case_id=case_id, perm="complaints.work_case")
    description = (description or "").strip()
    if not description:
        raise ApplicationError(_("Say what the cost was."), field="description")
    return CaseCost.objects.create(
        case=case,
        description=description[:200],
        amount=_decimal(amount, field_name="amount", step=CENT),
        recorded_by=user,
    )
