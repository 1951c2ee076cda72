"""Reads: the cover decision other apps call, and the pages' queries, always scoped to the user's unit."""

import datetime as dt

from django.core.paginator import Page, Paginator
from django.db.models import Exists, Prefetch, Q, QuerySet
from django.http import Http404

from repairs.models import Product, Site
from servicedesk.queries import get_one
from servicedesk.scoping import scope_to_user

from .models import (
    Contract,
    ContractImport,
    ContractProduct,
    ContractSite,
    ContractTerm,
    ExpiryNotice,
    PlannedVisit,
    RenewalFollowUp,
)

LIST_PAGE_SIZE = 50


# --- The cover decision ----------------------------------------------------------------------------


def _covering_terms(*, product: Product | None, site: Site | None, on: dt.date):
    """The terms that cover this product or site on the day ``on`` (see ``contract_covering``), or None."""
    site_ids = {s for s in (site.pk if site else None, product.site_id if product else None) if s}
    if product is None and not site_ids:
        return None
    covering = Q(pk__in=[])
    if product is not None:
        covering |= Q(contract_id__in=ContractProduct.objects.filter(product=product).values("contract_id"))
    if site_ids:
        covering |= Q(contract_id__in=ContractSite.objects.filter(site_id__in=site_ids).values("contract_id"))
    return ContractTerm.objects.filter(covering, start_on__lte=on, end_on__gte=on)


def contract_covering(*, product: Product | None = None, site: Site | None = None, on: dt.date) -> ContractTerm | None:
    """The contract term that covers this product (by serial number) or site on the day ``on``, if any.

    A product is covered by a contract naming it, or naming the site it stands
    at; a site by a contract naming it. Only the term's dates count: a term that
    lapsed (ended without renewal) covers nothing after its last day, and a
    renewed contract covers through its next term.
    """
    terms = _covering_terms(product=product, site=site, on=on)
    return None if terms is None else terms.select_related("contract").order_by("-end_on", "-id").first()


def contract_cover_condition(*, product: Product | None = None, site: Site | None = None, on: dt.date):
    """The same cover as ``contract_covering``, as a condition for the database to evaluate (an ``Exists``) inside
    the statement that writes what depends on it; None when there is nothing to look for."""
    terms = _covering_terms(product=product, site=site, on=on)
    return None if terms is None else Exists(terms)


def contract_cover_of(*, product_ids, site_ids, on: dt.date) -> tuple[set[int], set[int]]:
    """(the product ids, the site ids) among these that a contract names and one of its terms covers on ``on``:
    ``contract_covering`` for a whole list, in two queries (a product at a covered site is covered too; the
    caller knows where its products stand)."""
    running = ContractTerm.objects.filter(start_on__lte=on, end_on__gte=on).values("contract_id")
    products = (
        set(
            ContractProduct.objects.filter(product_id__in=list(product_ids), contract_id__in=running).values_list(
                "product_id", flat=True
            )
        )
        if product_ids
        else set()
    )
    sites = (
        set(
            ContractSite.objects.filter(site_id__in=list(site_ids), contract_id__in=running).values_list(
                "site_id", flat=True
            )
        )
        if site_ids
        else set()
    )
    return products, sites


def is_covered(*, product: Product | None = None, site: Site | None = None, on: dt.date) -> bool:
    return contract_covering(product=product, site=site, on=on) is not None


# --- Contracts ------------------------------------------------------------------------------------------


class ListState:
    ALL = ""
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    RENEWED = "renewed"


def term_state(term: ContractTerm, *, today: dt.date) -> str:
    """Where a term stands for the list: renewed, expired (lapsed), expiring (inside its window) or active."""
    if term.status == ContractTerm.Status.RENEWED:
        return ListState.RENEWED
    if term.status == ContractTerm.Status.EXPIRED or term.end_on < today:
        return ListState.EXPIRED
    if term.notice_on <= today:
        return ListState.EXPIRING
    return ListState.ACTIVE


def _state_filter(state: str, today: dt.date) -> Q:
    active = Q(status=ContractTerm.Status.ACTIVE, end_on__gte=today)
    return {
        ListState.ACTIVE: active & Q(notice_on__gt=today),
        ListState.EXPIRING: active & Q(notice_on__lte=today),
        ListState.EXPIRED: Q(status=ContractTerm.Status.EXPIRED)
        | Q(status=ContractTerm.Status.ACTIVE, end_on__lt=today),
        ListState.RENEWED: Q(status=ContractTerm.Status.RENEWED),
    }.get(state, Q())


def contract_term_queryset(*, user) -> QuerySet:
    return scope_to_user(ContractTerm.objects.all(), user=user, unit_field="contract__unit")


def contract_term_list(*, user, filters: dict, today: dt.date, page_number=1, per_page=LIST_PAGE_SIZE) -> Page:
    """One row per contract term, by end date; a fixed number of queries whatever the page holds."""
    qs = contract_term_filtered(user=user, filters=filters, today=today)
    qs = (
        qs.select_related("contract__customer", "contract__unit", "contract__contract_type")
        .prefetch_related(
            Prefetch(
                "contract__covered_products",
                queryset=ContractProduct.objects.select_related("product").order_by("product__serial_number"),
            )
        )
        .order_by("end_on", "id")
    )
    page = Paginator(qs, per_page).get_page(page_number)
    for term in page.object_list:
        term.state = term_state(term, today=today)
    return page


def contract_term_filtered(*, user, filters: dict, today: dt.date) -> QuerySet:
    """The terms the contract list's filters select, by end date (the list pages them; its export streams them)."""
    qs = contract_term_queryset(user=user).filter(_state_filter(filters.get("state") or "", today))
    if filters.get("unit"):
        qs = qs.filter(contract__unit=filters["unit"])
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(contract__number__icontains=q)
            | Q(contract__customer__name__icontains=q)
            | Q(contract_id__in=ContractProduct.objects.filter(product__serial_number__iexact=q).values("contract_id"))
        )
    return qs.order_by("end_on", "id")


def contract_get_for_user(*, user, pk: int) -> Contract:
    try:
        return get_one(
            scope_to_user(Contract.objects.all(), user=user)
            .select_related("unit", "customer", "contract_type", "handled_by", "import_batch__uploaded_by")
            .defer("import_batch__content", "import_batch__errors")
            .prefetch_related(
                Prefetch("covered_products", queryset=ContractProduct.objects.select_related("product")),
                Prefetch("covered_sites", queryset=ContractSite.objects.select_related("site__zone")),
                Prefetch(
                    "terms",
                    queryset=ContractTerm.objects.select_related("expiry_notice", "follow_up__assigned_to").order_by(
                        "-sequence"
                    ),
                ),
            ),
            pk=pk,
        )
    except Contract.DoesNotExist:
        raise Http404 from None


def contract_term_get_for_user(*, user, pk: int) -> ContractTerm:
    try:
        return (
            contract_term_queryset(user=user)
            .select_related("contract__customer", "contract__unit", "contract__contract_type")
            .get(pk=pk)
        )
    except ContractTerm.DoesNotExist:
        raise Http404 from None


def expiry_notice_get_for_user(*, user, pk: int) -> ExpiryNotice:
    try:
        return (
            scope_to_user(ExpiryNotice.objects.all(), user=user)
            .select_related("term__contract__customer", "term__contract__unit", "term__contract__contract_type")
            .get(pk=pk)
        )
    except ExpiryNotice.DoesNotExist:
        raise Http404 from None


def expiry_notices_for_user(*, user, ids) -> list[ExpiryNotice]:
    """The notices among ``ids`` the user may see, in number order, with what a printed notice shows."""
    return list(
        scope_to_user(ExpiryNotice.objects.filter(pk__in=ids), user=user)
        .select_related("term__contract__customer", "term__contract__unit", "term__contract__contract_type")
        .order_by("number")
    )


# --- Follow-ups -----------------------------------------------------------------------------------------


def follow_ups_list(*, user, filters: dict, today: dt.date, limit: int = 200) -> list[RenewalFollowUp]:
    """The unit's renewal follow-ups: open ones by the date the answer is due (overdue first); or the closed ones."""
    qs = scope_to_user(RenewalFollowUp.objects.all(), user=user)
    if filters.get("unit"):
        qs = qs.filter(unit=filters["unit"])
    if filters.get("mine"):
        qs = qs.filter(assigned_to=user)
    if filters.get("closed"):
        qs = qs.exclude(status__in=RenewalFollowUp.PENDING).order_by("-closed_at", "-id")
    else:
        qs = qs.filter(status__in=RenewalFollowUp.PENDING).order_by("due_on", "id")
        if filters.get("due"):
            qs = qs.filter(due_on__lte=today)
    return list(qs.select_related("term__contract__customer", "term__contract__unit", "assigned_to", "notice")[:limit])


def follow_ups_due_count(*, user, today: dt.date) -> int:
    return (
        scope_to_user(RenewalFollowUp.objects.all(), user=user)
        .filter(status__in=RenewalFollowUp.PENDING, due_on__lte=today)
        .count()
    )


def follow_up_get_for_user(*, user, pk: int) -> RenewalFollowUp:
    try:
        return (
            scope_to_user(RenewalFollowUp.objects.all(), user=user)
            .select_related(
                "term__contract__customer",
                "term__contract__unit",
                "term__contract__contract_type",
                "term__next_term",
                "assigned_to",
                "notice",
                "closed_by",
            )
            .get(pk=pk)
        )
    except RenewalFollowUp.DoesNotExist:
        raise Http404 from None


# --- Imports --------------------------------------------------------------------------------------------


def contract_imports_recent(*, user, limit: int = 20) -> list[ContractImport]:
    return list(
        scope_to_user(ContractImport.objects.all(), user=user)
        .defer("content", "errors")
        .select_related("unit", "uploaded_by")
        .order_by("-created_at")[:limit]
    )


def contract_import_get_for_user(*, user, pk: int) -> ContractImport:
    try:
        return scope_to_user(ContractImport.objects.all(), user=user).defer("content").get(pk=pk)
    except ContractImport.DoesNotExist:
        raise Http404 from None


# --- Planned maintenance visits (DOMAIN 4) ------------------------------------------------------------------

# A planned visit is done once its call is resolved (or carried in and closed); cancelled is neither.
VISIT_DONE = ("resolved", "carried_in", "closed")


def planned_visits_of_contract(*, contract: Contract) -> dict:
    """The contract's planned visits with their calls, and how many are done and still due."""
    visits = list(
        contract.planned_visits.select_related("call", "call__technician", "site", "term").order_by("planned_on", "id")
    )
    done = sum(1 for v in visits if v.call and v.call.status in VISIT_DONE)
    cancelled = sum(1 for v in visits if v.call and v.call.status == "cancelled")
    return {"visits": visits, "done": done, "due": len(visits) - done - cancelled}


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def planned_visits_of_week(*, user, week: dt.date) -> list:
    """The unit's planned maintenance visits of the week (Monday to Sunday) starting ``week``."""
    start = week_start(week)
    return list(
        scope_to_user(PlannedVisit.objects.all(), user=user)
        .filter(planned_on__gte=start, planned_on__lt=start + dt.timedelta(days=7))
        .select_related("contract", "site", "call", "call__technician", "call__customer", "call__product", "unit")
        .order_by("planned_on", "call__appointment_at", "id")
    )
