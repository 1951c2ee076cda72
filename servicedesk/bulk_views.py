"""The one URL that runs a list page's bulk action (``servicedesk.bulk``): POST, the action's permission."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import bulk
from .exceptions import ApplicationError

# How many refusals one message lists; the rest are counted.
REFUSALS_SHOWN = 10


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("home")


@require_POST
def bulk_run(request, page: str, action: str):
    found = bulk.bulk_action(page, action)
    if found is None:
        raise Http404
    if not request.user.has_perm(found.permission):
        raise PermissionDenied
    try:
        ids = bulk.bulk_ids(request.POST.getlist("ids"))
        outcome = found.run(user=request.user, ids=ids, data=request.POST)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(request)
    if outcome.response is not None:
        return outcome.response
    if outcome.done:
        messages.success(
            request,
            found.done_message % {"count": outcome.done}
            if found.done_message
            else ngettext("%(count)d row done.", "%(count)d rows done.", outcome.done) % {"count": outcome.done},
        )
    if outcome.refused:
        shown = outcome.refused[:REFUSALS_SHOWN]
        more = len(outcome.refused) - len(shown)
        text = "；".join(shown)
        if more:
            text += " " + ngettext("(and %(count)d more)", "(and %(count)d more)", more) % {"count": more}
        messages.warning(request, _("Not done: %(rows)s") % {"rows": text})
    return _back(request)
