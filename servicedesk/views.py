from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults

from . import extensions
from .db import REPLICA_DB_ALIAS, replica_configured
from .roles import Role


def bad_request(request, exception):
    """The 400 page, in the user's language, with the reason when the refusal gave one (BadRequest only).

    Only BadRequest messages are shown: they are written for the user (servicedesk.bounds.parse_day, a filter
    form's errors). Other 400s (a suspicious host or header) get Django's plain page, rendered without the
    request, as before.
    """
    if type(exception) is not BadRequest:
        return defaults.bad_request(request, exception)
    reason = str(exception.args[0]) if exception.args else ""
    return render(request, "400.html", {"reason": reason}, status=400)


def home(request):
    """Each role starts where its work is."""
    user = request.user
    going = extensions.page_default("home", request)  # a role's own inbox (notify), where one is registered
    if going is not None:
        return going
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.DISPATCHER, Role.SUPERVISOR):
        return redirect("repairs:my_calls")
    if user.has_perm("repairs.view_repaircall"):
        return redirect("repairs:board")
    return render(request, "servicedesk/home.html")


@login_not_required
def healthz(request):
    """Liveness: the process answers (a load balancer restarts it when this fails)."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
def readyz(request):
    """Readiness: the database and the broker answer; 503 takes this machine out of the pool.

    The reports replica, when there is one, is checked and shown too, but does not decide readiness: it is
    the same replica for every web machine, so taking them all out of the pool would turn a reports outage
    into a whole outage, and the reports fall back to the primary meanwhile (servicedesk/db.py).
    """
    checks = {"database": _check_database(DEFAULT_DB_ALIAS), "broker": _check_broker()}
    ready = all(value == "ok" for value in checks.values())
    if replica_configured():
        checks["replica"] = _check_database(REPLICA_DB_ALIAS)
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


def _check_database(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_broker() -> str:
    from .celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
