"""Reads of the records: the call history and its search, the customer and product records, saved views.

Every read is scoped like the board (``servicedesk.scoping``): deny by default, another unit's object is a
404, head office sees every unit.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Left
from django.http import Http404
from django.utils import timezone

from complaints.models import ComplaintCase, CustomerOpinion, SurveyCard
from contracts.models import Contract, ContractTerm
from repairs.models import (
    Customer,
    FeeCollection,
    Product,
    RegisterEntry,
    RepairCall,
    RepairCard,
    ServiceVoucher,
    Site,
)
from repairs.selectors import repair_call_queryset
from servicedesk.models import columns_in_language
from servicedesk.scoping import scope_to_user

from . import search
from .models import DefaultView, SavedView

CALLS_PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50
REPEAT_WINDOW = dt.timedelta(days=30)
PRODUCT_CALLS_SHOWN = 500

CALL_COLUMNS = (
    "id",
    "number",
    "status",
    "received_at",
    "attend_by",
    "arrived_at",
    "coverage",
    "customer_id",
    "customer__name",
    "contact_name",
    "contact_phone",
    "product__serial_number",
    "zone__name",
    "technician_id",
    "technician__username",
    "technician__first_name",
    "technician__last_name",
    "unit__name",
    "problem_start",
)


class CallRow(NamedTuple):
    id: int
    number: str
    status: str
    received_at: dt.datetime
    attend_by: dt.datetime
    arrived_at: dt.datetime | None
    coverage: str
    customer_id: int
    customer_name: str
    contact_name: str
    contact_phone: str
    serial_number: str | None
    zone_name: str
    technician_id: int | None
    technician_username: str | None
    technician_first_name: str | None
    technician_last_name: str | None
    unit_name: str
    problem_start: str
    part: int = 1  # 0: an exact match of the search (number, serial, phone), shown first


@dataclass(frozen=True)
class CallCursor:
    """Keyset position: (part, received_at, id) of the last row shown; the list runs newest first."""

    part: int
    received_at: dt.datetime
    id: int

    def encode(self) -> str:
        return f"{self.part}_{int(self.received_at.timestamp() * 1_000_000)}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> "CallCursor | None":
        try:
            part, micros, pk = (int(piece) for piece in (raw or "").split("_"))
            if part not in (0, 1):
                return None
            return cls(part, dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC), pk)
        except (TypeError, ValueError, OverflowError, OSError):
            return None


@dataclass
class CallPage:
    rows: list
    next_cursor: str | None
    searched_to: dt.datetime | None = None  # a short-word search read the calls back to here on this page


SHORT_SEARCH_WINDOW = 2000


def has_complaint() -> Q:
    return Q(Exists(ComplaintCase.objects.filter(call=OuterRef("pk")))) | Q(
        Exists(CustomerOpinion.objects.filter(call=OuterRef("pk"), kind=CustomerOpinion.Kind.COMPLAINT))
    )


def carried_in() -> Q:
    return Q(status=RepairCall.Status.CARRIED_IN) | Q(Exists(RepairCard.objects.filter(call=OuterRef("pk"))))


def _local_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_calls(*, user, filters: dict) -> QuerySet:
    """The user's calls, every state, narrowed by the list's filters (all of them combine)."""
    qs = repair_call_queryset(user=user)
    for name in ("unit", "zone", "technician", "status", "coverage"):
        value = filters.get(name)
        if value:
            qs = qs.filter(**{name: value})
    if filters.get("date_from"):
        qs = qs.filter(received_at__gte=_local_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(received_at__lt=_local_start(filters["date_to"] + dt.timedelta(days=1)))
    attended = filters.get("attended")
    if attended == "late":
        qs = qs.filter(arrived_at__gt=F("attend_by"))
    elif attended == "on_time":
        qs = qs.filter(arrived_at__lte=F("attend_by"))
    elif attended == "overdue":  # still waiting for the technician, its deadline passed
        qs = qs.filter(arrived_at__isnull=True, status__in=RepairCall.AWAITING_ARRIVAL, attend_by__lt=timezone.now())
    if filters.get("logged_late"):  # reached the desk after its deadline (DOMAIN 1)
        qs = qs.filter(logged_late=True)
    if filters.get("carried_in"):
        qs = qs.filter(carried_in())
    if filters.get("has_complaint"):
        qs = qs.filter(has_complaint())
    return qs


# --- search ------------------------------------------------------------------------------------------


@dataclass
class SearchPlan:
    conditions: list  # one boolean expression per term, all must hold
    exact_ids: list[int]
    # Every term is shorter than a trigram: no index can find the calls, so the search reads them in the
    # list's order, ``SHORT_SEARCH_WINDOW`` calls per page at most (the next page reads on from there).
    short_only: bool = False
    # The search is a whole call number and that call exists: the page shows it alone (records.search).
    exact_only: bool = False


def _like() -> tuple[str, str]:
    if connection.vendor == "postgresql":
        return "ILIKE", ""
    return "LIKE", " ESCAPE '\\'"


def _scope_sql(user, column: str) -> tuple[str, list]:
    if user.sees_all_units:
        return "TRUE", []
    return f"{column} = %s", [user.unit_id]


def _term_match_sql(term: search.Term, expression: str, *, indexed: bool, columns=()) -> tuple[str, list]:
    op, escape = _like()
    if term.text.lower() == term.text.upper():
        op = "LIKE"  # nothing to fold (Chinese, digits): a plain LIKE is the same test, much cheaper per row
    pattern = search.like_pattern(term.text)
    if not indexed and columns:
        # No trigram to look up: each column is tested on its own (cheaper than building the whole text).
        return "(" + " OR ".join(f"{c} {op} %s{escape}" for c in columns) + ")", [pattern] * len(columns)
    parts, params = [f"{expression} {op} %s{escape}"], [pattern]
    if term.digits and term.digits != term.text:
        parts.append(f"{expression} {op} %s{escape}")
        params.append(search.like_pattern(term.digits))
    return "(" + " OR ".join(parts) + ")", params


def search_plan(*, user, q: str) -> SearchPlan | None:
    """The search's conditions on the calls and its exact matches, read in one query; None for no search."""
    terms = search.parse(q)
    if not terms:
        return None
    customer_text = search.qualified(search.CUSTOMER_TEXT, "k")
    serial = search.qualified("serial_number", "p")
    scope_k, scope_params = _scope_sql(user, "k.unit_id")
    pieces, params = [], []
    for i, term in enumerate(terms):
        match, match_params = _term_match_sql(
            term, customer_text, indexed=term.indexed, columns=search.qualified_columns(search.CUSTOMER_COLUMNS, "k")
        )
        pieces.append(
            f"SELECT * FROM (SELECT 'c' AS kind, {i} AS term, k.id FROM repairs_customer k "  # noqa: S608 - constant SQL; every value is a parameter
            f"WHERE {scope_k} AND {match} LIMIT {search.MAX_IDS_PER_TERM + 1}) AS c{i}"
        )
        params += [*scope_params, *match_params]
        if not search.may_be_in_a_serial(term):
            continue
        match, match_params = _term_match_sql(term, serial, indexed=term.indexed, columns=(serial,))
        pieces.append(
            f"SELECT * FROM (SELECT 'p' AS kind, {i} AS term, p.id FROM repairs_product p "  # noqa: S608 - constant SQL; every value is a parameter
            f"JOIN repairs_customer k ON k.id = p.customer_id "
            f"WHERE {scope_k} AND {match} LIMIT {search.MAX_IDS_PER_TERM + 1}) AS p{i}"
        )
        params += [*scope_params, *match_params]
    # Exact matches of the whole search rank first: its call number, a product's serial, a phone number.
    whole = terms[0] if len(terms) == 1 else None
    if whole is not None:
        scope_c, scope_c_params = _scope_sql(user, "c.unit_id")
        exact = [("c.number = %s", [whole.text.upper()])]
        exact.append(
            (
                "c.product_id IN (SELECT id FROM repairs_product WHERE serial_number IN (%s, %s))",
                [whole.text, whole.text.upper()],
            )
        )
        if whole.digits:
            # The digits of the phones have their own b-tree indexes (records.0003): a key look-up each.
            digits_expr = search.PHONE_DIGITS.format(col="c.contact_phone")
            exact.append((f"{digits_expr} = %s", [whole.digits]))
            customer_digits = search.PHONE_DIGITS.format(col="k.phone")
            exact.append(
                (
                    f"c.customer_id IN (SELECT k.id FROM repairs_customer k WHERE {scope_k} AND "  # noqa: S608 - constant SQL; every value is a parameter
                    f"{customer_digits} = %s)",
                    [*scope_params, whole.digits],
                )
            )
        for n, (condition, condition_params) in enumerate(exact):
            pieces.append(
                f"SELECT * FROM (SELECT 'x' AS kind, 0 AS term, c.id FROM repairs_repaircall c "  # noqa: S608 - constant SQL; every value is a parameter
                f"WHERE {scope_c} AND {condition} LIMIT {search.MAX_EXACT}) AS x{n}"
            )
            params += [*scope_c_params, *condition_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(pieces), params)
        found = cursor.fetchall()
    ids = defaultdict(list)
    for kind, term_index, pk in found:
        ids[(kind, term_index)].append(pk)
    exact_ids = sorted(set(ids.get(("x", 0), [])))[: search.MAX_EXACT]
    if whole is not None and exact_ids and search.is_call_number(whole):
        return SearchPlan(conditions=[Q(pk__in=exact_ids)], exact_ids=exact_ids, exact_only=True)
    conditions = []
    call_text = search.qualified(search.CALL_TEXT, RepairCall._meta.db_table)
    table = RepairCall._meta.db_table
    for i, term in enumerate(terms):
        sql, sql_params = _term_match_sql(
            term, call_text, indexed=term.indexed, columns=search.qualified_columns(search.CALL_COLUMNS, table)
        )
        alternatives, alternative_params = [sql], list(sql_params)
        for kind, column, source in (
            ("c", "customer_id", (customer_text, "repairs_customer k", "k.id", scope_k, search.CUSTOMER_COLUMNS)),
            (
                "p",
                "product_id",
                (serial, "repairs_product p JOIN repairs_customer k ON k.id = p.customer_id", "p.id", scope_k),
            ),
        ):
            matched = ids.get((kind, i), [])
            if len(matched) > search.MAX_IDS_PER_TERM:
                expression, tables, key, scope, columns = source
                alias = key.split(".")[0]
                match, match_params = _term_match_sql(
                    term, expression, indexed=term.indexed, columns=search.qualified_columns(columns, alias)
                )
                alternatives.append(f'"{table}"."{column}" IN (SELECT {key} FROM {tables} WHERE {scope} AND {match})')  # noqa: S608 - constant SQL; every value is a parameter
                alternative_params += [*scope_params, *match_params]
            elif matched:
                alternatives.append(f'"{table}"."{column}" IN ({", ".join(["%s"] * len(matched))})')
                alternative_params += matched
        conditions.append(
            RawSQL("(" + " OR ".join(alternatives) + ")", alternative_params, output_field=BooleanField())  # noqa: S611 - constant SQL; every value is a parameter
        )
    return SearchPlan(conditions=conditions, exact_ids=exact_ids, short_only=not any(t.indexed for t in terms))


def call_history(*, user, filters: dict, cursor: str | None = None, limit: int = CALLS_PAGE_SIZE) -> CallPage:
    """A page of the user's calls, newest first, with the filters and the search; keyset pagination.

    Queries: one to look the search terms up (with a search), one per part read (exact matches of the search,
    then the rest), whatever the page depth.
    """
    qs = filtered_calls(user=user, filters=filters)
    if qs.query.is_empty():
        return CallPage(rows=[], next_cursor=None)
    plan = search_plan(user=user, q=filters.get("q") or "")
    parts = [(1, qs)]
    if plan is not None:
        qs = qs.filter(*plan.conditions)
        parts = [(1, qs)]
        if plan.exact_only:
            parts = [(0, qs)]
        elif plan.exact_ids:
            parts = [(0, qs.filter(pk__in=plan.exact_ids)), (1, qs.exclude(pk__in=plan.exact_ids))]
    position = CallCursor.decode(cursor)
    rows: list = []
    window_end = None
    for part, part_qs in parts:
        if position is not None and position.part > part:
            continue
        if position is not None and position.part == part:
            part_qs = _after_call(part_qs, position)
        if part == 1 and plan is not None and plan.short_only:
            # The last call of the window this page may read (one short index walk, bounded, whatever the depth).
            unsearched = filtered_calls(user=user, filters=filters)
            if position is not None and position.part == 1:
                unsearched = _after_call(unsearched, position)
            window_end = (
                unsearched.order_by("-received_at", "-id").values_list("received_at", "id")[
                    SHORT_SEARCH_WINDOW - 1 : SHORT_SEARCH_WINDOW
                ]
            ).first()
            if window_end is not None:
                part_qs = part_qs.filter(received_at__gte=window_end[0]).filter(
                    Q(received_at__gt=window_end[0]) | Q(id__gte=window_end[1])
                )
        fetched = (
            part_qs.annotate(problem_start=Left("problem", 80))
            .order_by("-received_at", "-id")
            .values_list(*columns_in_language(RepairCall, CALL_COLUMNS))[: limit + 1 - len(rows)]
        )
        rows += [CallRow(*row, part=part) for row in fetched]
        if len(rows) > limit:
            break
    if len(rows) > limit:
        last = rows[limit - 1]
        return CallPage(rows=rows[:limit], next_cursor=CallCursor(last.part, last.received_at, last.id).encode())
    if window_end is not None:
        # Fewer matches than a page in this window: the next page searches the calls before it.
        return CallPage(
            rows=rows, next_cursor=CallCursor(1, window_end[0], window_end[1]).encode(), searched_to=window_end[0]
        )
    return CallPage(rows=rows, next_cursor=None)


def call_history_all(*, user, filters: dict) -> QuerySet:
    """Every call of the history with the filters and the search, newest first: the export streams it whole
    (the search's conditions without the page's exact-first order or its short-term window)."""
    qs = filtered_calls(user=user, filters=filters)
    plan = search_plan(user=user, q=filters.get("q") or "")
    if plan is not None:
        qs = qs.filter(*plan.conditions)
    return qs.order_by("-received_at", "-id")


def _after_call(qs: QuerySet, position: CallCursor) -> QuerySet:
    """Calls after the cursor in (received_at desc, id desc); the plain bound lets the index range-scan."""
    return qs.filter(received_at__lte=position.received_at).filter(
        Q(received_at__lt=position.received_at) | Q(id__lt=position.id)
    )


# --- customer record -----------------------------------------------------------------------------------


def customer_record_get(*, user, pk: int) -> Customer:
    try:
        return scope_to_user(Customer.objects.all(), user=user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def customer_sites(*, customer: Customer) -> list[Site]:
    return list(customer.sites.select_related("zone").order_by("address", "id"))


def customer_products(*, customer: Customer, today: dt.date) -> list[Product]:
    """The customer's products with their warranty end and the contract term covering each today (``cover``)."""
    products = list(customer.products.select_related("site").order_by("model", "serial_number"))
    covering = _terms_covering(products=products, on=today)
    for product in products:
        product.cover = covering.get(product.pk)
    return products


def _terms_covering(*, products: list[Product], on: dt.date | None = None) -> dict:
    """product id -> the term covering it on ``on`` (or every term ever, when ``on`` is None), in one query."""
    if not products:
        return {}
    by_product = {p.pk for p in products}
    by_site = defaultdict(set)
    for p in products:
        if p.site_id:
            by_site[p.site_id].add(p.pk)
    terms = ContractTerm.objects.filter(
        Q(contract__covered_products__product_id__in=by_product) | Q(contract__covered_sites__site_id__in=by_site)
    )
    if on is not None:
        terms = terms.filter(start_on__lte=on, end_on__gte=on)
    rows = (
        terms.annotate(
            covered_product=F("contract__covered_products__product_id"),
            covered_site=F("contract__covered_sites__site_id"),
        )
        .select_related("contract", "contract__contract_type")
        .order_by("-end_on", "-id")
    )
    result: dict = {} if on is not None else defaultdict(list)
    for term in rows:
        targets = set()
        if term.covered_product in by_product:
            targets.add(term.covered_product)
        targets |= by_site.get(term.covered_site, set())
        for product_id in targets:
            if on is not None:
                result.setdefault(product_id, term)
            elif term not in result[product_id]:
                result[product_id].append(term)
    return result


def customer_contracts(*, user, customer: Customer) -> list[Contract]:
    return list(
        scope_to_user(Contract.objects.filter(customer=customer), user=user)
        .select_related("contract_type")
        .prefetch_related(Prefetch("terms", queryset=ContractTerm.objects.order_by("sequence")))
        .order_by("number")
    )


class TimelineEntry(NamedTuple):
    at: dt.datetime
    kind: str
    id: int
    title: str
    detail: str
    call_id: int | None


TIMELINE_KINDS = ("call", "voucher", "fee", "carry_in", "card", "survey", "opinion", "case")


@dataclass(frozen=True)
class TimelineCursor:
    at: dt.datetime
    kind: str
    id: int

    def encode(self) -> str:
        return f"{int(self.at.timestamp() * 1_000_000)}_{self.kind}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> "TimelineCursor | None":
        try:
            micros, rest = (raw or "").split("_", 1)
            kind, pk = rest.rsplit("_", 1)
            if kind not in TIMELINE_KINDS:
                return None
            return cls(dt.datetime.fromtimestamp(int(micros) / 1_000_000, tz=dt.UTC), kind, int(pk))
        except (TypeError, ValueError, OverflowError, OSError):
            return None


def _timeline_parts(*, user, customer: Customer) -> list[QuerySet]:
    """One small query per kind, each giving (at, kind, id, title, detail, call_id)."""
    text = CharField()

    def shaped(qs, *, at, kind, title, detail, call):
        return (
            scope_to_user(qs, user=user)
            .annotate(
                t_at=at,  # every kind's time is a DateTimeField (a Cast would cut SQLite's microseconds)
                t_kind=Value(kind, output_field=text),
                t_id=F("id"),
                t_title=Cast(title, text),
                t_detail=Cast(detail, text),
                t_call=Cast(call, IntegerField()),
            )
            .values_list("t_at", "t_kind", "t_id", "t_title", "t_detail", "t_call")
        )

    return [
        shaped(
            RepairCall.objects.filter(customer=customer),
            at=F("received_at"),
            kind="call",
            title=F("number"),
            detail=Left("problem", 120),
            call=F("id"),
        ),
        shaped(
            ServiceVoucher.objects.filter(call__customer=customer),
            at=F("arrived_at"),
            kind="voucher",
            title=F("number"),
            detail=Left("work_done", 120),
            call=F("call_id"),
        ),
        shaped(
            FeeCollection.objects.filter(voucher__call__customer=customer),
            at=F("collected_at"),
            kind="fee",
            title=F("receipt_number"),
            detail=F("amount"),
            call=F("voucher__call_id"),
        ),
        shaped(
            RegisterEntry.objects.filter(call__customer=customer),
            at=F("taken_at"),
            kind="carry_in",
            title=F("receipt_number"),
            detail=F("item_description"),
            call=F("call_id"),
        ),
        shaped(
            RepairCard.objects.filter(call__customer=customer),
            at=F("created_at"),
            kind="card",
            title=F("number"),
            detail=Left("fault_found", 120),
            call=F("call_id"),
        ),
        shaped(
            SurveyCard.objects.filter(customer=customer, answered_at__isnull=False),
            at=F("answered_at"),
            kind="survey",
            title=F("call__number"),
            detail=Left("opinion_text", 120),
            call=F("call_id"),
        ),
        shaped(
            CustomerOpinion.objects.filter(customer=customer),
            at=F("received_at"),
            kind="opinion",
            title=F("kind"),
            detail=Left("text", 120),
            call=F("call_id"),
        ),
        shaped(
            ComplaintCase.objects.filter(customer=customer),
            at=F("received_at"),
            kind="case",
            title=F("number"),
            detail=F("status"),
            call=F("call_id"),
        ),
    ]


def customer_timeline(*, user, customer: Customer, cursor: str | None = None, limit: int = TIMELINE_PAGE_SIZE):
    """Everything that happened for the customer, newest first: one UNION ALL query per page, keyset-paginated.

    Each kind's part is cut at the cursor (and, where the database allows, at a page) before the union, so a
    customer with thousands of calls costs one short query per page.
    """
    position = TimelineCursor.decode(cursor)
    parts = _timeline_parts(user=user, customer=customer)
    # The keyset filter on the shaped columns: applied per part on the source field.
    sources = {
        "call": "received_at",
        "voucher": "arrived_at",
        "fee": "collected_at",
        "carry_in": "taken_at",
        "card": "created_at",
        "survey": "answered_at",
        "opinion": "received_at",
        "case": "received_at",
    }
    cut = []
    for kind, qs in zip(TIMELINE_KINDS, parts, strict=True):
        if position is not None:
            field = sources[kind]
            # Rows strictly after the cursor in (at desc, kind desc, id desc) order.
            after = Q(**{f"{field}__lt": position.at})
            if kind < position.kind:
                after |= Q(**{field: position.at})
            elif kind == position.kind:
                after |= Q(**{field: position.at, "id__lt": position.id})
            qs = qs.filter(after)
        if connection.features.supports_slicing_ordering_in_compound:
            qs = qs.order_by("-t_at", "-t_id")[: limit + 1]
        else:
            qs = qs.order_by()  # SQLite: no ORDER BY inside a UNION's parts (the models' default ordering)
        cut.append(qs)
    union = cut[0].union(*cut[1:], all=True)
    rows = [TimelineEntry(*row) for row in union.order_by("-t_at", "-t_kind", "-t_id")[: limit + 1]]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = TimelineCursor(last.at, last.kind, last.id).encode()
    return rows, next_cursor


# --- product record ------------------------------------------------------------------------------------


def product_record_get(*, user, serial_number: str) -> Product:
    try:
        return (
            scope_to_user(Product.objects.all(), user=user, unit_field="customer__unit")
            .select_related("customer", "site", "site__zone")
            .get(serial_number=serial_number)
        )
    except Product.DoesNotExist:
        raise Http404 from None


def repair_finished_at(call) -> dt.datetime | None:
    """When a call's repair was done: resolved on site, or closed after a carry-in; cancelled calls repaired nothing."""
    if call.status not in (RepairCall.Status.RESOLVED, RepairCall.Status.CLOSED):
        return None
    return call.resolved_at or call.closed_at


def repeat_repairs(calls: list) -> set[int]:
    """Ids of the calls that came in within 30 days after an earlier repair of the same product."""
    repeats = set()
    finished = []
    for call in sorted(calls, key=lambda c: (c.received_at, c.pk)):
        if any(done <= call.received_at <= done + REPEAT_WINDOW for done in finished):
            repeats.add(call.pk)
        done = repair_finished_at(call)
        if done is not None:
            finished.append(done)
    return repeats


@dataclass
class ProductRecord:
    product: Product
    calls: list
    repeat_ids: set
    vouchers: list
    cards: list
    carry_ins: list
    terms: list
    cover_today: object


def product_record(*, user, product: Product, today: dt.date) -> ProductRecord:
    calls = list(
        repair_call_queryset(user=user)
        .filter(product=product)
        .select_related("technician", "zone")
        .order_by("-received_at", "-id")[:PRODUCT_CALLS_SHOWN]
    )
    vouchers = list(
        scope_to_user(ServiceVoucher.objects.filter(call__product=product), user=user)
        .select_related("call", "technician")
        .prefetch_related("parts")
        .order_by("-arrived_at", "-id")
    )
    cards = list(
        scope_to_user(RepairCard.objects.filter(call__product=product), user=user)
        .select_related("call")
        .order_by("-created_at", "-id")
    )
    carry_ins = list(
        scope_to_user(RegisterEntry.objects.filter(Q(product=product) | Q(call__product=product)), user=user)
        .select_related("call")
        .order_by("-taken_at", "-id")
    )
    terms = _terms_covering(products=[product]).get(product.pk, [])
    cover_today = next((t for t in terms if t.start_on <= today <= t.end_on), None)
    return ProductRecord(
        product=product,
        calls=calls,
        repeat_ids=repeat_repairs(calls),
        vouchers=vouchers,
        cards=cards,
        carry_ins=carry_ins,
        terms=sorted(terms, key=lambda t: (t.start_on, t.pk)),
        cover_today=cover_today,
    )


# --- saved views ---------------------------------------------------------------------------------------


def saved_views_for(*, user, page: str) -> list[SavedView]:
    """The user's own views of the page and those shared with their unit, by name; one query."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    visible = Q(owner=user)
    if user.unit_id is not None:
        visible |= Q(shared=True, unit_id=user.unit_id)
    return list(SavedView.objects.filter(visible, page=page).select_related("owner").order_by("name", "id"))


def saved_view_get_for_user(*, user, pk: int) -> SavedView:
    """A view the user may see and apply: their own, or one shared with their unit; otherwise not found."""
    if not (user and user.is_authenticated and user.is_active):
        raise Http404
    visible = Q(owner=user)
    if user.unit_id is not None:
        visible |= Q(shared=True, unit_id=user.unit_id)
    try:
        return SavedView.objects.get(visible, pk=pk)
    except SavedView.DoesNotExist:
        raise Http404 from None


def default_view_for(*, user, page: str) -> SavedView | None:
    if not (user and user.is_authenticated and user.is_active):
        return None
    found = (
        DefaultView.objects.filter(user=user, page=page)
        .filter(Q(view__owner=user) | Q(view__shared=True, view__unit_id=user.unit_id))
        .select_related("view")
        .first()
    )
    return found.view if found else None
