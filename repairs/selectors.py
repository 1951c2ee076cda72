"""Reads, always scoped to the user's unit (deny by default)."""

import datetime as dt
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from servicedesk.scoping import scope_to_user, user_may_act_in_unit

from .models import Customer, Product, RepairCall, Site
from .services.calls import active_technicians, technicians_of_unit

BOARD_PAGE_SIZE = 50
BOARD_CALL_FIELDS = (
    "number",
    "unit",
    "customer",
    "site",
    "zone",
    "technician",
    "status",
    "attend_by",
    "arrived_at",
    "contact_phone",
)


def repair_call_queryset(*, user) -> QuerySet:
    return scope_to_user(RepairCall.objects.all(), user=user)


def repair_call_get_for_user(*, user, pk: int) -> RepairCall:
    """The call if the user may see it; another unit's call is simply not found."""
    try:
        return (
            repair_call_queryset(user=user)
            .select_related("unit", "customer", "site", "zone", "product", "technician", "created_by")
            .get(pk=pk)
        )
    except RepairCall.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class BoardCursor:
    """Keyset position: (attended, attend_by, id) of the last row shown."""

    attended: int
    attend_by: dt.datetime
    id: int

    def encode(self) -> str:
        return f"{self.attended}_{int(self.attend_by.timestamp() * 1_000_000)}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> "BoardCursor | None":
        try:
            attended, micros, pk = (int(part) for part in (raw or "").split("_"))
            return cls(attended, dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC), pk)
        except (TypeError, ValueError, OverflowError, OSError):
            return None


@dataclass
class BoardPage:
    rows: list
    next_cursor: str | None


def repair_call_board(*, user, filters: dict, cursor: str | None = None, limit: int = BOARD_PAGE_SIZE) -> BoardPage:
    """The unit's open calls: waiting for a technician first, by deadline (so the overdue lead), then those on site.

    Keyset pagination on (attended, attend_by, id): the last page costs what the first does.
    """
    # Only what a board row shows: compiling a wider SELECT over more joins costs more than running it.
    related = ["customer", "site", "zone", "technician"] + (["unit"] if user.sees_all_units else [])
    qs = (
        repair_call_queryset(user=user)
        .select_related(*related)
        .only(
            *BOARD_CALL_FIELDS,
            "customer__name",
            "site__address",
            "zone__name",
            "zone__at_risk_minutes",
            "technician__username",
            "technician__first_name",
            "technician__last_name",
            *(["unit__name"] if user.sees_all_units else []),
        )
    )
    if filters.get("unit"):
        qs = qs.filter(unit=filters["unit"])
    if filters.get("zone"):
        qs = qs.filter(zone=filters["zone"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("technician"):
        qs = qs.filter(technician=filters["technician"])
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(
            Q(number__iexact=q)
            | Q(customer__name__icontains=q)
            | Q(contact_phone__contains=q)
            | Q(customer__phone__contains=q)
            | Q(product__serial_number__iexact=q)
        )
    rows = _board_rows(qs, position=BoardCursor.decode(cursor), limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = BoardCursor(last.attended, last.attend_by, last.id).encode()
    return BoardPage(rows=rows, next_cursor=next_cursor)


def _after(qs: QuerySet, position: BoardCursor) -> QuerySet:
    """Rows after the cursor by (attend_by, id); the redundant ``attend_by >=`` bound lets an index range-scan."""
    return qs.filter(attend_by__gte=position.attend_by).filter(
        Q(attend_by__gt=position.attend_by) | Q(id__gt=position.id)
    )


def _board_rows(qs: QuerySet, *, position: BoardCursor | None, limit: int) -> list[RepairCall]:
    """Up to ``limit`` open calls after ``position``, ordered by (attended, attend_by, id).

    Ordering by a computed "attended" flag makes PostgreSQL read and sort every
    open call of the unit (thousands in a busy unit) for each page. The same
    order is two parts, calls waiting for a technician then calls on site, each
    by (attend_by, id): each part walks the partial index ``call_board_idx``
    (unit, attend_by, id) in order and stops after a page, and one UNION ALL
    query returns both. SQLite cannot order the parts of a UNION; it sorts on
    the flag instead (same rows, same order).
    """
    if qs.query.is_empty():  # deny by default: a user who may see nothing
        return []
    if not connections[qs.db].features.supports_slicing_ordering_in_compound:
        return _board_rows_sorted(qs, position=position, limit=limit)
    # (attended value, statuses): a cursor lies in one part; the parts before it are done.
    parts = []
    for attended, statuses in ((0, RepairCall.AWAITING_ARRIVAL), (1, (RepairCall.Status.ON_SITE,))):
        if position is not None and position.attended > attended:
            continue
        part = qs.filter(status__in=statuses)
        if position is not None and position.attended == attended:
            part = _after(part, position)
        parts.append(
            part.annotate(attended=Value(attended, output_field=IntegerField())).order_by("attend_by", "id")[:limit]
        )
    if not parts:
        return []
    page = (
        parts[0]
        if len(parts) == 1
        else parts[0].union(*parts[1:], all=True).order_by("attended", "attend_by", "id")[:limit]
    )
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return list(page)
    # Each part joins six tables (select_related); PostgreSQL's search through every join order
    # takes several times longer than running the query. The written order (the calls first,
    # then each row's customer, site, zone, ...) is the right one, so keep it for this query.
    with transaction.atomic(using=qs.db), connection.cursor() as cursor:
        cursor.execute("SET LOCAL join_collapse_limit = 1")
        return list(page)


def _board_rows_sorted(qs: QuerySet, *, position: BoardCursor | None, limit: int) -> list[RepairCall]:
    qs = qs.filter(status__in=RepairCall.OPEN).annotate(
        attended=Case(
            When(status=RepairCall.Status.ON_SITE, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    )
    if position:
        qs = qs.filter(
            Q(attended__gt=position.attended)
            | Q(attended=position.attended, attend_by__gt=position.attend_by)
            | Q(attended=position.attended, attend_by=position.attend_by, id__gt=position.id)
        )
    return list(qs.order_by("attended", "attend_by", "id")[:limit])


def technician_calls_today(*, user, now: dt.datetime | None = None) -> list[RepairCall]:
    """A technician's open calls plus those finished today, soonest deadline first."""
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return list(
        repair_call_queryset(user=user)
        .filter(technician=user)
        .filter(Q(status__in=RepairCall.OPEN) | Q(updated_at__gte=start_of_day))
        .select_related("customer", "site", "zone", "product")
        .order_by("attend_by", "id")
    )


def customer_search(*, user, q: str, limit: int = 10) -> list[Customer]:
    """Look a customer up by name, phone or a product's serial number."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    qs = scope_to_user(Customer.objects.all(), user=user)
    matches = qs.filter(Q(name__icontains=q) | Q(phone__contains=q) | Q(products__serial_number__iexact=q)).distinct()
    return list(
        matches.order_by("name").prefetch_related(
            Prefetch("sites", queryset=Site.objects.select_related("zone")),
            Prefetch("products", queryset=Product.objects.order_by("serial_number")),
        )[:limit]
    )


def customer_get_for_user(*, user, pk: int) -> Customer:
    try:
        return scope_to_user(Customer.objects.all(), user=user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def technician_choices(*, user, unit_id: int) -> QuerySet:
    if user_may_act_in_unit(user=user, unit_id=unit_id):
        return technicians_of_unit(unit_id=unit_id)
    return technicians_of_unit(unit_id=unit_id).none()


def technicians_visible(*, user, unit_id=None) -> QuerySet:
    """Technicians the user may filter the board by: the own unit's, or any unit's for head office."""
    if user.sees_all_units:
        if unit_id and str(unit_id).isdigit():
            return technicians_of_unit(unit_id=int(unit_id))
        return active_technicians()
    if user.unit_id is None:
        return active_technicians().none()
    return technicians_of_unit(unit_id=user.unit_id)
