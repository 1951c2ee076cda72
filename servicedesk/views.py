from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

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
    """Liveness: the process answers. Readiness checks arrive with the deployment issue."""
    return HttpResponse("ok", content_type="text/plain")
