"""The service department's list of customers' suggestions and complaints (clause 二十三)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.exceptions import ApplicationError

from .. import selectors, services
from ..forms import OpinionFilterForm

OPINIONS_PER_PAGE = 50


@require_GET
@permission_required("complaints.view_customeropinion", raise_exception=True)
def opinion_list(request):
    user = request.user
    form = OpinionFilterForm(
        request.GET or None, units=selectors.units_visible(user=user) if user.sees_all_units else None
    )
    filters = form.cleaned_data if form.is_valid() else {}
    paginator = Paginator(selectors.customer_opinion_list(user=user, filters=filters), OPINIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "complaints/opinion_list.html", {"form": form, "page": page, "query": query.urlencode()})


@require_POST
@permission_required("complaints.acknowledge_opinion", raise_exception=True)
def opinion_acknowledge(request, pk: int):
    opinion = selectors.customer_opinion_get_for_user(user=request.user, pk=pk)
    try:
        services.customer_opinion_acknowledge(user=request.user, opinion_id=opinion.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as acknowledged."))
    return redirect("complaints:opinion_list")
