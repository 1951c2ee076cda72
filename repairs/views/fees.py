"""The clerk's side of clause 十: confirm cash hand-overs, invoice large amounts, the daily reconciliation."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.forms import bad_request_from

from .. import selectors_field, services
from ..forms_field import InvoiceForm, ReconciliationFilterForm


def reconciliation_filters(*, user, params):
    """The reconciliation's form, unit and day from its query string (the page and its exports)."""
    units = selectors_field.units_for_filter(user=user)
    form = ReconciliationFilterForm(params or None, units=units)
    if form.is_bound and not form.is_valid():
        raise bad_request_from(form)  # e.g. ?day=9999-12-31: a 400 saying why, never a 500
    data = form.cleaned_data if form.is_bound else {}
    unit = data.get("unit") or (user.unit if not user.sees_all_units else None)
    day = data.get("day") or timezone.localdate()
    return form, unit, day


def _reconciliation_for(request):
    user = request.user
    form, unit, day = reconciliation_filters(user=user, params=request.GET)
    if unit is None:
        return form, None
    return form, selectors_field.fee_reconciliation(user=user, unit=unit, day=day)


@require_GET
@permission_required("repairs.view_feecollection", raise_exception=True)
def reconciliation(request):
    form, report = _reconciliation_for(request)
    return render(
        request,
        "repairs/fees_reconciliation.html",
        {"form": form, "report": report, "invoice_form": InvoiceForm(), "query": request.GET.urlencode()},
    )


@require_GET
@permission_required("repairs.view_feecollection", raise_exception=True)
def reconciliation_pdf(request):
    _form, report = _reconciliation_for(request)
    if report is None:
        raise Http404
    pdf = render_pdf(template="repairs/pdf/reconciliation.html", context={"report": report})
    return pdf_response(pdf, filename=report.number)


@require_POST
@permission_required("repairs.invoice_voucher", raise_exception=True)
def fee_confirm(request, pk):
    fee = selectors_field.fee_get_for_user(user=request.user, pk=pk)
    try:
        services.fee_collection_confirm_handover(user=request.user, fee_id=fee.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Hand-over of %(amount)s yuan (receipt %(receipt)s) confirmed.")
            % {"amount": fee.amount, "receipt": fee.receipt_number},
        )
    query = {"unit": fee.unit_id} if request.user.sees_all_units else {}
    if request.POST.get("day"):
        query["day"] = request.POST["day"]
    url = reverse("repairs:fee_reconciliation")
    return redirect(f"{url}?{urlencode(query)}" if query else url)
