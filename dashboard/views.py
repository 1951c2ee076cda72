"""The service dashboard (clause 十九 as a number): figures per unit, zone and month, charts, drill-down, exports."""

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from complaints.appraisal import Criterion, chart

from . import links
from .forms import DashboardFilterForm
from .selectors import dashboard_for

TREND = (
    Criterion("received", _("Calls received"), "count"),
    Criterion("on_time_share", _("Attended on time"), "share"),
    Criterion("first_time_fix_rate", _("First-time-fix rate"), "share"),
    Criterion("response_rate", _("Survey response rate"), "share"),
)
BAR_WIDTH, BAR_HEIGHT, BAR_LEFT = 360, 18, 150


def dashboard_result(*, user, params):
    """The form and the figures its query string asks for (scoped: a branch names only its own unit)."""
    form = DashboardFilterForm(params, user=user)  # always bound: empty filters are valid (the defaults)
    if not user.sees_all_units and params.get("unit") and params.get("unit") != str(user.unit_id):
        raise Http404
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    unit = data.get("unit")
    zone = data.get("zone")
    result = dashboard_for(
        user=user,
        first=data["first"],
        last=data["last"],
        unit_id=unit.pk if unit else None,
        zone_id=zone.pk if zone else None,
    )
    return form, result


def _bars(by_unit):
    """On-time rate by unit, one horizontal bar each."""
    bars = []
    for i, r in enumerate(by_unit):
        share = r.on_time_share
        bars.append(
            {
                "y": i * (BAR_HEIGHT + 4),
                "label": r.unit_name,
                "width": round((share or 0) * (BAR_WIDTH - BAR_LEFT - 40), 1),
                "text": "—" if share is None else f"{share:.0%}",
                "url": links.calls_url(figure="on_time", unit_id=r.unit_id, zone_id=None, month=None),
            }
        )
    return {
        "bars": bars,
        "width": BAR_WIDTH,
        "left": BAR_LEFT,
        "height": max(len(bars), 1) * (BAR_HEIGHT + 4),
        "bar_height": BAR_HEIGHT,
    }


@require_GET
@permission_required("dashboard.view_dashboard", raise_exception=True)
def dashboard(request):
    form, result = dashboard_result(user=request.user, params=request.GET)
    if result is None:
        return render(request, "dashboard/dashboard.html", {"form": form}, status=400)
    figures = ("received", "on_time", "late", "logged_late", "open_past_deadline")
    table = [
        {
            "row": r,
            "links": {
                f: links.calls_url(figure=f, unit_id=r.unit_id, zone_id=r.zone_id, month=r.month) for f in figures
            },
        }
        for r in result.rows
    ]
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "form": form,
            "result": result,
            "table": table,
            "charts": [chart(c, result.trend) for c in TREND] if result.trend else [],
            "by_unit": _bars(result.by_unit),
            "show_unit": request.user.sees_all_units,
            "current_as_of": result.recorded.get(timezone.localdate().replace(day=1)),
        },
    )
