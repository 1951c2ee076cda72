"""The live dispatch board: its push stream, dispatch from a row, and the technicians' timeline."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.exceptions import ApplicationError
from servicedesk.push import stream_response

from .. import selectors, selectors_timeline, services
from ..board_cache import PUSH_TOPIC, board_scope
from ..forms import DispatchForm, TimelineFilterForm


@require_GET
@permission_required("repairs.view_repaircall", raise_exception=True)
async def board_stream(request):
    """Server-sent events: "the board changed" for the user's scope only; the page then reads its rows again."""
    user = await request.auser()
    scope = await sync_to_async(board_scope)(user=user)
    if scope is None:  # deny by default: a user of no unit has no board to keep fresh
        raise PermissionDenied
    # An open stream holds no database session (it is given back when a request ends, and a stream's
    # request lasts minutes): 200 open boards would otherwise be 200 sessions of PostgreSQL.
    await sync_to_async(_give_back_database_sessions)()
    return stream_response(request, topic=PUSH_TOPIC, scope=scope)


def _give_back_database_sessions() -> None:
    # A session inside a transaction (a test's) is kept, and so is an alias that shares it (the tests lend
    # the reports replica the default alias's session): closing that alias would leave it with none.
    held = {
        id(connection.connection)
        for connection in connections.all(initialized_only=True)
        if connection.in_atomic_block and connection.connection is not None
    }
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block and id(connection.connection) not in held:
            connection.close()


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@permission_required("repairs.dispatch_call", raise_exception=True)
def board_dispatch(request, pk):
    """Dispatch from a board row: the call page's form and the same race-safe service."""
    call = selectors.repair_call_get_for_user(user=request.user, pk=pk)
    form = DispatchForm(request.POST, technicians=selectors.technician_choices(user=request.user, unit_id=call.unit_id))
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.repair_call_dispatch(
                user=request.user,
                call_id=call.pk,
                technician=data["technician"],
                reason=data["reason"],
                expected_version=data["version"],
            )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = " ".join(str(message) for messages_ in form.errors.values() for message in messages_)
    success = _("Call %(number)s: technician assigned.") % {"number": call.number}
    if _wants_json(request):
        return JsonResponse({"ok": not error, "message": error or success}, status=400 if error else 200)
    if error:
        messages.error(request, f"{call.number}: {error}")
    else:
        messages.success(request, success)
    return redirect("repairs:board")


@require_GET
@permission_required("repairs.dispatch_call", raise_exception=True)
def dispatch_timeline(request):
    """Today's and this week's work of each technician the user may dispatch, so the dispatcher sees who is free."""
    form = TimelineFilterForm(request.GET or None, user=request.user)
    unit = form.cleaned_data.get("unit") if form.is_valid() else None
    now = timezone.now()
    timeline = selectors_timeline.technician_timeline(user=request.user, unit=unit, now=now)
    return render(request, "repairs/dispatch_timeline.html", {"form": form, "timeline": timeline, "now": now})
