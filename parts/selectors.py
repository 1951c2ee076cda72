"""Reads of stock and movements, always scoped to the user's unit (another unit's place is a 404)."""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from servicedesk.models import OrgUnit
from servicedesk.roles import Role
from servicedesk.scoping import scope_to_user, user_may_act_in_unit

from .models import Part, Stock, StockMinimum, StockMovement


def units_for_user(*, user) -> QuerySet:
    """Units whose stock the user may read: one's own, or every branch and centre for head office."""
    units = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS).order_by("name")
    if user.sees_all_units:
        return units
    return units.filter(pk=user.unit_id) if user.unit_id else units.none()


def unit_for_user(*, user, unit_id: int | None) -> OrgUnit | None:
    """The unit a page shows: the one chosen (if the user may read it), else the user's own."""
    if unit_id is None:
        if user.sees_all_units or user.unit_id is None:
            return None
        return user.unit
    unit = units_for_user(user=user).filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


def technicians_of_unit(*, unit_id: int) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(unit_id=unit_id, is_active=True, groups__name=Role.TECHNICIAN)
        .order_by("username")
        .distinct()
    )


def technician_get_for_user(*, user, pk: int):
    """A technician whose van the user may see: one of the user's own unit (head office: any)."""
    technician = get_user_model().objects.filter(pk=pk, is_active=True).select_related("unit").first()
    if (
        technician is None
        or technician.unit_id is None
        or not user_may_act_in_unit(user=user, unit_id=technician.unit_id)
    ):
        raise Http404
    return technician


def active_parts() -> QuerySet:
    return Part.objects.filter(is_active=True).order_by("part_number")


@dataclass
class UnitStock:
    unit: OrgUnit
    store: list  # Stock rows of the store, with .minimum
    vans: list  # (technician, [Stock rows])
    movements: list = field(default_factory=list)


def unit_stock(*, user, unit: OrgUnit) -> UnitStock:
    """The store and every van of the unit, in a fixed number of queries."""
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise Http404
    minimum = StockMinimum.objects.filter(part=OuterRef("part_id"), unit=unit).values("minimum_quantity")[:1]
    rows = list(
        Stock.objects.filter(unit=unit)
        .select_related("part", "technician")
        .annotate(minimum=Subquery(minimum))
        .order_by("technician__username", "part__part_number")
    )
    store = [r for r in rows if r.technician_id is None]
    vans: dict = {}
    for row in rows:
        if row.technician_id is not None and row.quantity:
            vans.setdefault(row.technician, []).append(row)
    movements = list(
        StockMovement.objects.filter(unit=unit).select_related("part", "technician", "by").order_by("-at", "-id")[:50]
    )
    return UnitStock(unit=unit, store=store, vans=list(vans.items()), movements=movements)


def van_stock(*, technician) -> list:
    return list(
        Stock.objects.filter(technician=technician, quantity__gt=0).select_related("part").order_by("part__part_number")
    )


def van_movements(*, technician, limit: int = 50) -> list:
    return list(
        StockMovement.objects.filter(technician=technician).select_related("part", "by").order_by("-at", "-id")[:limit]
    )


def low_stock(*, unit: OrgUnit) -> list:
    """Parts whose store quantity is below the unit's minimum (a part never received counts as none)."""
    held = Stock.objects.filter(part=OuterRef("part_id"), unit=unit, technician__isnull=True).values("quantity")[:1]
    return list(
        StockMinimum.objects.filter(unit=unit, part__is_active=True)
        .select_related("part")
        .annotate(in_store=Coalesce(Subquery(held), 0))
        .filter(in_store__lt=F("minimum_quantity"))
        .annotate(short_by=F("minimum_quantity") - F("in_store"))
        .order_by("part__part_number")
    )


def parts_used_report(*, unit: OrgUnit, month: dt.date) -> list[dict]:
    """Parts used per part in a month (used minus given back by corrections), with their value: one query."""
    start = timezone.make_aware(dt.datetime(month.year, month.month, 1))
    end = timezone.make_aware(dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1))
    return list(
        StockMovement.objects.filter(
            unit=unit,
            kind__in=(StockMovement.Kind.USED, StockMovement.Kind.USE_UNDONE),
            at__gte=start,
            at__lt=end,
        )
        .values("part__part_number", "part__name")
        .annotate(
            quantity=Sum(-F("difference")),
            value=Sum(
                ExpressionWrapper(
                    -F("difference") * F("unit_price"), output_field=DecimalField(max_digits=14, decimal_places=2)
                )
            ),
            uses=Count("id"),
        )
        .order_by("part__part_number")
    )


def movement_get_for_user(*, user, pk: int) -> StockMovement:
    try:
        return scope_to_user(StockMovement.objects.select_related("part", "technician", "by", "unit"), user=user).get(
            pk=pk
        )
    except StockMovement.DoesNotExist:
        raise Http404 from None
