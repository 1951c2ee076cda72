"""Reads about visits, scoped to the user's unit; and the figures a dashboard needs about them."""

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.http import Http404

from servicedesk.prepared import PreparedRead
from servicedesk.scoping import scope_to_user

from .models import RepairCall, ServiceVoucher, Visit

UNSIGNED_PAGE_SIZE = 100


_HAS_PHOTO = ExpressionWrapper(Q(work_photo__isnull=False), output_field=BooleanField())


def _with_signature_facts(qs: QuerySet) -> QuerySet:
    signed = ServiceVoucher.objects.filter(visit=OuterRef("pk"), status=ServiceVoucher.Status.SIGNED)
    # The photo is read only by the photo view: a list never loads the bytes.
    return qs.defer("work_photo").annotate(has_signed_voucher=Exists(signed), has_photo=_HAS_PHOTO)


_CALL_VISITS = PreparedRead(
    "call_visits",
    lambda *, call_id: (
        Visit.objects.filter(call_id=call_id)
        .defer("work_photo")
        .annotate(has_photo=_HAS_PHOTO)
        .select_related("technician", "arrival_entered_by", "no_signature_by")
        .order_by("number")
    ),
)


def visits_of_call(*, call: RepairCall, signed_visit_ids: set[int] | None = None) -> list[Visit]:
    """The call's visits in order; ``needs_reason`` marks those with neither a signed voucher nor a reason.

    ``signed_visit_ids``: the visits with a signed voucher when the caller has read them already (the call
    page, from the call's vouchers): the query then leaves out its EXISTS.
    """
    if signed_visit_ids is None:
        qs = _with_signature_facts(Visit.objects.filter(call_id=call.pk))
        visits = list(qs.select_related("technician", "arrival_entered_by", "no_signature_by").order_by("number"))
    else:
        visits = _CALL_VISITS.fetch(call_id=call.pk)
    for visit in visits:
        if signed_visit_ids is not None:
            visit.has_signed_voucher = visit.pk in signed_visit_ids
        visit.needs_reason = not visit.has_signed_voucher and not visit.no_signature_reason
    return visits


def visit_get_for_user(*, user, pk: int, with_photo: bool = False) -> Visit:
    qs = scope_to_user(Visit.objects.select_related("call"), user=user)
    if not with_photo:
        qs = qs.defer("work_photo")
    try:
        return qs.get(pk=pk)
    except Visit.DoesNotExist:
        raise Http404 from None


def unsigned_visits(*, user, limit: int = UNSIGNED_PAGE_SIZE) -> list[Visit]:
    """Visits the customer did not sign (absent, refused), newest first: the supervisor's list."""
    qs = scope_to_user(Visit.objects.all(), user=user).exclude(no_signature_reason="")
    return list(
        _with_signature_facts(qs)
        .select_related("call__customer", "technician", "no_signature_by", "unit")
        .order_by("-no_signature_at", "-id")[:limit]
    )


def first_time_fixed(qs: QuerySet) -> QuerySet:
    """Calls resolved on their first visit (DOMAIN 1: "first-time fix")."""
    return qs.filter(resolved_at__isnull=False, visit_count=1)


def first_time_fix_figures(qs: QuerySet) -> dict:
    """Resolved calls, those fixed on the first visit, and typed (not tapped) first arrivals, in one query."""
    return qs.aggregate(
        resolved=Count("id", filter=Q(resolved_at__isnull=False)),
        first_time_fixed=Count("id", filter=Q(resolved_at__isnull=False, visit_count=1)),
        arrivals_typed=Count("id", filter=Q(arrival_typed=True)),
        logged_late=Count("id", filter=Q(logged_late=True)),
    )


def current_visit(*, call: RepairCall) -> Visit | None:
    """The call's latest visit (the one a new voucher records)."""
    return Visit.objects.defer("work_photo").filter(call_id=call.pk, number=call.visit_count).first()
