"""The role inbox, the in-app notices under the bell, and the postal list (view → form → service)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError

from . import inbox as inbox_reads
from . import selectors, services
from .forms import MarkReadForm, PostedForm

NOTICES_PER_PAGE = 50


@require_GET
def inbox(request):
    return render(request, "notify/inbox.html", {"sections": inbox_reads.inbox(user=request.user)})


@require_GET
def badges(request):
    """The menu's badges and the bell's unread count (loaded by the navbar after the page, refreshed every minute)."""
    return render(request, "notify/_navbar.html", inbox_reads.badges(user=request.user))


@require_http_methods(["GET", "POST"])
def notifications(request):
    user = request.user
    if request.method == "POST":
        form = MarkReadForm(request.POST)
        if not form.is_valid():
            raise Http404
        notification_id = form.cleaned_data["notification"]
        marked = services.notifications_mark_read(user=user, notification_id=notification_id)
        if (
            notification_id is not None
            and not marked
            and not inbox_reads.inapp_notices(user=user).filter(pk=notification_id).exists()
        ):
            raise Http404  # not one of the user's own notices
        return redirect("notify:notifications")
    page = Paginator(inbox_reads.inapp_notices(user=user), NOTICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "notify/notifications.html", {"page": page})


@require_GET
@permission_required("notify.view_postalitem", raise_exception=True)
def postal_list(request):
    items = selectors.postal_list(user=request.user)
    return render(request, "notify/postal_list.html", {"items": items, "limit": selectors.POSTAL_LIMIT})


@require_GET
@permission_required("notify.view_postalitem", raise_exception=True)
def postal_pdf(request):
    items = selectors.postal_list(user=request.user)
    now = timezone.localtime()
    number = f"PL-{now:%Y%m%d-%H%M}"
    pdf = render_pdf(
        template="notify/pdf/postal_list.html",
        context={"items": items, "printed_at": now, "unit": request.user.unit, "number": number},
    )
    return pdf_response(pdf, filename=number)


@require_POST
@permission_required("notify.post_letters", raise_exception=True)
def postal_posted(request):
    items = selectors.postal_list(user=request.user)
    form = PostedForm(request.POST, items=items)
    if not form.is_valid():
        messages.error(request, _("Choose the letters that were posted."))
        return redirect("notify:postal_list")
    try:
        posted = services.postal_items_mark_posted(user=request.user, item_ids=form.cleaned_data["letters"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("notify:postal_list")
    messages.success(
        request,
        ngettext("%(count)d letter marked as posted.", "%(count)d letters marked as posted.", posted)
        % {"count": posted},
    )
    return redirect("notify:postal_list")
