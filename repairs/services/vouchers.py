"""Clause 九: service vouchers, signed by the customer; a signed voucher is corrected, never edited."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parts.models import Part, Stock, StockMovement
from parts.services import UseLine, part_not_held_message, part_price_checked, part_use
from servicedesk.bounds import require_fits
from servicedesk.exceptions import ApplicationError
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import RepairCall, ServiceVoucher, Visit, VoucherPart
from ..signatures import signature_png_checked
from .calls import CLOCK_TOLERANCE, _require
from .coverage import service_is_paid
from .fees import fees_carry_to_correction, settlement_for

# A voucher records a visit: the technician has arrived (the call may since be resolved or carried in).
VISITED_STATUSES = (
    RepairCall.Status.ON_SITE,
    RepairCall.Status.RESOLVED,
    RepairCall.Status.CARRIED_IN,
    # A visit that could not finish still gets its voucher and signature (before the next visit starts).
    RepairCall.Status.WAITING_PARTS,
    RepairCall.Status.REVISIT,
)
MAX_PARTS = 30


@dataclass(frozen=True)
class PartLine:
    """A part on a voucher: a catalogue part, named by ``part_id`` or its part number.

    ``unit_price`` None takes the catalogue's price; another price needs a supervisor, within the tolerance.
    """

    part_number: str
    quantity: int
    unit_price: Decimal | None = None
    description: str = ""
    part_id: int | None = None


def _check_own_visit(user, *, unit_id: int, technician_id: int | None) -> None:
    _require(user, "repairs.fill_voucher", unit_id=unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and technician_id != user.pk:
        raise ApplicationError(_("Only the technician assigned to the call can fill in its voucher."))


def _check_visit(*, arrived_at, departed_at, work_done: str, parts: list[PartLine], labour_charge: Decimal, now):
    # The arrival is the server's clock to the second; the time of leaving is typed to the minute.
    if departed_at < arrived_at.replace(second=0, microsecond=0):
        raise ApplicationError(_("The time of leaving cannot be before the arrival."), field="departed_at")
    if departed_at > now + CLOCK_TOLERANCE:
        raise ApplicationError(_("The time of leaving cannot be in the future."), field="departed_at")
    if not (work_done or "").strip():
        raise ApplicationError(_("Describe the work done."), field="work_done")
    if labour_charge is None or labour_charge < 0:
        raise ApplicationError(_("The labour charge cannot be negative."), field="labour_charge")
    if len(parts) > MAX_PARTS:
        raise ApplicationError(_("At most %(count)d parts on one voucher.") % {"count": MAX_PARTS})
    for part in parts:
        if not part.part_number.strip() and part.part_id is None:
            raise ApplicationError(_("Every part needs its part number."))
        if part.quantity < 1:
            raise ApplicationError(_("A part's quantity must be at least 1."))
        if part.unit_price is not None and part.unit_price < 0:
            raise ApplicationError(_("A part's price cannot be negative."))


def _catalogue_lines(*, user, unit_id: int, parts: list[PartLine], free: bool) -> list[VoucherPart]:
    """Voucher lines of catalogue parts, priced from the catalogue (DOMAIN 2, parts).

    On free service a part marked "free under warranty" costs nothing; a consumable keeps its price.
    """
    wanted_numbers = {p.part_number.strip() for p in parts if p.part_id is None}
    by_number = {part.part_number: part for part in Part.objects.filter(part_number__in=wanted_numbers, is_active=True)}
    by_id = Part.objects.in_bulk([p.part_id for p in parts if p.part_id is not None])
    lines = []
    for line in parts:
        part = by_id.get(line.part_id) if line.part_id is not None else by_number.get(line.part_number.strip())
        if part is None or not part.is_active:
            raise ApplicationError(
                _("Part %(part)s is not in the parts catalogue: choose a catalogue part.")
                % {"part": line.part_number.strip() or line.part_id},
                field="parts",
            )
        if free and part.warranty_free:
            price = Decimal("0.00")
        else:
            price = part_price_checked(user=user, part=part, unit_id=unit_id, unit_price=line.unit_price)
        lines.append(
            VoucherPart(
                part=part,
                part_number=part.part_number,
                description=part.name[:200],
                quantity=line.quantity,
                unit_price=price,
            )
        )
    return lines


def _price(voucher: ServiceVoucher, parts: list[PartLine], *, misuse: bool, user) -> list[VoucherPart]:
    """Cover on the visit date decides paid or free; free service has nothing due but its consumables."""
    call = voucher.call
    decision = service_is_paid(
        product=call.product,
        site=call.site,
        on=timezone.localtime(voucher.arrived_at).date(),
        misuse=misuse,
        call=call,
    )
    voucher.misuse = misuse
    voucher.cover = decision.cover
    voucher.contract_reference = decision.contract_reference
    lines = _catalogue_lines(user=user, unit_id=voucher.unit_id, parts=parts, free=not decision.is_paid)
    parts_total = sum((p.unit_price * p.quantity for p in lines), Decimal("0"))
    # Each price and quantity fits its column; their products and sum must fit the total's column too.
    require_fits(ServiceVoucher._meta.get_field("total_due"), voucher.labour_charge + parts_total)
    voucher.total_due = (voucher.labour_charge + parts_total) if decision.is_paid else parts_total
    return lines


def _save_parts(voucher: ServiceVoucher, lines: list[VoucherPart]) -> None:
    voucher.parts.all().delete()
    for line in lines:
        line.pk = None
        line.voucher = voucher
    VoucherPart.objects.bulk_create(lines)


def _check_van_holds(*, user, voucher: ServiceVoucher, lines: list[VoucherPart]) -> None:
    """Early word on the form: the van must hold the parts (they are taken when the customer signs)."""
    needed = _parts_needed(voucher=voucher, lines=lines)
    if not needed:
        return
    held = dict(
        Stock.objects.filter(technician_id=voucher.technician_id, part_id__in=list(needed)).values_list(
            "part_id", "quantity"
        )
    )
    for line in lines:
        if line.part_id in needed and needed[line.part_id] > held.get(line.part_id, 0):
            raise ApplicationError(
                part_not_held_message(
                    user=user,
                    technician=voucher.technician,
                    part=line.part,
                    wanted=needed[line.part_id],
                    held=held.get(line.part_id, 0),
                ),
                field="parts",
            )


def _parts_needed(*, voucher: ServiceVoucher, lines) -> dict[int, int]:
    """Catalogue parts this voucher takes from the van: its own, less those of the voucher it corrects."""
    needed: dict[int, int] = {}
    for line in lines:
        if line.part_id is not None:
            needed[line.part_id] = needed.get(line.part_id, 0) + line.quantity
    if voucher.corrects_id:
        for line in VoucherPart.objects.filter(voucher_id=voucher.corrects_id, part__isnull=False):
            needed[line.part_id] = needed.get(line.part_id, 0) - line.quantity
    return {part_id: q for part_id, q in needed.items() if q}


@transaction.atomic
def service_voucher_create(
    *,
    user,
    call_id: int,
    departed_at: dt.datetime,
    work_done: str,
    parts: list[PartLine] = (),
    labour_charge: Decimal = Decimal("0.00"),
    misuse: bool = False,
    now: dt.datetime | None = None,
) -> ServiceVoucher:
    """The technician records the call's current visit (a draft until the customer signs).

    Its arrival is the visit's, recorded on the server's clock (or typed by the desk, marked so):
    the technician no longer types it.
    """
    call = RepairCall.objects.select_related("product", "site").get(pk=call_id)
    _check_own_visit(user, unit_id=call.unit_id, technician_id=call.technician_id)
    if call.status not in VISITED_STATUSES:
        raise ApplicationError(_("A voucher is filled in once the technician has arrived on site."))
    visit = Visit.objects.filter(call_id=call.pk, number=call.visit_count).first()
    if visit is None:
        raise ApplicationError(_("A voucher is filled in once the technician has arrived on site."))
    arrived_at = visit.arrived_at
    now = now or timezone.now()
    parts = list(parts)
    _check_visit(
        arrived_at=arrived_at,
        departed_at=departed_at,
        work_done=work_done,
        parts=parts,
        labour_charge=labour_charge,
        now=now,
    )
    voucher = ServiceVoucher(
        number=next_number(series="SV", at=now),
        unit_id=call.unit_id,
        call=call,
        visit=visit,
        technician=visit.technician,
        arrived_at=arrived_at,
        departed_at=max(departed_at, arrived_at),
        work_done=work_done.strip(),
        labour_charge=labour_charge,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    lines = _price(voucher, parts, misuse=misuse, user=user)
    _check_van_holds(user=user, voucher=voucher, lines=lines)
    voucher.save()
    _save_parts(voucher, lines)
    record_status_change(instance=voucher, from_status="", to_status=voucher.status, by=user, at=now)
    return voucher


def _lock_draft(*, voucher_id: int, expected_version: int | None) -> ServiceVoucher:
    voucher = lock_for_update(ServiceVoucher.objects.select_related("call"), pk=voucher_id)
    if voucher.status != ServiceVoucher.Status.DRAFT:
        raise ApplicationError(
            _("Voucher %(number)s is signed and can no longer be changed; make a correction instead.")
            % {"number": voucher.number}
        )
    if expected_version is not None and voucher.version != expected_version:
        raise ApplicationError(
            _("Voucher %(number)s was changed by someone else a moment ago. Reload and try again.")
            % {"number": voucher.number}
        )
    return voucher


@transaction.atomic
def service_voucher_update(
    *,
    user,
    voucher_id: int,
    departed_at: dt.datetime,
    work_done: str,
    parts: list[PartLine] = (),
    labour_charge: Decimal = Decimal("0.00"),
    misuse: bool = False,
    expected_version: int | None = None,
) -> ServiceVoucher:
    """Change a draft voucher. A signed one is refused."""
    voucher = _lock_draft(voucher_id=voucher_id, expected_version=expected_version)
    _check_own_visit(user, unit_id=voucher.unit_id, technician_id=voucher.technician_id)
    parts = list(parts)
    arrived_at = voucher.arrived_at  # the visit's arrival, not the technician's to change
    _check_visit(
        arrived_at=arrived_at,
        departed_at=departed_at,
        work_done=work_done,
        parts=parts,
        labour_charge=labour_charge,
        now=timezone.now(),
    )
    amounts_before = (voucher.labour_charge, voucher.total_due)
    voucher.departed_at = max(departed_at, arrived_at)
    voucher.work_done = work_done.strip()
    voucher.labour_charge = labour_charge
    voucher.call = RepairCall.objects.select_related("product", "site").get(pk=voucher.call_id)
    lines = _price(voucher, parts, misuse=misuse, user=user)
    _check_van_holds(user=user, voucher=voucher, lines=lines)
    voucher.version += 1
    voucher.updated_at = timezone.now()
    voucher.save(
        update_fields=[
            "departed_at",
            "work_done",
            "labour_charge",
            "misuse",
            "cover",
            "contract_reference",
            "total_due",
            "version",
            "updated_at",
        ]
    )
    _save_parts(voucher, lines)
    if (voucher.labour_charge, voucher.total_due) != amounts_before:
        # Every change to money is kept (issue 8, audit): who changed the draft's amounts, when, from what.
        record_status_change(
            instance=voucher,
            from_status=voucher.status,
            to_status=voucher.status,
            by=user,
            note=_("Amounts changed: labour %(labour_before)s → %(labour)s, total due %(before)s → %(after)s.")
            % {
                "labour_before": amounts_before[0],
                "labour": voucher.labour_charge,
                "before": amounts_before[1],
                "after": voucher.total_due,
            },
        )
    return voucher


@transaction.atomic
def service_voucher_sign(
    *,
    user,
    voucher_id: int,
    signature_png: bytes,
    signed_by_name: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    fee_difference_reason: str = "",
) -> ServiceVoucher:
    """The customer signs on the technician's phone; the voucher is final from now on.

    Signing decides how a paid service is settled (clause 十): on site up to the
    unit's limit, invoiced by the clerk above it. Signing a correction
    supersedes the voucher it corrects and carries its fees; a difference from
    what was settled needs ``fee_difference_reason`` (DOMAIN 2, one visit one fee).
    """
    voucher = _lock_draft(voucher_id=voucher_id, expected_version=expected_version)
    _check_own_visit(user, unit_id=voucher.unit_id, technician_id=voucher.technician_id)
    signed_by_name = (signed_by_name or "").strip()
    if not signed_by_name:
        raise ApplicationError(_("Enter the name of the person who signs."), field="signed_by_name")
    voucher.signature_png = signature_png_checked(signature_png)
    voucher.signed_by_name = signed_by_name[:100]
    voucher.signed_at = now or timezone.now()
    voucher.settlement = settlement_for(voucher=voucher)
    # Collect on site: the whole total is owed until a fee is recorded (a correction's carried fees reduce it).
    voucher.fee_balance = voucher.total_due if voucher.settlement == ServiceVoucher.Settlement.ON_SITE else 0
    # The parts are consumed when the customer signs for them (the draft may still change before): they come
    # out of the technician's van now, all or none; a correction takes only the difference from its original.
    needed = _parts_needed(voucher=voucher, lines=list(voucher.parts.all()))
    part_use(
        user=user,
        technician_id=voucher.technician_id,
        lines=[UseLine(part_id=part_id, quantity=quantity) for part_id, quantity in sorted(needed.items())],
        reference_kind=StockMovement.Reference.VOUCHER,
        reference_id=voucher.pk,
        reference_text=voucher.number,
        now=voucher.signed_at,
    )
    apply_transition(
        instance=voucher,
        to_status=ServiceVoucher.Status.SIGNED,
        by=user,
        note=_("Signed by %(name)s") % {"name": voucher.signed_by_name},
        fields=["signature_png", "signed_by_name", "signed_at", "settlement", "fee_balance"],
        at=voucher.signed_at,
    )
    if voucher.corrects_id:
        original = lock_for_update(ServiceVoucher.objects.all(), pk=voucher.corrects_id)
        apply_transition(
            instance=original,
            to_status=ServiceVoucher.Status.SUPERSEDED,
            by=user,
            note=_("Corrected by %(number)s") % {"number": voucher.number},
        )
        fees_carry_to_correction(
            user=user, original=original, correction=voucher, reason=fee_difference_reason, at=voucher.signed_at
        )
    return voucher


@transaction.atomic
def service_voucher_correct(*, user, voucher_id: int) -> ServiceVoucher:
    """Start a correction of a signed voucher: a new draft that copies it and references it.

    Pressing the button twice gives the same draft, not two.
    """
    original = lock_for_update(ServiceVoucher.objects.select_related("call"), pk=voucher_id)
    _check_own_visit(user, unit_id=original.unit_id, technician_id=original.technician_id)
    if original.status != ServiceVoucher.Status.SIGNED:
        raise ApplicationError(_("Only a signed voucher that has not been corrected yet can be corrected."))
    draft = original.corrections.filter(status=ServiceVoucher.Status.DRAFT).first()
    if draft is not None:
        return draft
    now = timezone.now()
    # Copied as they are (old free-text rows too); a change of the draft prices them from the catalogue.
    parts = [
        VoucherPart(
            part_id=p.part_id,
            part_number=p.part_number,
            description=p.description,
            quantity=p.quantity,
            unit_price=p.unit_price,
        )
        for p in original.parts.all()
    ]
    voucher = ServiceVoucher(
        number=next_number(series="SV", at=now),
        unit_id=original.unit_id,
        call=original.call,
        visit_id=original.visit_id,
        corrects=original,
        technician=original.technician,
        arrived_at=original.arrived_at,
        departed_at=original.departed_at,
        work_done=original.work_done,
        labour_charge=original.labour_charge,
        misuse=original.misuse,
        cover=original.cover,
        contract_reference=original.contract_reference,
        total_due=original.total_due,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    voucher.save()
    _save_parts(voucher, parts)
    record_status_change(
        instance=voucher,
        from_status="",
        to_status=voucher.status,
        by=user,
        note=_("Correction of %(number)s") % {"number": original.number},
        at=now,
    )
    return voucher


@transaction.atomic
def service_voucher_mark_invoiced(*, user, voucher_id: int, invoice_number: str) -> ServiceVoucher:
    """Above the on-site limit the clerk invoices the service; this records the invoice."""
    voucher = lock_for_update(ServiceVoucher.objects.all(), pk=voucher_id)
    _require(user, "repairs.invoice_voucher", unit_id=voucher.unit_id)
    if voucher.settlement != ServiceVoucher.Settlement.INVOICE or voucher.status != ServiceVoucher.Status.SIGNED:
        raise ApplicationError(_("This voucher is not waiting for an invoice."))
    if voucher.invoiced_at is not None:
        raise ApplicationError(
            _("Voucher %(number)s was already invoiced (%(invoice)s).")
            % {"number": voucher.number, "invoice": voucher.invoice_number}
        )
    invoice_number = (invoice_number or "").strip()
    if not invoice_number:
        raise ApplicationError(_("Enter the invoice number."), field="invoice_number")
    voucher.invoice_number = invoice_number[:64]
    voucher.invoiced_at = timezone.now()
    voucher.invoiced_by = user
    voucher.version += 1
    voucher.save(update_fields=["invoice_number", "invoiced_at", "invoiced_by", "version"])
    return voucher
