"""Reads, always scoped to the user's unit (deny by default)."""

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone, translation

from servicedesk.bounds import date_in_range
from servicedesk.models import columns_in_language, person_name
from servicedesk.scoping import scope_to_user, user_may_act_in_unit

from .board_cache import board_scope, cached_rows
from .models import Customer, Product, RepairCall, Site
from .services.calls import active_technicians, technicians_of_unit
from .services.coverage import mark_cover

BOARD_PAGE_SIZE = 50
DISPATCH_CHOICES_SECONDS = 60


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
    """Keyset position: (attended, order key, id) of the last row shown.

    The order key is ``attend_by`` in the first two parts and ``appointment_at`` in the planned part.
    """

    attended: int
    attend_by: dt.datetime
    id: int

    def encode(self) -> str:
        return f"{self.attended}_{int(self.attend_by.timestamp() * 1_000_000)}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> "BoardCursor | None":
        try:
            attended, micros, pk = (int(part) for part in (raw or "").split("_"))
            attend_by = dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC)
            date_in_range(attend_by)  # a cursor is typed into the query string like any other date
            return cls(attended, attend_by, pk)
        except (TypeError, ValueError, OverflowError, OSError, ValidationError):
            return None


@dataclass
class BoardPage:
    rows: list
    next_cursor: str | None


# A board row is a plain tuple of these columns (no model instances: the page shows 50 rows
# every 30 s for every dispatcher, and building 250 related objects per page cost more than the query).
BOARD_COLUMNS = (
    "id",
    "number",
    "status",
    "attend_by",
    "arrived_at",
    "contact_phone",
    "technician_id",
    "customer__name",
    "site__address",
    "zone__name",
    "zone__at_risk_minutes",
    "technician__username",
    "technician__first_name",
    "technician__last_name",
    "appointment_at",
    "customer_id",
    "product__serial_number",
    "repeat_repair",
    "version",
    "unit_id",
)
# A new call for a product repaired within this long before it came in is flagged on the board (issue 13).
REPEAT_WINDOW = dt.timedelta(days=30)
BOARD_FILTERS = ("unit", "zone", "status", "technician")
# The board's parts in order: (attended, statuses, order field, whether the call has an appointment).
# Calls waiting for a technician (overdue ones lead) by deadline, then calls on site, then planned work
# (revisits, waiting for parts, planned maintenance) by its appointment time.
PLANNED_PART = 2
# Part of every cached page's key: a page cached with another row layout (a deploy) is never read back.
# Derived from the columns, so a change of layout cannot forget it.
BOARD_LAYOUT = hashlib.sha256("|".join(BOARD_COLUMNS).encode()).hexdigest()[:12]
BOARD_PARTS = (
    (0, RepairCall.AWAITING_ARRIVAL, "attend_by", False),
    (1, (RepairCall.Status.ON_SITE,), "attend_by", None),
    (PLANNED_PART, RepairCall.PLANNABLE, "appointment_at", True),
)


def repair_call_board(*, user, filters: dict, cursor: str | None = None, limit: int = BOARD_PAGE_SIZE) -> BoardPage:
    """The unit's open calls: waiting for a technician first, by deadline (so the overdue lead), then those on site.

    Keyset pagination on (attended, attend_by, id): the last page costs what the first does.
    Rows are named tuples of ``BOARD_COLUMNS`` plus ``attended`` (0 waiting, 1 on site) and,
    for head office, ``unit__name``.
    """
    qs = repair_call_board_filtered(user=user, filters=filters)
    if qs.query.is_empty():  # deny by default: a user who may see nothing runs no query
        return BoardPage(rows=[], next_cursor=None)
    columns = columns_in_language(RepairCall, BOARD_COLUMNS + (("unit__name",) if user.sees_all_units else ()))
    position = BoardCursor.decode(cursor)

    def page() -> tuple[list, str | None]:
        rows = _board_rows(qs, columns=columns, position=position, limit=limit + 1)
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        key = last.appointment_at if last.attended == PLANNED_PART else last.attend_by
        return rows[:limit], BoardCursor(last.attended, key, last.id).encode()

    # The same filters and cursor give the same rows until a call of the unit changes (board_cache).
    params = (
        BOARD_LAYOUT,
        *(str(getattr(filters.get(name), "pk", filters.get(name)) or "") for name in BOARD_FILTERS),
        (filters.get("q") or "").strip(),
        position.encode() if position else "",
        limit,
        # The rows carry zones' and units' names in the reader's language: a page read in Chinese is not an English one.
        translation.get_language() or "",
    )
    scope = board_scope(user=user)
    rows, next_cursor = cached_rows(scope=scope, params=params, compute=page)
    return BoardPage(rows=rows, next_cursor=next_cursor)


def repair_call_board_filtered(*, user, filters: dict) -> QuerySet:
    """The user's calls narrowed by the board's filters (the board reads its open ones; the export too)."""
    qs = repair_call_queryset(user=user)
    for name in BOARD_FILTERS:
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(
            Q(number__iexact=q)
            | Q(customer__name__icontains=q)
            | Q(contact_phone__contains=q)
            | Q(customer__phone__contains=q)
            | Q(product__serial_number__iexact=q)
        )
    return qs


def repair_call_board_all(*, user, filters: dict) -> QuerySet:
    """Every open call the board shows for these filters, in the board's order (for its export)."""
    from django.db.models import Case, IntegerField, Value, When

    attended = Case(
        When(status__in=RepairCall.AWAITING_ARRIVAL, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        repair_call_board_filtered(user=user, filters=filters)
        .filter(status__in=RepairCall.OPEN)
        .order_by(attended, "attend_by", "id")
    )


def _after(qs: QuerySet, position: BoardCursor, *, key: str = "attend_by") -> QuerySet:
    """Rows after the cursor by (key, id); the redundant ``key >=`` bound lets an index range-scan."""
    return qs.filter(**{f"{key}__gte": position.attend_by}).filter(
        Q(**{f"{key}__gt": position.attend_by}) | Q(id__gt=position.id)
    )


def _board_rows(qs: QuerySet, *, columns: tuple, position: BoardCursor | None, limit: int) -> list:
    """Up to ``limit`` open calls after ``position``, ordered by (attended, attend_by, id).

    Ordering by a computed "attended" flag makes PostgreSQL read and sort every open call of
    the unit (thousands in a busy unit) for each page. The same order is two parts read one
    after the other, calls waiting for a technician then calls on site, each by (attend_by, id):
    each part walks the partial index ``call_board_idx`` (unit, attend_by, id) in order and
    stops after a page. The second part is read only when the first runs out, so a busy
    unit's pages cost one short query.
    """
    rows: list = []
    for attended, statuses, key, planned in BOARD_PARTS:
        if position is not None and position.attended > attended:
            continue  # the cursor lies in a later part: this one is done
        part = qs.filter(status__in=statuses)
        if planned is not None:
            # Planned work (an appointment) is in its own part, read by the partial index call_board_planned_idx.
            part = part.filter(appointment_at__isnull=not planned)
        if position is not None and position.attended == attended:
            part = _after(part, position, key=key)
        fetched = (
            part.annotate(repeat_repair=repeat_repair_flag())
            .order_by(key, "id")
            .values_list(*columns)[: limit - len(rows)]
        )
        rows += [BoardRow(*row, attended=attended) for row in fetched]
        if len(rows) >= limit:
            break
    return rows


class BoardRow(NamedTuple):
    """One call on the board: ``BOARD_COLUMNS`` in order, the unit's name (head office only), the part it came from."""

    id: int
    number: str
    status: str
    attend_by: dt.datetime
    arrived_at: dt.datetime | None
    contact_phone: str
    technician_id: int | None
    customer_name: str
    site_address: str
    zone_name: str
    zone_at_risk_minutes: int
    technician_username: str | None
    technician_first_name: str | None
    technician_last_name: str | None
    appointment_at: dt.datetime | None
    customer_id: int
    product_serial_number: str | None
    repeat_repair: bool
    version: int
    unit_id: int
    unit_name: str = ""
    attended: int = 0


def repeat_repair_flag() -> Exists:
    """An earlier call of the same product was repaired (resolved, or closed after a carry-in) within
    ``REPEAT_WINDOW`` before this call came in. Read in the board's own query: no query per row."""
    return Exists(
        RepairCall.objects.filter(
            product_id=OuterRef("product_id"), status__in=(RepairCall.Status.RESOLVED, RepairCall.Status.CLOSED)
        )
        .exclude(pk=OuterRef("pk"))
        .annotate(done=Coalesce("resolved_at", "closed_at"))
        .filter(done__lte=OuterRef("received_at"), done__gte=OuterRef("received_at") - REPEAT_WINDOW)
    )


def technician_calls_today(*, user, now: dt.datetime | None = None) -> list[RepairCall]:
    """A technician's open calls first, then those finished today; soonest deadline first in each."""
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    open_first = Case(When(status__in=RepairCall.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        repair_call_queryset(user=user)
        .filter(technician=user)
        .filter(Q(status__in=RepairCall.OPEN) | Q(updated_at__gte=start_of_day))
        .select_related("customer", "site", "zone", "product")
        .order_by(open_first, "attend_by", "id")
    )


def customer_search(*, user, q: str, limit: int = 10) -> list[Customer]:
    """Look a customer up by name, phone or a product's serial number."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    qs = scope_to_user(Customer.objects.all(), user=user)
    matches = qs.filter(Q(name__icontains=q) | Q(phone__contains=q) | Q(products__serial_number__iexact=q)).distinct()
    # Faster call logging (issue 16): the contact person of the customer's latest call (not the company's
    # name), and each product's open call, if any, so the page warns before a second call is logged.
    latest = RepairCall.objects.filter(customer_id=OuterRef("pk")).order_by("-received_at", "-id")
    open_call = RepairCall.objects.filter(product_id=OuterRef("pk"), status__in=RepairCall.OPEN).order_by(
        "-received_at", "-id"
    )
    products = Product.objects.annotate(
        open_call_id=Subquery(open_call.values("pk")[:1]), open_call_number=Subquery(open_call.values("number")[:1])
    ).order_by("serial_number")
    customers = list(
        matches.annotate(
            last_contact_name=Subquery(latest.values("contact_name")[:1]),
            last_contact_phone=Subquery(latest.values("contact_phone")[:1]),
        )
        .order_by("name")
        .prefetch_related(
            Prefetch("sites", queryset=Site.objects.select_related("zone")),
            Prefetch("products", queryset=products),
        )[:limit]
    )
    # The cover each site and product would give a call logged today (warranty, a running contract).
    mark_cover(customers=customers, on=timezone.localdate())
    return customers


def customer_get_for_user(*, user, pk: int) -> Customer:
    try:
        return scope_to_user(Customer.objects.all(), user=user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def technician_choices(*, user, unit_id: int) -> QuerySet:
    if user_may_act_in_unit(user=user, unit_id=unit_id):
        return technicians_of_unit(unit_id=unit_id)
    return technicians_of_unit(unit_id=unit_id).none()


def board_dispatch_choices(*, user, unit_ids: set[int]) -> dict[int, list[tuple[int, str]]]:
    """The technicians a board row can be dispatched to, per unit of the page's rows.

    Kept a minute per unit in this process like the filter bar's options (every push refreshes every
    open board); a technician added shows within a minute, and the dispatch service checks the choice.
    """
    if not unit_ids or not user.has_perm("repairs.dispatch_call"):
        return {}
    allowed = [unit_id for unit_id in unit_ids if user_may_act_in_unit(user=user, unit_id=unit_id)]
    if not allowed:
        return {}
    local = caches["local"]
    keys = {unit_id: f"board-dispatch-choices:{unit_id}" for unit_id in allowed}
    kept = local.get_many(keys.values())
    choices = {unit_id: kept[key] for unit_id, key in keys.items() if key in kept}
    missing = [unit_id for unit_id in allowed if unit_id not in choices]
    if missing:
        read: dict[int, list[tuple[int, str]]] = {unit_id: [] for unit_id in missing}
        fields = ("unit_id", "pk", "username", "first_name", "last_name")
        for unit_id, pk, username, first, last in active_technicians().filter(unit_id__in=missing).values_list(*fields):
            read[unit_id].append((pk, person_name(username=username, first_name=first, last_name=last)))
        local.set_many({keys[unit_id]: listed for unit_id, listed in read.items()}, DISPATCH_CHOICES_SECONDS)
        choices.update(read)
    return {unit_id: listed for unit_id, listed in choices.items() if listed}


def technicians_visible(*, user, unit_id=None) -> QuerySet:
    """Technicians the user may filter the board by: the own unit's, or any unit's for head office."""
    if user.sees_all_units:
        if unit_id and str(unit_id).isdigit():
            return technicians_of_unit(unit_id=int(unit_id))
        return active_technicians()
    if user.unit_id is None:
        return active_technicians().none()
    return technicians_of_unit(unit_id=user.unit_id)
