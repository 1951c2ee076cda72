"""Thin views: a case's loss and its resale proceeds, the monthly ledger and its exports, the audit trail."""

import csv
import io
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .. import selectors, services
from ..arithmetic import to_fen
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
    form = LedgerForm(request.GET)
    if not form.is_valid():
        return form, None, None, None
    data = form.cleaned_data
    rows = selectors.ledger(user=request.user, month=data["month"], party=data["party"])
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


def _ledger_table(rows, party):
    header = [
        _("Person") if party == "person" else _("Department"),
        _("Unit"),
        _("Lines"),
        _("Share of the loss (yuan)"),
        _("Deduction (yuan)"),
    ]
    return header, [[r.name, r.unit, r.lines, r.loss_share, r.deduction] for r in rows]


def _safe_text(value):
    # A name starting with = + - @ must not run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@require_GET
@permission_required("penalties.view_penalty_ledger", raise_exception=True)
def ledger_export(request, fmt):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _form, rows, month, party = _ledger(request)
    if rows is None:
        return HttpResponse(_("Enter a month as YYYY-MM."), status=400, content_type="text/plain; charset=utf-8")
    header, table = _ledger_table(rows, party)
    filename = f"penalties-{party}-{month:%Y-%m}"
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese names correctly only with a BOM
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in table:
            writer.writerow([_safe_text(str(v)) for v in row])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{month:%Y-%m}"
    sheet.append([str(h) for h in header])
    for row in table:
        sheet.append([_safe_text(v) for v in row])
        for cell in sheet[sheet.max_row][3:5]:
            cell.number_format = "#,##0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


@require_GET
@permission_required("penalties.view_penalty_audit", raise_exception=True)
def audit_list(request):
    ruling_id = request.GET.get("ruling")
    ruling_id = int(ruling_id) if ruling_id and ruling_id.isdigit() else None
    return render(
        request,
        "penalties/audit_list.html",
        {
            "page": selectors.audit_list(user=request.user, ruling_id=ruling_id, page_number=request.GET.get("page")),
            "ruling_id": ruling_id,
        },
    )
