"""The inbound e-mail pages: the "to be matched" queue, the quarantine, a message, its attachments."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from repairs.selectors import customer_search
from servicedesk.exceptions import ApplicationError

from . import selectors
from .forms import CustomerSearchForm, MatchForm
from .models import InboundMessage
from .services import attachment_path, inbound_message_match


@require_GET
@permission_required("intake.match_inboundmessage", raise_exception=True)
def queue(request):
    return render(request, "intake/queue.html", {"rows": selectors.inbound_messages_to_match(user=request.user)})


@require_GET
@permission_required("intake.view_quarantine", raise_exception=True)
def quarantine(request):
    return render(
        request, "intake/quarantine.html", {"rows": selectors.inbound_messages_quarantined(user=request.user)}
    )


@require_GET
@permission_required("intake.view_inboundmessage", raise_exception=True)
def message_detail(request, pk: int):
    message = selectors.inbound_message_get_for_user(user=request.user, pk=pk)
    if message.status == InboundMessage.Status.QUARANTINED and not request.user.has_perm("intake.view_quarantine"):
        raise Http404
    return render(
        request,
        "intake/message.html",
        {"message": message, "attachments": selectors.inbound_attachments_of(message=message)},
    )


@require_http_methods(["GET", "POST"])
@permission_required("intake.match_inboundmessage", raise_exception=True)
def message_match(request, pk: int):
    message = selectors.inbound_message_get_for_user(user=request.user, pk=pk)
    if message.status != InboundMessage.Status.TO_MATCH:
        messages.info(request, _("This e-mail is not waiting to be matched."))
        return redirect(message)
    search = CustomerSearchForm(request.GET or None)
    q = search.cleaned_data["q"].strip() if search.is_valid() else ""
    found = customer_search(user=request.user, q=q) if q else []
    chosen = None
    if not request.POST and request.GET.get("customer", "").isdigit():
        chosen = next((c for c in found if str(c.pk) == request.GET["customer"]), None)
    if chosen is None and message.customer_id and not q:
        chosen = message.customer
    form = MatchForm(
        request.POST or None,
        user=request.user,
        customer=chosen,
        initial={
            "version": message.version,
            "contact_name": message.from_name or (chosen.name if chosen else ""),
            "contact_phone": chosen.phone if chosen else "",
            "problem": "\n\n".join(p for p in (message.subject, message.body) if p)[:2000],
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = inbound_message_match(
                user=request.user,
                message_id=message.pk,
                customer=data["customer"],
                site=data["site"],
                product=data["product"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                problem=data["problem"],
                expected_version=data["version"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Call %(number)s logged from the e-mail.") % {"number": message.call.number})
            return redirect(message.call)
    picked = str(form["customer"].value() or "")
    customer = form.fields["customer"].queryset.filter(pk=picked).first() if picked.isdigit() else None
    return render(
        request,
        "intake/match.html",
        {
            "message": message,
            "search": search,
            "found": found,
            "form": form,
            "customer": customer,
            "attachments": selectors.inbound_attachments_of(message=message),
        },
    )


@require_GET
@permission_required("intake.view_inboundmessage", raise_exception=True)
def attachment_download(request, pk: int):
    """Only through here, only for those who may see the message; never rendered inline."""
    attachment = selectors.inbound_attachment_get_for_user(user=request.user, pk=pk)
    path = attachment_path(attachment)
    if not path.is_file():
        raise Http404
    response = FileResponse(
        open(path, "rb"), as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
