"""Stock pages: the unit's store and vans, the clerk's movements, low stock, parts used per month, issue notes."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError

from . import selectors, services
from .forms import MOVEMENT_KINDS, MovementForm, ReportFilterForm, this_month
from .models import StockMovement


def _filters(request):
    """The unit (head office chooses one; everyone else has their own) and the month of a report page."""
    user = request.user
    form = ReportFilterForm(
        request.GET or None, units=selectors.units_for_user(user=user), choose_unit=user.sees_all_units
    )
    data = form.cleaned_data if form.is_valid() else {}
    unit = data.get("unit") if user.sees_all_units else user.unit
    return form, unit, data.get("month") or this_month()


@require_GET
@permission_required("parts.view_stock", raise_exception=True)
def stock(request):
    form, unit, _month = _filters(request)
    report = selectors.unit_stock(user=request.user, unit=unit) if unit else None
    return render(request, "parts/stock.html", {"form": form, "report": report, "kinds": MOVEMENT_KINDS})


@require_GET
@permission_required("parts.view_stock", raise_exception=True)
def van(request, pk):
    technician = selectors.technician_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "parts/van.html",
        {
            "technician": technician,
            "rows": selectors.van_stock(technician=technician),
            "movements": selectors.van_movements(technician=technician),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("parts.manage_stock", raise_exception=True)
def movement_new(request, kind):
    if kind not in MOVEMENT_KINDS:
        raise Http404
    user = request.user
    unit = selectors.unit_for_user(user=user, unit_id=_int(request.GET.get("unit")))
    if unit is None:
        messages.error(request, _("Choose the unit first."))
        return redirect("parts:stock")
    form = MovementForm(request.POST or None, kind=kind, unit=unit)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        technician = data.get("technician")
        try:
            if kind == "receive":
                movement = services.part_stock_receive(
                    user=user,
                    unit_id=unit.pk,
                    part_id=data["part"].pk,
                    quantity=data["quantity"],
                    reason=data["reason"],
                )
            elif kind == "issue":
                movement = services.part_issue_to_technician(
                    user=user,
                    technician_id=technician.pk,
                    part_id=data["part"].pk,
                    quantity=data["quantity"],
                    reason=data["reason"],
                )
            elif kind == "return":
                movement = services.part_return(
                    user=user,
                    technician_id=technician.pk,
                    part_id=data["part"].pk,
                    quantity=data["quantity"],
                    reason=data["reason"],
                )
            else:
                movement = services.part_stock_count(
                    user=user,
                    unit_id=unit.pk,
                    part_id=data["part"].pk,
                    technician_id=technician.pk if technician else None,
                    counted_quantity=data["quantity"],
                    reason=data["reason"],
                )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(movement)s: %(part)s × %(quantity)d.")
                % {"movement": movement.get_kind_display(), "part": movement.part, "quantity": movement.quantity},
            )
            url = reverse("parts:stock")
            return redirect(f"{url}?unit={unit.pk}" if user.sees_all_units else url)
    return render(
        request,
        "parts/movement_form.html",
        {"form": form, "unit": unit, "title": MOVEMENT_KINDS[kind], "kind": kind},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        raise Http404 from None


@require_GET
@permission_required("parts.view_stock", raise_exception=True)
def low_stock(request):
    form, unit, _month = _filters(request)
    rows = selectors.low_stock(unit=unit) if unit else None
    return render(request, "parts/low_stock.html", {"form": form, "unit": unit, "rows": rows})


@require_GET
@permission_required("parts.view_stock", raise_exception=True)
def used_report(request):
    form, unit, month = _filters(request)
    rows = selectors.parts_used_report(unit=unit, month=month) if unit and month else None
    total = sum((r["value"] or 0 for r in rows), 0) if rows else 0
    return render(
        request, "parts/used_report.html", {"form": form, "unit": unit, "month": month, "rows": rows, "total": total}
    )


@require_GET
@permission_required("parts.view_stock", raise_exception=True)
def issue_note_pdf(request, pk):
    """The stock issue note (领料单) the technician signs for the parts put into the van."""
    movement = selectors.movement_get_for_user(user=request.user, pk=pk)
    if movement.kind != StockMovement.Kind.ISSUED:
        raise Http404
    pdf = render_pdf(template="parts/pdf/issue_note.html", context={"movement": movement})
    return pdf_response(pdf, filename=f"issue-note-{movement.pk}")
