from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from .db import REPLICA_DB_ALIAS, replica_configured
from .roles import Role


def home(request):
    """Each role starts where its work is."""
    user = request.user
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
