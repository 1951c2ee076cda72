"""Planned maintenance visits: the unit's list for a week, and the same list as a PDF (DOMAIN 4)."""

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from servicedesk.bounds import DATE_MAX, DATE_MIN
from servicedesk.documents import pdf_response, render_pdf

from .. import selectors


def _week(request) -> dt.date:
    """The Monday of the week asked for (?week=YYYY-MM-DD, any day of it), this week when absent or garbled."""
    try:
        day = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = timezone.localdate()
    if not (DATE_MIN + dt.timedelta(days=7) <= day <= DATE_MAX - dt.timedelta(days=7)):
        day = timezone.localdate()
    return selectors.week_start(day)


def _context(request) -> dict:
    week = _week(request)
    return {
        "week": week,
        "week_end": week + dt.timedelta(days=6),
        "previous_week": week - dt.timedelta(days=7),
        "next_week": week + dt.timedelta(days=7),
        "visits": selectors.planned_visits_of_week(user=request.user, week=week),
        "show_unit": request.user.sees_all_units,
    }


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def planned_week(request):
    return render(request, "contracts/planned_week.html", _context(request))


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def planned_week_pdf(request):
    context = _context(request)
    pdf = render_pdf(template="contracts/pdf/planned_week.html", context=context)
    return pdf_response(pdf, filename=f"planned-visits-{context['week']:%Y-%m-%d}")
