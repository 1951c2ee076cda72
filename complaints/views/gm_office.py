"""The general manager's office: overdue cases, reminder slips, cases to audit; reports and receivables."""

import datetime as dt

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from servicedesk import exports
from servicedesk.documents import pdf_response
from servicedesk.forms import bad_request_from

from .. import case_selectors
from ..case_forms import ReportFilterForm
from ..documents import reminder_slip_pdf
from ..templatetags.complaints_tags import duration_days

LIST_LIMIT = 200
SLIPS_PER_PAGE = 50


@require_GET
@permission_required("complaints.view_reminderslip", raise_exception=True)
def gm_office(request):
    user, now = request.user, timezone.now()
    today = timezone.localdate(now)
    paginator = Paginator(case_selectors.reminder_slip_list(user=user), SLIPS_PER_PAGE)
    return render(
        request,
        "complaints/gm_office.html",
        {
            "now": now,
            "overdue": list(case_selectors.overdue_cases(user=user, now=now)[:LIST_LIMIT]),
            "to_audit": list(case_selectors.cases_awaiting_audit(user=user)[:LIST_LIMIT]),
            "overdue_actions": list(case_selectors.overdue_actions(user=user, today=today)[:LIST_LIMIT]),
            "slips": paginator.get_page(request.GET.get("page")),
            "limit": LIST_LIMIT,
        },
    )


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def reminder_slip_print(request, pk: int):
    slip = case_selectors.reminder_slip_get_for_user(user=request.user, pk=pk)
    return pdf_response(reminder_slip_pdf(slip=slip), filename=f"reminder-{slip.display_number}")


@require_GET
@login_required
def receivables(request):
    """Receivables affected by complaints, for the salesperson and accounting."""
    user = request.user
    if not (user.has_perm("complaints.view_complaintcase") or case_selectors.flagged_receivables(user=user).exists()):
        raise Http404
    paginator = Paginator(case_selectors.flagged_receivables(user=user), 50)
    return render(request, "complaints/receivables.html", {"page": paginator.get_page(request.GET.get("page"))})


def _report(request):
    return case_report_for(user=request.user, params=request.GET)


def case_report_for(*, user, params):
    """The case report's form and figures from its query string (the page and its exports)."""
    form = ReportFilterForm(params or None)
    since = until = None
    if form.is_bound and not form.is_valid():
        raise bad_request_from(form)  # a date outside 1900-2999 or malformed: a 400 saying why
    if form.is_bound:
        if form.cleaned_data.get("since"):
            since = timezone.make_aware(dt.datetime.combine(form.cleaned_data["since"], dt.time.min))
        if form.cleaned_data.get("until"):
            until = timezone.make_aware(dt.datetime.combine(form.cleaned_data["until"], dt.time.min))
    return form, case_selectors.case_report(user=user, now=timezone.now(), since=since, until=until)


@require_GET
@permission_required("complaints.view_case_reports", raise_exception=True)
def reports(request):
    form, report = _report(request)
    query = request.GET.urlencode()
    return render(request, "complaints/case_reports.html", {"form": form, "report": report, "query": query})


def report_rows(report) -> list[list]:
    rows = [[_("Section"), _("Item"), _("Cases"), _("Average days")]]
    for label, n in report["by_stage"]:
        rows.append([_("By stage"), str(label), n, ""])
    for label, n in report["by_department"]:
        rows.append([_("By responsible department"), label or _("Not yet determined"), n, ""])
    for label, n in report["by_cause"]:
        rows.append([_("By cause"), label or _("Not yet determined"), n, ""])
    for label, n in report["overdue_by_unit"]:
        rows.append([_("Overdue by unit"), label, n, ""])
    for label, average, stays in report["stage_times"]:
        rows.append([_("Time per stage"), str(label), stays, duration_days(average)])
    return rows


@require_GET
@permission_required("complaints.view_case_reports", raise_exception=True)
def reports_export(request, fmt: str):
    return exports.export_response(request, "complaint-case-reports", fmt)
