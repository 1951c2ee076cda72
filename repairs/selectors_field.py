"""Reads for field service (vouchers, fees, carry-in repair), always scoped to the user's unit."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from servicedesk.chinese_amounts import amount_in_capitals
from servicedesk.models import OrgUnit
from servicedesk.prepared import PreparedRead
from servicedesk.queries import get_one
from servicedesk.scoping import NOTHING, in_unit, scope_to_user, scope_unit_of, user_may_act_in_unit

from .models import (
    FeeAdjustment,
    FeeCollection,
    RegisterEntry,
    RepairCall,
    RepairCard,
    RepairCardDelay,
    ServiceVoucher,
    Visit,
    VoucherPart,
)
from .models_quotes import RepairCardFee
from .services.fees import (
    CorrectionEffect,
    FeeAccount,
    FeePolicy,
    correction_effect,
    fee_account_for,
    fee_policy_for,
)

FEN = Decimal("0.01")  # money to the fen


def _get(qs: QuerySet, pk: int):
    # Not get(): its LIMIT 21 makes PostgreSQL weigh fast-start plans for every order of the joins (the call
    # page's query: 4.3 ms of planning against 1.6 ms without it).
    try:
        return get_one(qs, pk=pk)
    except qs.model.DoesNotExist:
        raise Http404 from None


def _one_in_scope(read: PreparedRead, *, user, **values):
    """One row of a prepared read (servicedesk.prepared) that filters by ``unit_id`` as scope_to_user would
    (scope_unit_of: None for head office), or 404."""
    unit_id = scope_unit_of(user)
    found = [] if unit_id is NOTHING else read.fetch(unit_id=unit_id, **values)
    if not found:
        raise Http404
    return found[0]


def units_for_filter(*, user) -> QuerySet:
    """Units a user may pick in a filter: every branch or centre for head office, else none (own unit implied)."""
    if user.sees_all_units:
        return OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS).order_by("name")
    return OrgUnit.objects.none()


# --- Vouchers ------------------------------------------------------------------------------------------


def voucher_queryset(*, user) -> QuerySet:
    return scope_to_user(ServiceVoucher.objects.all(), user=user)


def voucher_get_for_user(*, user, pk: int) -> ServiceVoucher:
    return _get(
        voucher_queryset(user=user)
        .select_related(
            "unit", "call__customer", "call__site", "call__product", "technician", "corrects", "invoiced_by"
        )
        .prefetch_related(
            Prefetch("parts", queryset=VoucherPart.objects.order_by("id")),
            Prefetch("corrections", queryset=ServiceVoucher.objects.order_by("id")),
        ),
        pk,
    )


def signed_vouchers_of_call(*, user, call: RepairCall) -> QuerySet:
    return voucher_queryset(user=user).filter(call=call, status=ServiceVoucher.Status.SIGNED).order_by("-signed_at")


# --- Fees and the daily reconciliation -------------------------------------------------------------------


def fee_get_for_user(*, user, pk: int) -> FeeCollection:
    return _get(
        scope_to_user(FeeCollection.objects.all(), user=user).select_related(
            "voucher__call__customer", "voucher__call__product", "collected_on", "unit", "technician"
        ),
        pk,
    )


@dataclass
class FeeLedger:
    """A visit's money on its voucher's page: the fees (with receipts), the adjustment lines, the account."""

    fees: list[FeeCollection]
    adjustments: list[FeeAdjustment]
    account: FeeAccount

    @property
    def fee(self) -> FeeCollection | None:
        return next((f for f in self.fees if f.kind == FeeCollection.Kind.FEE), None)


def voucher_fee_ledger(*, voucher: ServiceVoucher) -> FeeLedger:
    """The money of the visit whose current voucher is ``voucher``; a superseded voucher's moved to its correction."""
    return FeeLedger(
        fees=list(
            FeeCollection.objects.filter(voucher=voucher)
            .select_related("collected_on", "technician", "received_by")
            .order_by("collected_at", "id")
        ),
        adjustments=list(
            FeeAdjustment.objects.filter(voucher=voucher)
            .select_related("created_by", "made_on")
            .order_by("created_at", "id")
        ),
        account=fee_account_for(voucher=voucher),
    )


def fee_receipt_context(*, fee: FeeCollection) -> dict:
    """What the customer's receipt (收款收据) prints: the amount in figures and in Chinese capitals."""
    return {
        "fee": fee,
        "call": fee.voucher.call,
        "amount_in_capitals": amount_in_capitals(fee.amount),
        "balance": fee.voucher.fee_balance,
    }


def correction_fee_effect(*, voucher: ServiceVoucher) -> CorrectionEffect | None:
    """For a draft correction of a visit with money whose total changed: what signing will do (else None)."""
    if not voucher.corrects_id or voucher.status != ServiceVoucher.Status.DRAFT:
        return None
    has_money, account = visit_money(voucher=voucher.corrects)
    if not has_money:
        return None
    effect = correction_effect(account=account, corrected_total=voucher.total_due)
    return effect if effect.change else None


def visit_money(*, voucher: ServiceVoucher) -> tuple[bool, FeeAccount]:
    """Whether the visit of ``voucher`` has money rows, and its account (as ``fee_account_for``), in one query.

    The signature page of a correction shows what signing will do to the visit's money; read in one query
    rather than four, it stays within the technician's page budget (issue 17).
    """

    def summed(model, **filters):
        rows = model.objects.filter(voucher_id=OuterRef("pk"), **filters).order_by().values("voucher_id")
        return Subquery(rows.annotate(s=Sum("amount")).values("s")[:1])

    row = (
        ServiceVoucher.objects.filter(pk=voucher.pk)
        .annotate(
            has_fees=Exists(FeeCollection.objects.filter(voucher_id=OuterRef("pk"))),
            has_adjustments=Exists(FeeAdjustment.objects.filter(voucher_id=OuterRef("pk"))),
            collected=summed(FeeCollection),
            refunded=summed(FeeAdjustment, kind=FeeAdjustment.Kind.REFUND),
            written_off=summed(FeeAdjustment, kind=FeeAdjustment.Kind.WRITE_OFF),
        )
        .values("has_fees", "has_adjustments", "collected", "refunded", "written_off")
        .get()
    )
    zero = Decimal("0.00")
    account = FeeAccount(
        total=voucher.total_due if voucher.settlement == ServiceVoucher.Settlement.ON_SITE else zero,
        collected=(row["collected"] or zero).quantize(FEN),
        refunded=(row["refunded"] or zero).quantize(FEN),
        written_off=(row["written_off"] or zero).quantize(FEN),
    )
    return row["has_fees"] or row["has_adjustments"], account


def _open_balances(*, user) -> QuerySet:
    # Only a signed voucher holds a balance (signing a correction clears the one it supersedes).
    return voucher_queryset(user=user).filter(fee_balance__gt=0, status=ServiceVoucher.Status.SIGNED)


def fee_balances_of_calls(*, user, call_ids) -> dict[int, Decimal]:
    """What each call's customer still owes for its visits (collect on site), by call id; one query.

    For the customer page and any list of calls: calls with nothing owed are left out.
    """
    rows = (
        _open_balances(user=user)
        .filter(call_id__in=list(call_ids))
        .values("call_id")
        .annotate(balance=Sum("fee_balance"))
        .order_by()
    )
    # SQLite sums decimals without their scale (50.5); money is shown to the fen (50.50).
    return {row["call_id"]: row["balance"].quantize(FEN) for row in rows}


def customer_fee_balance(*, user, customer_id: int) -> Decimal:
    """What a customer still owes for visits on all their calls (the customer page); 0.00 when nothing."""
    return (
        _open_balances(user=user)
        .filter(call__customer_id=customer_id)
        .aggregate(balance=Sum("fee_balance", default=Decimal("0.00")))["balance"]
        .quantize(FEN)
    )


def call_fee_balance(*, user, call: RepairCall) -> Decimal:
    """What the call's customer still owes for its visits; 0.00 when nothing is owed."""
    return fee_balances_of_calls(user=user, call_ids=[call.pk]).get(call.pk, Decimal("0.00"))


@dataclass
class TechnicianFees:
    technician: object
    collected: Decimal = Decimal("0.00")
    handed_over: Decimal = Decimal("0.00")
    outstanding: Decimal = Decimal("0.00")
    overdue: Decimal = Decimal("0.00")


@dataclass
class Reconciliation:
    unit: OrgUnit
    day: dt.date
    policy: FeePolicy
    rows: list[TechnicianFees]
    outstanding_fees: list[FeeCollection]
    to_invoice: list[ServiceVoucher]
    totals: TechnicianFees = field(default_factory=lambda: TechnicianFees(technician=None))
    # Signed "collect on site" vouchers with no fee recorded, and visits with a balance left after a fee.
    not_collected: list[ServiceVoucher] = field(default_factory=list)
    open_balances: list[ServiceVoucher] = field(default_factory=list)
    # The day's adjustment lines: differences after corrections, refunds, write-offs.
    adjustments: list[FeeAdjustment] = field(default_factory=list)
    # Carry-in repair fees the clerk collected that day when the repaired product was handed back (DOMAIN 2-3).
    card_fees: list[RepairCardFee] = field(default_factory=list)

    @property
    def card_fees_total(self) -> Decimal:
        return sum((f.amount for f in self.card_fees), Decimal("0.00"))

    @property
    def collected_in_all(self) -> Decimal:
        """Everything collected that day: the visits' fees and the hand-back fees."""
        return self.totals.collected + self.card_fees_total

    @property
    def not_collected_total(self) -> Decimal:
        return sum((v.fee_balance for v in self.not_collected), Decimal("0.00"))

    @property
    def open_balances_total(self) -> Decimal:
        return sum((v.fee_balance for v in self.open_balances), Decimal("0.00"))

    def adjustments_total(self, kind: str) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.kind == kind), Decimal("0.00"))

    @property
    def refunded_total(self) -> Decimal:
        return self.adjustments_total(FeeAdjustment.Kind.REFUND)

    @property
    def written_off_total(self) -> Decimal:
        return self.adjustments_total(FeeAdjustment.Kind.WRITE_OFF)

    @property
    def number(self) -> str:
        return f"FEE-{self.unit.code}-{self.day:%Y%m%d}"


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def fee_reconciliation_fees(*, user, unit: OrgUnit, day: dt.date) -> QuerySet:
    """The fees the reconciliation of ``day`` counts: collected or handed over that day, or outstanding at its end."""
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise Http404
    start, end = _day_bounds(day)
    outstanding_q = Q(collected_at__lt=end) & (Q(handed_over_at__isnull=True) | Q(handed_over_at__gte=end))
    return (
        scope_to_user(FeeCollection.objects.filter(unit=unit), user=user)
        .filter(
            Q(collected_at__gte=start, collected_at__lt=end)
            | Q(handed_over_at__gte=start, handed_over_at__lt=end)
            | outstanding_q
        )
        .order_by("collected_at", "id")
    )


def card_fees_of_day(*, user, unit: OrgUnit, day: dt.date) -> QuerySet:
    """The repair fees collected at hand-back that day (local time) in ``unit``, oldest first."""
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise Http404
    start, end = _day_bounds(day)
    return (
        scope_to_user(RepairCardFee.objects.filter(unit=unit), user=user)
        .filter(collected_at__gte=start, collected_at__lt=end)
        .order_by("collected_at", "id")
    )


def vouchers_of_day(*, user, unit: OrgUnit, day: dt.date) -> QuerySet:
    """The unit's service vouchers written that day (local time), oldest first."""
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise Http404
    start, end = _day_bounds(day)
    return (
        voucher_queryset(user=user)
        .filter(unit=unit, created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
    )


def fee_reconciliation(*, user, unit: OrgUnit, day: dt.date) -> Reconciliation:
    """Clause 十: per technician, fees collected and handed over that day and still outstanding at its end.

    Outstanding fees collected more than the unit's hand-over days before the
    end of the day are "overdue" and highlighted. A fixed number of queries.
    """
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise Http404
    start, end = _day_bounds(day)
    policy = fee_policy_for(unit_id=unit.pk)
    overdue_before = end - dt.timedelta(days=max(policy.handover_days, 1))
    fees = FeeCollection.objects.filter(unit=unit)
    outstanding_q = Q(collected_at__lt=end) & (Q(handed_over_at__isnull=True) | Q(handed_over_at__gte=end))
    sums = (
        fees.filter(
            Q(collected_at__gte=start, collected_at__lt=end)
            | Q(handed_over_at__gte=start, handed_over_at__lt=end)
            | outstanding_q
        )
        .values("technician")
        .annotate(
            collected=Sum("amount", filter=Q(collected_at__gte=start, collected_at__lt=end), default=Decimal("0")),
            handed_over=Sum(
                "amount", filter=Q(handed_over_at__gte=start, handed_over_at__lt=end), default=Decimal("0")
            ),
            outstanding=Sum("amount", filter=outstanding_q, default=Decimal("0")),
            overdue=Sum("amount", filter=outstanding_q & Q(collected_at__lt=overdue_before), default=Decimal("0")),
        )
        .order_by()
    )
    sums = list(sums)
    technicians = get_user_model().objects.in_bulk([row["technician"] for row in sums])
    rows = [
        TechnicianFees(
            technician=technicians[row["technician"]],
            collected=row["collected"],
            handed_over=row["handed_over"],
            outstanding=row["outstanding"],
            overdue=row["overdue"],
        )
        for row in sums
    ]
    rows.sort(key=lambda r: str(r.technician))
    totals = TechnicianFees(
        technician=None,
        collected=sum((r.collected for r in rows), Decimal("0.00")),
        handed_over=sum((r.handed_over for r in rows), Decimal("0.00")),
        outstanding=sum((r.outstanding for r in rows), Decimal("0.00")),
        overdue=sum((r.overdue for r in rows), Decimal("0.00")),
    )
    outstanding_fees = list(
        fees.filter(outstanding_q)
        .select_related("technician", "voucher__call__customer")
        .order_by("collected_at", "id")
    )
    for fee in outstanding_fees:
        fee.is_overdue = fee.collected_at < overdue_before
    to_invoice = list(
        voucher_queryset(user=user)
        .filter(
            unit=unit,
            settlement=ServiceVoucher.Settlement.INVOICE,
            status=ServiceVoucher.Status.SIGNED,
            invoiced_at__isnull=True,
        )
        .select_related("call__customer", "technician")
        .order_by("signed_at", "id")
    )
    # Balances as they stand now, of visits signed by the end of the day (a fee recorded later clears them).
    open_vouchers = list(
        _open_balances(user=user)
        .filter(unit=unit, signed_at__lt=end)
        .annotate(has_fee=Exists(FeeCollection.objects.filter(voucher=OuterRef("pk"))))
        .select_related("call__customer", "technician")
        .order_by("signed_at", "id")
    )
    adjustments = list(
        FeeAdjustment.objects.filter(unit=unit, created_at__gte=start, created_at__lt=end)
        .select_related("voucher__call__customer", "created_by")
        .order_by("created_at", "id")
    )
    return Reconciliation(
        unit=unit,
        day=day,
        policy=policy,
        rows=rows,
        outstanding_fees=outstanding_fees,
        to_invoice=to_invoice,
        totals=totals,
        not_collected=[v for v in open_vouchers if not v.has_fee],
        open_balances=[v for v in open_vouchers if v.has_fee],
        adjustments=adjustments,
        card_fees=list(
            card_fees_of_day(user=user, unit=unit, day=day).select_related("card__call__customer", "collected_by")
        ),
    )


# --- Repair cards, the register, supervision -------------------------------------------------------------


def card_queryset(*, user) -> QuerySet:
    return scope_to_user(RepairCard.objects.all(), user=user)


def card_get_for_user(*, user, pk: int) -> RepairCard:
    return _get(
        card_queryset(user=user).select_related(
            "unit",
            "call__customer",
            "call__site",
            "call__product",
            "voucher",
            "technician",
            "register_entry__received_by",
            "register_entry__taken_by",
            "register_entry__released_by",
        ),
        pk,
    )


def card_list(*, user, unit: OrgUnit | None = None, open_only: bool = True, technician=None) -> list[RepairCard]:
    qs = card_queryset(user=user).select_related("call__customer", "technician", "register_entry", "unit")
    if unit is not None:
        qs = qs.filter(unit=unit)
    if open_only:
        qs = qs.exclude(status=RepairCard.Status.RETURNED)
    if technician is not None:
        qs = qs.filter(technician=technician)
    return list(qs.order_by("promised_at", "id")[:500])


def register_entry_get_for_user(*, user, pk: int) -> RegisterEntry:
    return _get(
        scope_to_user(RegisterEntry.objects.all(), user=user).select_related(
            "unit", "card", "call__customer", "taken_by", "received_by", "released_by"
        ),
        pk,
    )


def register_in_hands(
    *, user, unit: OrgUnit | None = None, min_age_days: int | None = None, now: dt.datetime | None = None
) -> list[RegisterEntry]:
    """Which customer products are in our hands now, where, since when, for which call. Oldest first."""
    now = now or timezone.now()
    qs = (
        scope_to_user(RegisterEntry.objects.filter(released_at__isnull=True), user=user)
        .select_related("unit", "card", "call__customer", "taken_by", "received_by")
        .order_by("taken_at", "id")
    )
    if unit is not None:
        qs = qs.filter(unit=unit)
    if min_age_days:
        qs = qs.filter(taken_at__lte=now - dt.timedelta(days=min_age_days))
    entries = list(qs)
    for entry in entries:
        entry.age_days = (now - entry.taken_at).days
    return entries


def delay_get_for_user(*, user, pk: int) -> RepairCardDelay:
    return _get(
        scope_to_user(RepairCardDelay.objects.all(), user=user).select_related(
            "card__call__customer", "card__technician", "unit"
        ),
        pk,
    )


@dataclass
class Supervision:
    escalated: list[RepairCardDelay]
    reported: list[RepairCardDelay]
    letters: list[RepairCardDelay]


def supervision(*, user, now: dt.datetime | None = None, recent_days: int = 14) -> Supervision:
    """The supervisor's page: escalated cards waiting for a new promised time, recent reports, letters to print."""
    now = now or timezone.now()
    qs = scope_to_user(RepairCardDelay.objects.all(), user=user).select_related(
        "card__call__customer", "card__technician", "reported_by", "rescheduled_by", "unit"
    )
    escalated = list(
        qs.filter(escalated_at__isnull=False, new_promised_at__isnull=True, card__status__in=RepairCard.OPEN).order_by(
            "promised_at", "id"
        )
    )
    reported = list(
        qs.filter(reported_at__gte=now - dt.timedelta(days=recent_days)).order_by("-reported_at", "-id")[:100]
    )
    letters = list(
        qs.filter(customer_notice=RepairCardDelay.CustomerNotice.LETTER, letter_sent_at__isnull=True).order_by(
            "rescheduled_at", "id"
        )
    )
    return Supervision(escalated=escalated, reported=reported, letters=letters)


# --- The technician's pages (issue 17): each read in a fixed, small number of queries ----------------------


def _voucher_form_call_queryset(*, pk, unit_id) -> QuerySet:
    current = Visit.objects.filter(call_id=OuterRef("pk"), number=OuterRef("visit_count")).values("arrived_at")[:1]
    calls = in_unit(RepairCall.objects.filter(pk=pk), unit_id)
    return calls.select_related("customer", "site", "product").annotate(visit_arrived_at=Subquery(current)).order_by()


_VOUCHER_FORM_CALL = PreparedRead("voucher_form_call", _voucher_form_call_queryset)


def call_for_voucher_form(*, user, pk: int) -> RepairCall:
    """The call a new voucher is written for, with its current visit's arrival (``visit_arrived_at``)."""
    return _one_in_scope(_VOUCHER_FORM_CALL, user=user, pk=pk)


def voucher_get_for_form(*, user, pk: int) -> ServiceVoucher:
    """A voucher for its edit form and its signature page: the call's header, the parts with their catalogue rows."""
    return _get(
        voucher_queryset(user=user)
        .select_related("call__customer", "call__site", "call__product", "corrects")
        .prefetch_related(Prefetch("parts", queryset=VoucherPart.objects.select_related("part").order_by("id"))),
        pk,
    )


_PERSON = ("id", "username", "first_name", "last_name")


def _card_page_queryset(*, pk, unit_id) -> QuerySet:
    columns = [f.attname for f in RepairCard._meta.concrete_fields]
    columns += [
        f"register_entry__{f.attname}"
        for f in RegisterEntry._meta.concrete_fields
        if f.name not in ("release_signature_png", "pickup_signature_png")
    ]
    columns += ["call__id", "call__number", "call__status", "call__unit_id", "call__customer_id"]
    columns += ["call__customer__id", "call__customer__name", "call__customer__phone", "voucher__id", "voucher__number"]
    for person in ("technician", "register_entry__taken_by", "register_entry__received_by"):
        columns += [f"{person}__{name}" for name in _PERSON]
    cards = in_unit(RepairCard.objects.filter(pk=pk), unit_id)
    return (
        cards.select_related(
            "call__customer", "voucher", "technician", "register_entry__taken_by", "register_entry__received_by"
        )
        .only(*columns)
        .order_by()
    )


_CARD_PAGE = PreparedRead("card_page", _card_page_queryset)
_CARD_DELAYS = PreparedRead(
    "card_delays",
    lambda *, card_id: (
        RepairCardDelay.objects.filter(card_id=card_id)
        .select_related("reported_by", "rescheduled_by")
        .order_by("promised_at", "id")
    ),
)


def card_get_for_page(*, user, pk: int) -> RepairCard:
    """A repair card for its page: the columns the page shows of its call, voucher, register entry and people.

    The card page is opened on every bench step; reading every column of five joined tables (four of them
    users) cost more than the query itself, and the return signature's bytes are not shown there. A prepared
    read (servicedesk.prepared): compiled once per process, planned once per connection.
    """
    return _one_in_scope(_CARD_PAGE, user=user, pk=pk)


def card_delays(*, card: RepairCard) -> list[RepairCardDelay]:
    """The card's reported delays, by the promised date (the card is the caller's, already scoped)."""
    return _CARD_DELAYS.fetch(card_id=card.pk)


@dataclass(frozen=True)
class CallVoucher:
    pk: int
    number: str
    status: str
    cover: str

    def get_absolute_url(self) -> str:
        return reverse("repairs:voucher_detail", args=[self.pk])

    def get_status_display(self) -> str:
        return str(ServiceVoucher.Status(self.status).label)

    def get_cover_display(self) -> str:
        return str(ServiceVoucher.Cover(self.cover).label)


def _call_page_queryset(*, pk, unit_id) -> QuerySet:
    calls = in_unit(RepairCall.objects.filter(pk=pk), unit_id)
    return calls.select_related(
        "unit", "customer", "site", "zone", "product", "technician", "created_by", "repair_card"
    ).order_by()


_CALL_PAGE = PreparedRead("call_page", _call_page_queryset)
_CALL_PAGE_VOUCHERS = PreparedRead(
    "call_page_vouchers",
    lambda *, call_id, unit_id: (
        in_unit(ServiceVoucher.objects.filter(call_id=call_id), unit_id)
        .only("pk", "number", "status", "cover", "fee_balance", "visit_id")
        .order_by()
    ),
)


def call_detail_get_for_user(*, user, pk: int) -> RepairCall:
    """The call page's call with its related rows and repair card (one query), then its vouchers (one more).

    ``call.voucher_list`` (CallVoucher, in order), ``call.fee_balance_owed`` (Decimal: what the signed
    vouchers still hold, as ``fee_balances_of_calls`` counts it) and ``call.signed_visit_ids`` (the visits
    with a signed voucher, for ``selectors_visits.visits_of_call``) are set. The vouchers are read on their own,
    not as subqueries of the call's query: compiling those grouped subqueries cost more than the query they
    save (issue 17: 7.4 ms for the one query, 5.3 ms for the two).
    """
    call = _one_in_scope(_CALL_PAGE, user=user, pk=pk)
    rows = [
        (v.pk, v.number, v.status, v.cover, v.fee_balance, v.visit_id)
        for v in _CALL_PAGE_VOUCHERS.fetch(call_id=call.pk, unit_id=scope_unit_of(user))
    ]
    call.voucher_list = [CallVoucher(pk_, number, status, cover) for pk_, number, status, cover, *_ in rows]
    call.voucher_list.sort(key=lambda voucher: voucher.pk)  # in Python: the query's ORDER BY costs its compile
    owed = sum(
        (
            balance
            for _, _, status, _, balance, _ in rows
            if status == ServiceVoucher.Status.SIGNED and balance is not None and balance > 0
        ),
        Decimal("0"),
    )
    call.fee_balance_owed = Decimal(owed).quantize(FEN)
    call.signed_visit_ids = {
        visit_id for _, _, status, _, _, visit_id in rows if status == ServiceVoucher.Status.SIGNED and visit_id
    }
    return call
