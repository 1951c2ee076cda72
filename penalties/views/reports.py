"""Thin views: a case's loss and its resale proceeds, the monthly ledger and its exports, the audit trail."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk import exports
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .. import selectors, services
from ..arithmetic import to_fen
from ..audit_presenter import audit_rows
from ..forms import LedgerForm, ProceedsForm
from .rulings import form_error


def _loss_page(request, loss, *, form=None, status=200):
    can_enter = request.user.has_perm("penalties.add_resaleproceeds") and not loss.is_final
    return render(
        request,
        "penalties/loss_detail.html",
        {
            "loss": loss,
            "case": loss.case,
            "form": form or (ProceedsForm() if can_enter else None),
            "history": history_for(loss),
            "rulings": selectors.rulings_for_case(case=loss.case),
        },
        status=status,
    )


@require_GET
@permission_required("penalties.view_caseloss", raise_exception=True)
def loss_detail(request, pk):
    return _loss_page(request, selectors.loss_get_for_user(user=request.user, pk=pk))


@require_POST
@permission_required("penalties.add_resaleproceeds", raise_exception=True)
def proceeds_record(request, pk):
    loss = selectors.loss_get_for_user(user=request.user, pk=pk)
    form = ProceedsForm(request.POST)
    if form.is_valid():
        try:
            services.resale_proceeds_record(
                user=request.user,
                loss_id=loss.pk,
                amount=form.cleaned_data["amount"],
                sold_on=form.cleaned_data["sold_on"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Resale proceeds recorded; the loss is reduced."))
            return redirect(loss)
    loss = selectors.loss_get_for_user(user=request.user, pk=pk)
    return _loss_page(request, loss, form=form, status=400)


def _ledger(request):
    return ledger_for(user=request.user, params=request.GET)


def ledger_for(*, user, params):
    """The ledger's form, rows, month and party from its query string (the page and its exports)."""
    form = LedgerForm(params)
    if not form.is_valid():
        return form, None, None, None
    data = form.cleaned_data
    rows = selectors.ledger(user=user, month=data["month"], party=data["party"])
    return form, rows, data["month"], data["party"]


@require_GET
@permission_required("penalties.view_penalty_ledger", raise_exception=True)
def ledger(request):
    form, rows, month, party = _ledger(request)
    return render(
        request,
        "penalties/ledger.html",
        {
            "form": form,
            "rows": rows,
            "month": month,
            "party": party,
            "total": to_fen(sum((r.deduction for r in rows), Decimal("0"))) if rows is not None else None,
            "query": request.GET.urlencode(),
        },
        status=200 if rows is not None else 400,
    )


@require_GET
@permission_required("penalties.view_penalty_ledger", raise_exception=True)
def ledger_export(request, fmt):
    if fmt not in exports.FORMATS:
        raise Http404
    if not LedgerForm(request.GET).is_valid():
        return HttpResponse(_("Enter a month as YYYY-MM."), status=400, content_type="text/plain; charset=utf-8")
    return exports.export_response(request, "penalty-ledger", fmt)


@require_GET
@permission_required("penalties.view_penalty_audit", raise_exception=True)
def audit_list(request):
    ruling_id = request.GET.get("ruling")
    ruling_id = int(ruling_id) if ruling_id and ruling_id.isdigit() else None
    page = selectors.audit_list(user=request.user, ruling_id=ruling_id, page_number=request.GET.get("page"))
    return render(
        request,
        "penalties/audit_list.html",
        {"page": page, "rows": audit_rows(page.object_list), "ruling_id": ruling_id},
    )
