"""The signed-in portal: the customer's own records, a repair call, a suggestion or complaint.

Every view is wrapped in ``portal_view`` (the customer principal) and reads through ``portal.selectors``;
the two writes call the same services as the desk's pages (``repair_call_log``, ``customer_opinion_record``).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from complaints.models import CustomerOpinion
from complaints.services import customer_opinion_record
from contracts.services.notices import expiry_notice_pdf
from repairs import services as repair_services
from repairs.models import RepairCall
from repairs.selectors_field import fee_receipt_context, voucher_fee_ledger
from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError

from .. import selectors
from ..forms import CallForm, OpinionForm
from ..principal import portal_view


def _form_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@portal_view
@require_GET
def home(request, principal):
    calls = selectors.calls(principal=principal)
    context = {
        "open_calls": [c for c in calls if c.status in RepairCall.OPEN],
        "cards": selectors.survey_cards_to_answer(principal=principal, now=timezone.now()),
    }
    return render(request, "portal/home.html", context)


@portal_view
@require_GET
def equipment(request, principal):
    return render(
        request,
        "portal/equipment.html",
        {"sites": selectors.sites(principal=principal), "products": selectors.products(principal=principal)},
    )


@portal_view
@require_GET
def calls(request, principal):
    return render(request, "portal/calls.html", {"calls": selectors.calls(principal=principal)})


@portal_view
@require_http_methods(["GET", "POST"])
def call_new(request, principal):
    contact = principal.contact
    initial = {
        "contact_name": contact.name,
        "contact_phone": contact.mobile or principal.customer.phone,
        "product": request.GET.get("product") or None,
    }
    form = CallForm(request.POST or None, principal=principal, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call = repair_services.repair_call_log(
                user=None,
                submitted_by_customer=principal.customer,
                unit=principal.customer.unit,
                customer=principal.customer,
                site=data["site"],
                product=data["product"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                problem=data["problem"],
                channel=RepairCall.Channel.PORTAL,
                received_at=timezone.now(),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("Your repair call %(number)s was sent to the service desk.") % {"number": call.number}
            )
            return redirect("portal:call_detail", pk=call.pk)
    return render(request, "portal/call_new.html", {"form": form}, status=400 if form.errors else 200)


@portal_view
@require_GET
def call_detail(request, principal, pk: int):
    call = selectors.call_get(principal=principal, pk=pk)
    context = {
        "call": call,
        "history": selectors.call_history(call=call),
        "vouchers": selectors.call_vouchers(call=call),
        "fees": selectors.call_fees(call=call),
        "card": selectors.call_card(call=call),
    }
    return render(request, "portal/call_detail.html", context)


@portal_view
@require_GET
def voucher_pdf(request, principal, pk: int):
    voucher = selectors.voucher_get(principal=principal, pk=pk)
    pdf = render_pdf(
        template="repairs/pdf/voucher.html",
        context={"voucher": voucher, "call": voucher.call, "ledger": voucher_fee_ledger(voucher=voucher)},
    )
    return pdf_response(pdf, filename=voucher.number)


@portal_view
@require_GET
def fee_receipt_pdf(request, principal, pk: int):
    fee = selectors.fee_get(principal=principal, pk=pk)
    pdf = render_pdf(template="repairs/pdf/fee_receipt.html", context=fee_receipt_context(fee=fee))
    return pdf_response(pdf, filename=fee.receipt_number)


@portal_view
@require_GET
def pickup_receipt_pdf(request, principal, pk: int):
    card = selectors.card_get(principal=principal, pk=pk)
    entry = card.register_entry
    pdf = render_pdf(
        template="repairs/pdf/pickup_receipt.html", context={"card": card, "entry": entry, "call": card.call}
    )
    return pdf_response(pdf, filename=entry.receipt_number)


@portal_view
@require_GET
def contracts(request, principal):
    return render(request, "portal/contracts.html", {"contracts": selectors.contracts(principal=principal)})


@portal_view
@require_GET
def notice_pdf(request, principal, pk: int):
    notice = selectors.notice_get(principal=principal, pk=pk)
    return pdf_response(expiry_notice_pdf(notice), filename=notice.number)


@portal_view
@require_GET
def surveys(request, principal):
    cards = selectors.survey_cards_to_answer(principal=principal, now=timezone.now())
    return render(request, "portal/surveys.html", {"cards": cards})


@portal_view
@require_http_methods(["GET", "POST"])
def opinions(request, principal):
    """The customer's suggestions and complaints, and a new one: recorded and routed as one taken by phone."""
    form = OpinionForm(request.POST or None, principal=principal, initial={"call": request.GET.get("call") or None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        call = data["call"]
        try:
            customer_opinion_record(
                unit=principal.customer.unit,
                customer=principal.customer,
                call=call,
                technician=call.technician if call is not None else None,
                kind=data["kind"],
                severity=form.severity(),
                source=CustomerOpinion.Source.PORTAL,
                text=data["text"],
                received_at=timezone.now(),
                by=None,
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Thank you. The service department has received it."))
            return redirect("portal:opinions")
    context = {"form": form, "opinions": selectors.opinions(principal=principal)}
    return render(request, "portal/opinions.html", context, status=400 if form.errors else 200)
