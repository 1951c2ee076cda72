"""The records' pages: call history with search and saved views, the customer and the product records."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from complaints.models import ComplaintCase, CustomerOpinion
from repairs.models import RepairCall
from servicedesk.bulk import bulk_actions_for
from servicedesk.exceptions import ApplicationError

from . import presenters, selectors, services
from .forms import CallFilterForm, SavedViewForm
from .models import SavedView

PAGE_URLS = {SavedView.Page.BOARD: "repairs:board", SavedView.Page.CALLS: "records:calls"}
# Query parameters that are not filters: the page position, and "show everything" (skip the default view).
NOT_FILTERS = {"after", "all"}


def _filters_of(query) -> str:
    return urlencode([(k, v) for k, v in query.items() if k not in NOT_FILTERS and v != ""])


def default_redirect(page: str, request):
    """Where a page opened without filters goes: the user's default view, if they picked one."""
    if request.GET:
        return None
    view = selectors.default_view_for(user=request.user, page=page)
    if view is None or not view.querystring:
        return None
    return redirect(f"{reverse(PAGE_URLS[page])}?{view.querystring}")


def saved_views_html(request, page: str) -> str:
    views = selectors.saved_views_for(user=request.user, page=page)
    current = _filters_of(request.GET)
    return render_to_string(
        "records/_saved_views.html",
        {
            "views": views,
            "page": page,
            "page_url": reverse(PAGE_URLS[page]),
            "current": current,
            "form": SavedViewForm(initial={"page": page, "querystring": current}),
        },
        request=request,
    )


def board_toolbar(request) -> str:
    """The saved-view picker on the dispatch board (registered with servicedesk.extensions)."""
    if not request.user.has_perm("repairs.view_repaircall"):
        return ""
    return saved_views_html(request, SavedView.Page.BOARD)


def board_default(request):
    return default_redirect(SavedView.Page.BOARD, request)


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
def calls(request):
    going = default_redirect(SavedView.Page.CALLS, request)
    if going is not None:
        return going
    user = request.user
    form = CallFilterForm(request.GET or None, user=user)
    if form.is_bound and not form.is_valid():
        page = selectors.CallPage(rows=[], next_cursor=None)  # the form says what is wrong; no guess at the rest
    else:
        filters = form.cleaned_data if form.is_bound else {}
        page = selectors.call_history(user=user, filters=filters, cursor=request.GET.get("after"))
    selectable = bool(bulk_actions_for(page="calls", user=user))
    rows_html = presenters.call_rows_html(
        page.rows, now=timezone.now(), show_unit=user.sees_all_units, select_form="bulk-calls" if selectable else ""
    )
    params = [(k, v) for k, v in request.GET.items() if k != "after"]
    context = {
        "form": form,
        "rows_html": rows_html,
        "has_rows": bool(page.rows),
        "show_unit": user.sees_all_units,
        "selectable": selectable,
        "first_url": "?" + urlencode(params) if request.GET.get("after") else None,
        "next_url": "?" + urlencode([*params, ("after", page.next_cursor)]) if page.next_cursor else None,
        "searched_to": page.searched_to,
        "saved_views": saved_views_html(request, SavedView.Page.CALLS),
    }
    return render(request, "records/calls.html", context)


def _back(request, page: str, querystring: str = ""):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    url = reverse(PAGE_URLS.get(page, "records:calls"))
    return redirect(f"{url}?{querystring}" if querystring else url)


@require_POST
@permission_required("repairs.view_repaircall", raise_exception=True)
def saved_view_save(request):
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(request, request.POST.get("page", ""))
    data = form.cleaned_data
    try:
        view = services.saved_view_save(
            user=request.user,
            page=data["page"],
            name=data["name"],
            querystring=data["querystring"],
            shared=data["shared"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(request, data["page"])
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return _back(request, view.page, view.querystring)


def _view_id(request) -> int:
    raw = request.POST.get("view", "")
    if not raw.isdigit() or len(raw) > 12:
        raise Http404
    return int(raw)


@require_POST
@permission_required("repairs.view_repaircall", raise_exception=True)
def saved_view_default(request):
    page = request.POST.get("page", "")
    if request.POST.get("view", "") == "" and page in SavedView.Page.values:
        services.saved_view_clear_default(user=request.user, page=page)
        messages.success(request, _("No default view: the page opens with every call."))
        return _back(request, page)
    default = services.saved_view_make_default(user=request.user, view_id=_view_id(request))
    messages.success(request, _("“%(name)s” is now your default view.") % {"name": default.view.name})
    return _back(request, default.page, default.view.querystring)


@require_POST
@permission_required("repairs.view_repaircall", raise_exception=True)
def saved_view_delete(request):
    try:
        page = services.saved_view_delete(user=request.user, view_id=_view_id(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(request, request.POST.get("page", ""))
    messages.success(request, _("View deleted."))
    return _back(request, page)


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
def customer(request, pk):
    user = request.user
    record = selectors.customer_record_get(user=user, pk=pk)
    today = timezone.localdate()
    timeline, next_cursor = selectors.customer_timeline(user=user, customer=record, cursor=request.GET.get("after"))
    context = {
        "customer": record,
        "sites": selectors.customer_sites(customer=record),
        "products": selectors.customer_products(customer=record, today=today),
        "contracts": selectors.customer_contracts(user=user, customer=record),
        "timeline": [_timeline_item(entry) for entry in timeline],
        "first_url": request.path if request.GET.get("after") else None,
        "next_url": f"{request.path}?{urlencode({'after': next_cursor})}" if next_cursor else None,
        "today": today,
    }
    return render(request, "records/customer.html", context)


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
def product(request, serial):
    user = request.user
    found = selectors.product_record_get(user=user, serial_number=serial)
    today = timezone.localdate()
    record = selectors.product_record(user=user, product=found, today=today)
    return render(
        request,
        "records/product.html",
        {"record": record, "product": found, "today": today, "status_labels": dict(RepairCall.Status.choices)},
    )


TIMELINE_LABELS = {
    "call": gettext_lazy("Repair call"),
    "voucher": gettext_lazy("Service voucher"),
    "fee": gettext_lazy("Fee collected"),
    "carry_in": gettext_lazy("Carried in"),
    "card": gettext_lazy("Repair card"),
    "survey": gettext_lazy("Survey answer"),
    "opinion": gettext_lazy("Customer opinion"),
    "case": gettext_lazy("Complaint case"),
}


def _timeline_item(entry) -> dict:
    """A timeline row as people read it: codes become their labels."""
    title, detail = entry.title, entry.detail
    if entry.kind == "opinion":
        title = dict(CustomerOpinion.Kind.choices).get(title, title)
    elif entry.kind == "case":
        detail = dict(ComplaintCase.Status.choices).get(detail, detail)
    return {**entry._asdict(), "label": TIMELINE_LABELS[entry.kind], "title": title, "detail": detail}
