"""The technicians' monthly appraisal per unit: page, CSV, Excel and PDF (clause 二十三)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from servicedesk import exports
from servicedesk.documents import pdf_response

from .. import appraisal, selectors
from ..documents import appraisal_pdf
from ..forms import AppraisalFilterForm


def _appraisal(request, *, with_trend: bool = True, months: int = 12):
    return appraisal_result(user=request.user, params=request.GET, with_trend=with_trend, months=months)


def appraisal_result(*, user, params, with_trend: bool = True, months: int = 12):
    """The unit, month, sorted rows and the month's unit totals the query string asks for (scoped)."""
    units = selectors.units_visible(user=user) if user.sees_all_units else None
    form = AppraisalFilterForm(params or None, units=units)
    if form.is_bound and not form.is_valid():
        return form, None
    data = form.cleaned_data if form.is_bound else {}
    unit_choice = data.get("unit")
    unit_id = unit_choice.pk if unit_choice else None
    if not user.sees_all_units and params.get("unit"):
        # A unit user naming a unit (e.g. an edited export link): their own, or not found.
        try:
            unit_id = int(params["unit"])
        except ValueError:
            raise Http404 from None
    unit = selectors.appraisal_unit_for_user(user=user, unit_id=unit_id)
    month = data.get("month") or timezone.localdate().replace(day=1)
    now = timezone.now()
    rows, sort = appraisal.sort_rows(
        appraisal.appraisal_for_month(unit_id=unit.pk, month=month, now=now), params.get("sort", "technician")
    )
    totals = appraisal.totals_of(rows, month=month)
    trend = (
        appraisal.appraisal_trend(unit_id=unit.pk, month=month, now=now, months=months, month_rows=rows)
        if with_trend
        else [totals]
    )
    return form, {"unit": unit, "month": month, "rows": rows, "sort": sort, "trend": trend, "totals": totals}


@require_GET
@permission_required("complaints.view_appraisal", raise_exception=True)
def appraisal_page(request):
    form, result = _appraisal(request)
    if result is None:
        return render(request, "complaints/appraisal.html", {"form": form}, status=400)
    base = {"unit": result["unit"].pk, "month": result["month"].strftime("%Y-%m")}
    current = result["sort"]
    headers = []
    for key, label in [("technician", _("Technician")), *[(c.key, c.label) for c in appraisal.CRITERIA]]:
        active = current.lstrip("-") == key
        descending = active and current.startswith("-")
        # A click on the sorted column turns it round; numbers sort best-first (descending) first.
        target = key if (active and descending) or (not active and key == "technician") else "-" + key
        headers.append(
            {
                "label": label,
                "active": active,
                "descending": descending,
                "numeric": key != "technician",
                "query": urlencode({**base, "sort": target}),
            }
        )
    return render(
        request,
        "complaints/appraisal.html",
        {
            "form": form,
            **result,
            "charts": appraisal.charts(result["trend"]),
            "headers": headers,
            "export_query": urlencode({**base, "sort": current}),
        },
    )


@require_GET
@permission_required("complaints.view_appraisal", raise_exception=True)
def appraisal_export(request, fmt: str):
    if fmt in exports.FORMATS:
        return exports.export_response(request, "appraisal", fmt)
    if fmt != "pdf":
        raise Http404
    _form, result = _appraisal(request, with_trend=False)  # the table and its totals, no chart
    if result is None:
        raise Http404
    unit, month, rows = result["unit"], result["month"], result["rows"]
    filename = f"appraisal-{unit.code}-{month:%Y-%m}"
    return pdf_response(appraisal_pdf(unit=unit, month=month, rows=rows, totals=result["totals"]), filename=filename)
