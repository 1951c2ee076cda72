"""Thin views: validate the form, call one service, message, redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk import extensions
from servicedesk.exceptions import ApplicationError
from servicedesk.fast_forms import unbound_form_html
from servicedesk.roles import Role
from servicedesk.workflow import history_rows

from .. import presenters, presenters_field, selectors, selectors_field, selectors_visits, services
from ..board_cache import board_scope
from ..forms import BoardFilterForm, CancelForm, CloseForm, DispatchForm, RepairCallLogForm, ResolveForm
from ..forms_visits import ArrivalForm, EnterArrivalForm, LeaveUnfinishedForm, NoSignatureForm, PlanVisitForm
from ..models import RepairCall


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# How often a board polls while the push is down (with the push it reads its rows only when told), and how
# long it waits before trying the push again after it was told the push is unavailable.
BOARD_POLL_SECONDS = 10
BOARD_RETRY_SECONDS = 30


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
def board(request):
    # Apps above repairs add to the board through servicedesk.extensions (records: saved views, the default view).
    going = extensions.page_default("board", request)
    if going is not None:
        return going
    user = request.user
    technicians = selectors.technicians_visible(user=user, unit_id=request.GET.get("unit"))
    form = BoardFilterForm(request.GET or None, user=user, technicians=technicians)
    filters = form.cleaned_data if form.is_valid() else {}
    page = selectors.repair_call_board(user=user, filters=filters, cursor=request.GET.get("after"))
    now = timezone.now()
    first_url, next_url = presenters.page_urls(request.GET, next_cursor=page.next_cursor)
    # The technicians of the page's units, read once whatever the rows (the same queries for 1 row and 50).
    dispatch = presenters.BoardDispatch(
        csrf_token=get_token(request),
        choices=selectors.board_dispatch_choices(
            user=user, unit_ids={row.unit_id for row in page.rows} | ({user.unit_id} if user.unit_id else set())
        ),
    )
    context = {
        "form": form,
        "rows_html": presenters.board_rows_html(page.rows, now=now, show_unit=user.sees_all_units, dispatch=dispatch),
        "has_rows": bool(page.rows),
        "show_unit": user.sees_all_units,
        "now": now,
        "first_url": None if not request.GET.get("after") else first_url,
        "next_url": next_url,
    }
    if request.htmx and request.htmx.target == "board-table":
        return render(request, "repairs/_board_table.html", context)
    context["toolbar"] = extensions.toolbar_html("board", request)
    # Pushed refreshes (servicedesk/push.py) where the user has a board scope; polling otherwise.
    context["live"] = board_scope(user=user) is not None
    context["poll_seconds"] = BOARD_POLL_SECONDS
    context["retry_seconds"] = BOARD_RETRY_SECONDS
    return render(request, "repairs/board.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.log_call", raise_exception=True)
def call_log(request):
    # An empty POST is still a submission: it must show "required" errors, not a blank form.
    form = RepairCallLogForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            call = services.repair_call_log(user=request.user, **form.log_arguments())
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("Call %(number)s logged; attend by %(deadline)s.")
                % {"number": call.number, "deadline": timezone.localtime(call.attend_by).strftime("%Y-%m-%d %H:%M")},
            )
            return redirect(call)
    return render(request, "repairs/call_log.html", {"form": form})


@require_GET
@permission_required("repairs.log_call", raise_exception=True)
def customer_lookup(request):
    customers = selectors.customer_search(user=request.user, q=request.GET.get("q", ""))
    return render(
        request,
        "repairs/_customer_lookup.html",
        {"customers": customers, "q": request.GET.get("q", ""), "today": timezone.localdate()},
    )


def _action_forms(request, call, bound=None):
    """The action forms the user may use on this call now (the transition table decides which)."""
    user = request.user
    allowed = RepairCall.TRANSITIONS.get(call.status, ())
    initial = {"version": call.version}
    forms = {}
    if RepairCall.Status.DISPATCHED in allowed and user.has_perm("repairs.dispatch_call"):
        forms["dispatch"] = DispatchForm(
            initial={**initial, "technician": call.technician_id},
            technicians=selectors.technician_choices(user=user, unit_id=call.unit_id),
        )
    may_attend = user.has_perm("repairs.attend_call") and (
        not user.has_role(Role.TECHNICIAN) or user.has_role(Role.SUPERVISOR) or call.technician_id == user.pk
    )
    if RepairCall.Status.ON_SITE in allowed and call.technician_id and may_attend:
        forms["arrive"] = ArrivalForm(initial=initial)
    if RepairCall.Status.ON_SITE in allowed and call.technician_id and user.has_perm("repairs.enter_arrival"):
        forms["enter_arrival"] = EnterArrivalForm(initial=initial)
    if call.status in RepairCall.BETWEEN_VISITS and user.has_perm("repairs.dispatch_call"):
        forms["plan"] = PlanVisitForm(
            initial={**initial, "technician": call.technician_id, "appointment_at": _local(call.appointment_at)},
            technicians=selectors.technician_choices(user=user, unit_id=call.unit_id),
        )
    if RepairCall.Status.RESOLVED in allowed and user.has_perm("repairs.attend_call"):
        forms["resolve"] = ResolveForm(initial=initial)
    if call.status == RepairCall.Status.ON_SITE and may_attend:
        forms["leave"] = LeaveUnfinishedForm(initial=initial)
    if RepairCall.Status.CANCELLED in allowed and user.has_perm("repairs.cancel_call"):
        forms["cancel"] = CancelForm(initial=initial)
    if RepairCall.Status.CLOSED in allowed and user.has_perm("repairs.close_call"):
        forms["close"] = CloseForm(initial=initial)
    if bound:
        forms.update(bound)
    return forms


def _local(value):
    return timezone.localtime(value).replace(second=0, microsecond=0) if value else None


def _render_detail(request, call, bound=None, status=200, no_signature_form=None):
    # ``call`` comes from selectors_field.call_detail_get_for_user, which read its signed visits.
    visits = selectors_visits.visits_of_call(call=call, signed_visit_ids=call.signed_visit_ids)
    for visit in visits:
        if visit.needs_reason and request.user.has_perm("repairs.fill_voucher"):
            visit.no_signature_form = (
                no_signature_form if no_signature_form and no_signature_form.visit_id == visit.pk else NoSignatureForm()
            )
            visit.no_signature_form_html = unbound_form_html(visit.no_signature_form)  # None: crispy draws it
    return render(
        request,
        "repairs/call_detail.html",
        {
            "call": call,
            "visits": visits,
            "history": history_rows(call),
            # (name, form, its HTML drawn in Python or None for crispy): see servicedesk/fast_forms.py
            "action_forms": [
                (name, form, unbound_form_html(form)) for name, form in _action_forms(request, call, bound).items()
            ],
            "now": timezone.now(),
        },
        status=status,
    )


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
def call_detail(request, pk):
    call = selectors_field.call_detail_get_for_user(user=request.user, pk=pk)
    return _render_detail(request, call)


ACTIONS = {
    # action: (form class, permission, service call)
    "dispatch": (
        DispatchForm,
        "repairs.dispatch_call",
        lambda user, call, d: services.repair_call_dispatch(
            user=user, call_id=call.pk, technician=d["technician"], reason=d["reason"], expected_version=d["version"]
        ),
    ),
    "arrive": (
        ArrivalForm,
        "repairs.attend_call",
        lambda user, call, d: services.repair_call_record_arrival(
            user=user,
            call_id=call.pk,
            expected_version=d["version"],
            location=services.Location(latitude=d["latitude"], longitude=d["longitude"], accuracy_m=d["accuracy"])
            if d["latitude"] is not None
            else None,
        ),
    ),
    "enter_arrival": (
        EnterArrivalForm,
        "repairs.enter_arrival",
        lambda user, call, d: services.repair_call_enter_arrival(
            user=user, call_id=call.pk, arrived_at=d["arrived_at"], reason=d["reason"], expected_version=d["version"]
        ),
    ),
    "leave": (
        LeaveUnfinishedForm,
        "repairs.attend_call",
        lambda user, call, d: services.repair_call_leave_unfinished(
            user=user,
            call_id=call.pk,
            to_status=d["to_status"],
            reason=d["reason"],
            appointment_at=d["appointment_at"],
            expected_version=d["version"],
        ),
    ),
    "plan": (
        PlanVisitForm,
        "repairs.dispatch_call",
        lambda user, call, d: services.repair_call_plan_visit(
            user=user,
            call_id=call.pk,
            appointment_at=d["appointment_at"],
            technician=d["technician"],
            reason=d["reason"],
            expected_version=d["version"],
        ),
    ),
    "resolve": (
        ResolveForm,
        "repairs.attend_call",
        lambda user, call, d: services.repair_call_resolve(
            user=user, call_id=call.pk, outcome=d["outcome"], expected_version=d["version"]
        ),
    ),
    "cancel": (
        CancelForm,
        "repairs.cancel_call",
        lambda user, call, d: services.repair_call_cancel(
            user=user, call_id=call.pk, reason=d["reason"], expected_version=d["version"]
        ),
    ),
    "close": (
        CloseForm,
        "repairs.close_call",
        lambda user, call, d: services.repair_call_close(
            user=user, call_id=call.pk, note=d["note"], expected_version=d["version"]
        ),
    ),
}

SUCCESS_MESSAGES = {
    "dispatch": gettext_lazy("Technician assigned."),
    "arrive": gettext_lazy("Arrival recorded."),
    "enter_arrival": gettext_lazy("Arrival entered by hand; it stays marked as typed."),
    "leave": gettext_lazy("The call waits for its next visit."),
    "plan": gettext_lazy("Next visit planned."),
    "resolve": gettext_lazy("Call resolved on site."),
    "cancel": gettext_lazy("Call cancelled."),
    "close": gettext_lazy("Call closed."),
}


@require_POST
def call_action(request, pk, action):
    if action not in ACTIONS:
        raise PermissionDenied
    form_class, perm, run = ACTIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    call = selectors.repair_call_get_for_user(user=request.user, pk=pk)
    kwargs = {}
    if form_class in (DispatchForm, PlanVisitForm):
        kwargs["technicians"] = selectors.technician_choices(user=request.user, unit_id=call.unit_id)
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            run(request.user, call, form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, SUCCESS_MESSAGES[action])
            if request.user.has_role(Role.TECHNICIAN) and action in {"resolve", "leave"}:
                return redirect("repairs:my_calls")
            return redirect(call)
    call = selectors_field.call_detail_get_for_user(user=request.user, pk=pk)
    return _render_detail(request, call, bound={action: form}, status=400)


@require_GET
@permission_required("repairs.attend_call", raise_exception=True)
def my_calls(request):
    calls = selectors.technician_calls_today(user=request.user)
    return render(
        request,
        "repairs/my_calls.html",
        {"cards_html": presenters_field.my_call_cards_html(calls, now=timezone.now()), "has_calls": bool(calls)},
    )
