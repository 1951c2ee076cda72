"""The call history's bulk actions (servicedesk.bulk): assign, close, print the vouchers together."""

from django.core.cache import caches
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from repairs import selectors as repair_selectors
from repairs import selectors_field
from repairs.forms import FILTER_OPTIONS_SECONDS
from repairs.models import RepairCall, ServiceVoucher
from repairs.services import repair_call_close, repair_call_dispatch
from servicedesk.bulk import BULK_MAX, BulkAction, BulkOutcome, bulk_register, each
from servicedesk.documents import pdf_response, render_pdf_many
from servicedesk.exceptions import ApplicationError

PAGE = "calls"


def _selected(*, user, ids):
    calls = list(repair_selectors.repair_call_queryset(user=user).filter(pk__in=ids).order_by("number"))
    return calls, len(ids) - len(calls)


def _not_found(outcome: BulkOutcome, missing: int) -> BulkOutcome:
    if missing:
        outcome.refused.append(_("%(count)d of the selected calls are not yours to act on") % {"count": missing})
    return outcome


def technician_choices(user):
    """The technicians the selection may be assigned to, read once a minute per unit and language (like the
    filters' options, repairs.forms); the assignment itself checks the technician again."""
    both = user.sees_all_units  # head office sees every unit's technicians: each is named with their unit
    key = f"records-bulk-technicians:{'all' if both else user.unit_id}:{get_language()}"
    listed = caches["local"].get(key)
    if listed is None:
        technicians = repair_selectors.technicians_visible(user=user).select_related("unit")
        listed = [(tech.pk, f"{tech} · {tech.unit}" if both and tech.unit_id else str(tech)) for tech in technicians]
        caches["local"].set(key, listed, FILTER_OPTIONS_SECONDS)
    return listed


def assign(*, user, ids, data) -> BulkOutcome:
    technician = repair_selectors.technicians_visible(user=user).filter(pk=data.get("technician") or 0).first()
    if technician is None or not str(data.get("technician", "")).isdigit():
        raise ApplicationError(_("Choose the technician to assign the selected calls to."))
    calls, missing = _selected(user=user, ids=ids)

    def dispatch(call):
        if call.status != RepairCall.Status.LOGGED:
            # A reassignment needs its own reason: it is made on the call's page, one call at a time.
            raise ApplicationError(_("only calls waiting for a technician are assigned together"))
        repair_call_dispatch(user=user, call_id=call.pk, technician=technician, expected_version=call.version)

    return _not_found(each(calls, dispatch, name=lambda call: call.number), missing)


def close(*, user, ids, data) -> BulkOutcome:
    calls, missing = _selected(user=user, ids=ids)
    outcome = each(
        calls,
        lambda call: repair_call_close(user=user, call_id=call.pk, expected_version=call.version),
        name=lambda call: call.number,
    )
    return _not_found(outcome, missing)


def print_vouchers(*, user, ids, data) -> BulkOutcome:
    vouchers = list(
        selectors_field.voucher_queryset(user=user)
        .filter(call_id__in=ids)
        .select_related("call__customer", "call__site", "call__product", "technician", "unit")
        .order_by("call__number", "number")[: BULK_MAX + 1]
    )
    if not vouchers:
        raise ApplicationError(_("The selected calls have no service vouchers yet."))
    if len(vouchers) > BULK_MAX:
        raise ApplicationError(_("Select fewer calls: at most %(max)d vouchers print together.") % {"max": BULK_MAX})
    documents = [
        (
            "repairs/pdf/voucher.html",
            {"voucher": voucher, "call": voucher.call, "ledger": selectors_field.voucher_fee_ledger(voucher=voucher)},
        )
        for voucher in vouchers
    ]
    return BulkOutcome(response=pdf_response(render_pdf_many(documents), filename="vouchers"))


def register_bulk_actions() -> None:
    bulk_register(
        BulkAction(
            page=PAGE,
            name="assign",
            label=gettext_lazy("Assign"),
            permission="repairs.dispatch_call",
            run=assign,
            fields=(("technician", gettext_lazy("Technician"), technician_choices),),
            done_message=gettext_lazy("%(count)d calls assigned."),
        )
    )
    bulk_register(
        BulkAction(
            page=PAGE,
            name="close",
            label=gettext_lazy("Close"),
            permission="repairs.close_call",
            run=close,
            confirm=gettext_lazy("Close the selected calls? A closed call cannot be reopened."),
            done_message=gettext_lazy("%(count)d calls closed."),
        )
    )
    bulk_register(
        BulkAction(
            page=PAGE,
            name="print-vouchers",
            label=gettext_lazy("Print vouchers"),
            permission=f"repairs.view_{ServiceVoucher._meta.model_name}",
            run=print_vouchers,
        )
    )
