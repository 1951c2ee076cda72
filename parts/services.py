"""Every change of stock (DOMAIN 2, parts): receive, issue to a van, take back, use, count.

Each service locks the stock rows it changes (``SELECT … FOR UPDATE``) in the order of their ids, so two
services touching the same rows never wait for each other in a circle; a missing row is first inserted
with ``ON CONFLICT DO NOTHING``. After the lock a row holds the latest committed quantity, so a check
"enough in stock" cannot be overtaken by a concurrent use; the ``stock_never_negative`` constraint is the
last guard.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from servicedesk.exceptions import ApplicationError
from servicedesk.scoping import user_may_act_in_unit

from .models import DEFAULT_PRICE_TOLERANCE, Part, PriceTolerance, Stock, StockMovement

MAX_QUANTITY = 100_000
MAX_REASON = 300


@dataclass(frozen=True)
class UseLine:
    """``quantity`` parts of ``part_id`` used (negative: given back to the van by a correction)."""

    part_id: int
    quantity: int


def _require_stock_keeper(user, *, unit_id: int) -> None:
    if not (user.has_perm("parts.manage_stock") and user_may_act_in_unit(user=user, unit_id=unit_id)):
        raise ApplicationError(_("You may not move parts of this unit."))


def _quantity(quantity, *, allow_zero: bool = False) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ApplicationError(_("Enter a whole number of parts."), field="quantity")
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise ApplicationError(_("Enter how many parts (at least one)."), field="quantity")
    if quantity > MAX_QUANTITY:
        raise ApplicationError(_("At most %(max)d parts at a time.") % {"max": MAX_QUANTITY}, field="quantity")
    return quantity


def _part(part_id: int) -> Part:
    part = Part.objects.filter(pk=part_id).first()
    if part is None:
        raise ApplicationError(_("Choose a part from the catalogue."), field="part")
    return part


def _van_and_store(*, user, technician_id: int, part_id: int, quantity: int):
    """The technician (active, of the stock keeper's unit), the part, and the locked store and van rows."""
    technician = get_user_model().objects.filter(pk=technician_id, is_active=True).first()
    if technician is None or technician.unit_id is None:
        raise ApplicationError(_("Choose a technician of this unit."), field="technician")
    _require_stock_keeper(user, unit_id=technician.unit_id)
    quantity = _quantity(quantity)
    part = _part(part_id)
    rows = _lock([(part.pk, technician.unit_id, None), (part.pk, technician.unit_id, technician.pk)])
    return technician, part, quantity, rows[(part.pk, None)], rows[(part.pk, technician.pk)]


def _recorded(*, kind, part, unit_id, quantity, difference, user, reason, now, technician=None) -> StockMovement:
    return StockMovement.objects.create(
        kind=kind,
        part=part,
        unit_id=unit_id,
        technician=technician,
        quantity=quantity,
        difference=difference,
        unit_price=part.unit_price,
        reason=_reason(reason),
        by=user,
        at=now or timezone.now(),
    )


def _technician(technician_id: int, *, unit_id: int):
    technician = get_user_model().objects.filter(pk=technician_id, is_active=True).first()
    if technician is None or technician.unit_id != unit_id:
        raise ApplicationError(_("Choose a technician of this unit."), field="technician")
    return technician


def _lock(places: list[tuple[int, int, int | None]]) -> dict[tuple[int, int | None], Stock]:
    """Lock the stock rows of ``(part_id, unit_id, technician_id)`` places, creating missing ones at zero.

    Keyed by (part_id, technician_id): one unit per call.
    """
    Stock.objects.bulk_create(
        [Stock(part_id=p, unit_id=u, technician_id=t, quantity=0) for p, u, t in places], ignore_conflicts=True
    )
    wanted = Q(pk__in=[])
    for part_id, unit_id, technician_id in places:
        if technician_id is None:
            wanted |= Q(part_id=part_id, unit_id=unit_id, technician__isnull=True)
        else:
            wanted |= Q(part_id=part_id, technician_id=technician_id)
    # Locked in id order: every service takes the locks in the same order, so none deadlocks another.
    rows = list(Stock.objects.filter(wanted).order_by("pk").select_for_update())
    return {(row.part_id, row.technician_id): row for row in rows}


def _move(row: Stock, difference: int) -> None:
    row.quantity += difference
    row.save(update_fields=["quantity"])


def part_not_held_message(*, user, technician, part: Part, wanted: int, held: int) -> str:
    if user.pk == technician.pk:
        return ngettext(
            "You do not hold %(wanted)d of part %(part)s: your van has %(held)d.",
            "You do not hold %(wanted)d of part %(part)s: your van has %(held)d.",
            wanted,
        ) % {"wanted": wanted, "part": part.part_number, "held": held}
    return ngettext(
        "%(technician)s does not hold %(wanted)d of part %(part)s: the van has %(held)d.",
        "%(technician)s does not hold %(wanted)d of part %(part)s: the van has %(held)d.",
        wanted,
    ) % {"technician": technician, "wanted": wanted, "part": part.part_number, "held": held}


def _reason(reason: str, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ApplicationError(_("Give the reason."), field="reason")
    return reason[:MAX_REASON]


@transaction.atomic
def part_stock_receive(
    *, user, unit_id: int, part_id: int, quantity: int, reason: str = "", now: dt.datetime | None = None
) -> StockMovement:
    """Parts delivered to the unit's store."""
    _require_stock_keeper(user, unit_id=unit_id)
    quantity = _quantity(quantity)
    part = _part(part_id)
    rows = _lock([(part.pk, unit_id, None)])
    _move(rows[(part.pk, None)], quantity)
    return StockMovement.objects.create(
        kind=StockMovement.Kind.RECEIVED,
        part=part,
        unit_id=unit_id,
        quantity=quantity,
        difference=quantity,
        unit_price=part.unit_price,
        reason=_reason(reason),
        by=user,
        at=now or timezone.now(),
    )


@transaction.atomic
def part_issue_to_technician(
    *, user, technician_id: int, part_id: int, quantity: int, reason: str = "", now: dt.datetime | None = None
) -> StockMovement:
    """From the unit's store into a technician's van."""
    technician, part, quantity, store, van = _van_and_store(
        user=user, technician_id=technician_id, part_id=part_id, quantity=quantity
    )
    if store.quantity < quantity:
        raise ApplicationError(
            _("The store holds only %(held)d of part %(part)s.") % {"held": store.quantity, "part": part.part_number},
            field="quantity",
        )
    _move(store, -quantity)
    _move(van, quantity)
    return _recorded(
        kind=StockMovement.Kind.ISSUED,
        part=part,
        unit_id=technician.unit_id,
        technician=technician,
        quantity=quantity,
        difference=quantity,
        user=user,
        reason=reason,
        now=now,
    )


@transaction.atomic
def part_return(
    *, user, technician_id: int, part_id: int, quantity: int, reason: str = "", now: dt.datetime | None = None
) -> StockMovement:
    """From a technician's van back into the unit's store."""
    technician, part, quantity, store, van = _van_and_store(
        user=user, technician_id=technician_id, part_id=part_id, quantity=quantity
    )
    if van.quantity < quantity:
        raise ApplicationError(
            part_not_held_message(user=user, technician=technician, part=part, wanted=quantity, held=van.quantity),
            field="quantity",
        )
    _move(van, -quantity)
    _move(store, quantity)
    return _recorded(
        kind=StockMovement.Kind.RETURNED,
        part=part,
        unit_id=technician.unit_id,
        technician=technician,
        quantity=quantity,
        difference=-quantity,
        user=user,
        reason=reason,
        now=now,
    )


@transaction.atomic
def part_use(
    *,
    user,
    technician_id: int,
    lines: list[UseLine],
    reference_kind: str,
    reference_id: int | None,
    reference_text: str = "",
    now: dt.datetime | None = None,
) -> list[StockMovement]:
    """Parts used on a voucher or a repair card come out of the technician's van, all or none.

    A negative line gives parts back to the van (a correction that uses fewer than the voucher it replaces).
    The caller (repairs) has checked that the user may fill in that voucher or card.
    """
    technician = get_user_model().objects.filter(pk=technician_id).first()
    if technician is None or technician.unit_id is None:
        raise ApplicationError(_("Parts are used from a technician's van."))
    unit_id = technician.unit_id
    if not user_may_act_in_unit(user=user, unit_id=unit_id):
        raise ApplicationError(_("You may not move parts of this unit."))
    if reference_kind not in StockMovement.Reference.values or not reference_kind:
        raise ApplicationError(_("Parts are used on a service voucher or a repair card."))
    totals: dict[int, int] = {}
    for line in lines:
        if not isinstance(line.quantity, int) or abs(line.quantity) > MAX_QUANTITY:
            raise ApplicationError(_("Enter a whole number of parts."), field="quantity")
        totals[line.part_id] = totals.get(line.part_id, 0) + line.quantity
    totals = {part_id: q for part_id, q in totals.items() if q}
    if not totals:
        return []
    parts = Part.objects.in_bulk(list(totals))
    if len(parts) != len(totals):
        raise ApplicationError(_("Choose a part from the catalogue."), field="part")
    rows = _lock([(part_id, unit_id, technician.pk) for part_id in sorted(totals)])
    at = now or timezone.now()
    movements = []
    for part_id in sorted(totals):
        wanted, van, part = totals[part_id], rows[(part_id, technician.pk)], parts[part_id]
        if wanted > van.quantity:
            raise ApplicationError(
                part_not_held_message(user=user, technician=technician, part=part, wanted=wanted, held=van.quantity)
            )
        _move(van, -wanted)
        movements.append(
            StockMovement(
                kind=StockMovement.Kind.USED if wanted > 0 else StockMovement.Kind.USE_UNDONE,
                part=part,
                unit_id=unit_id,
                technician=technician,
                quantity=abs(wanted),
                difference=-wanted,
                unit_price=part.unit_price,
                reference_kind=reference_kind,
                reference_id=reference_id,
                reference_text=(reference_text or "")[:64],
                by=user,
                at=at,
            )
        )
    return StockMovement.objects.bulk_create(movements)


@transaction.atomic
def part_stock_count(
    *,
    user,
    unit_id: int,
    part_id: int,
    counted_quantity: int,
    reason: str,
    technician_id: int | None = None,
    now: dt.datetime | None = None,
) -> StockMovement:
    """A stock count sets the quantity found in the store (or a van), with the reason for any difference."""
    _require_stock_keeper(user, unit_id=unit_id)
    counted_quantity = _quantity(counted_quantity, allow_zero=True)
    reason = _reason(reason, required=True)
    part = _part(part_id)
    technician = _technician(technician_id, unit_id=unit_id) if technician_id else None
    key = technician.pk if technician else None
    row = _lock([(part.pk, unit_id, key)])[(part.pk, key)]
    difference = counted_quantity - row.quantity
    _move(row, difference)
    return StockMovement.objects.create(
        kind=StockMovement.Kind.COUNTED,
        part=part,
        unit_id=unit_id,
        technician=technician,
        quantity=counted_quantity,
        difference=difference,
        unit_price=part.unit_price,
        reason=reason,
        by=user,
        at=now or timezone.now(),
    )


# --- Prices -------------------------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def price_tolerance_for(*, unit_id: int) -> Decimal:
    """The unit's own row, else the default row, else ±10 %."""
    rows = {r.unit_id: r.percent for r in PriceTolerance.objects.filter(Q(unit_id=unit_id) | Q(unit__isnull=True))}
    return rows.get(unit_id, rows.get(None, DEFAULT_PRICE_TOLERANCE))


def part_price_checked(*, user, part: Part, unit_id: int, unit_price: Decimal | None) -> Decimal:
    """The price charged for a catalogue part: the catalogue's, or one a supervisor set within the tolerance."""
    if unit_price is None or unit_price == part.unit_price:
        return part.unit_price
    if not user.has_perm("parts.override_part_price"):
        raise ApplicationError(
            _("The price of part %(part)s comes from the catalogue (%(price)s yuan); only a supervisor may change it.")
            % {"part": part.part_number, "price": part.unit_price}
        )
    tolerance = price_tolerance_for(unit_id=unit_id)
    allowed = part.unit_price * tolerance / Decimal("100")
    if abs(unit_price - part.unit_price) > allowed:
        raise ApplicationError(
            _(
                "The price of part %(part)s may differ from the catalogue's %(price)s yuan by at most "
                "%(tolerance)s %% (%(low)s to %(high)s yuan)."
            )
            % {
                "part": part.part_number,
                "price": part.unit_price,
                "tolerance": _plain(tolerance),
                "low": (part.unit_price - allowed).quantize(Decimal("0.01")),
                "high": (part.unit_price + allowed).quantize(Decimal("0.01")),
            }
        )
    return unit_price
