"""Charged carry-in repairs: the card's quote, the customer's approval (screen or phone), the fee at hand-back,
the supervisor's unpaid release, and the catalogue parts used on the bench."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .. import selectors_field, services
from ..forms_quotes import (
    CardFeeForm,
    CardPartForm,
    DeclineForm,
    PhoneApprovalForm,
    QuoteForm,
    QuoteLineFormSet,
    QuoteSignForm,
    ReleaseUnpaidForm,
    quote_lines,
)
from ..models import RepairCard, RepairCardFee, RepairQuote

# action -> (permission, form)
ACTIONS = {
    "phone": ("repairs.open_carry_in", PhoneApprovalForm),
    "decline": ("repairs.open_carry_in", DeclineForm),
    "fee": ("repairs.manage_register", CardFeeForm),
    "release_unpaid": ("repairs.supervise_repairs", ReleaseUnpaidForm),
    "use_part": ("repairs.open_carry_in", CardPartForm),
}


def _form_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _quote_of(card) -> RepairQuote | None:
    return RepairQuote.objects.filter(card=card).select_related("approval_recorded_by", "unpaid_release_by").first()


def _page(request, card, *, bound=None, quote_form=None, formset=None, status=200):
    user = request.user
    quote = _quote_of(card)
    fee = RepairCardFee.objects.filter(card=card).select_related("collected_by").first()
    lines = list(quote.lines.select_related("part")) if quote else []
    forms = {}
    editable = (quote is None or quote.status != RepairQuote.Status.APPROVED) and (
        card.is_open or card.status == RepairCard.Status.REPAIRED
    )
    if editable and user.has_perm("repairs.open_carry_in"):
        if quote_form is None:
            quote_form = QuoteForm(
                initial={"labour_charge": quote.labour_charge, "version": quote.version} if quote else None
            )
            formset = QuoteLineFormSet(
                initial=[
                    {
                        "part": line.part,
                        "quantity": line.quantity,
                        "unit_price": None if line.unit_price == line.part.unit_price else line.unit_price,
                    }
                    for line in lines
                ],
                prefix="lines",
            )
    else:
        quote_form = formset = None
    if quote and quote.status == RepairQuote.Status.DRAFT and user.has_perm("repairs.open_carry_in"):
        forms["phone"] = PhoneApprovalForm(initial={"version": quote.version})
        forms["decline"] = DeclineForm()
    unpaid = services.quote_unpaid(card)
    if unpaid and user.has_perm("repairs.manage_register"):
        forms["fee"] = CardFeeForm(initial={"amount": unpaid.total})
    if unpaid and user.has_perm("repairs.supervise_repairs"):
        forms["release_unpaid"] = ReleaseUnpaidForm()
    if card.is_open and user.has_perm("repairs.open_carry_in"):
        forms["use_part"] = CardPartForm()
    forms.update(bound or {})
    return render(
        request,
        "repairs/quote.html",
        {
            "card": card,
            "call": card.call,
            "entry": card.register_entry,
            "quote": quote,
            "lines": lines,
            "fee": fee,
            "unpaid": unpaid,
            "quote_form": quote_form,
            "formset": formset,
            "forms": forms,
            "parts_used": card.parts_used.select_related("part", "used_by"),
            "history": history_for(quote) if quote else [],
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@permission_required("repairs.view_repaircard", raise_exception=True)
def quote(request, pk):
    card = selectors_field.card_get_for_user(user=request.user, pk=pk)
    if request.method == "GET":
        return _page(request, card)
    if not request.user.has_perm("repairs.open_carry_in"):
        raise PermissionDenied
    form = QuoteForm(request.POST)
    formset = QuoteLineFormSet(request.POST, prefix="lines")
    if form.is_valid() and formset.is_valid():
        try:
            saved = services.repair_quote_save(
                user=request.user,
                card_id=card.pk,
                labour_charge=form.cleaned_data["labour_charge"],
                lines=quote_lines(formset),
                expected_version=form.cleaned_data.get("version"),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("Quote %(number)s saved: %(total)s yuan.") % {"number": saved.number, "total": saved.total}
            )
            return redirect("repairs:quote", card.pk)
    return _page(request, card, quote_form=form, formset=formset, status=400)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.open_carry_in", raise_exception=True)
def quote_sign(request, pk):
    """The customer reads the quote on the screen and signs it with a finger."""
    card = selectors_field.card_get_for_user(user=request.user, pk=pk)
    quote = _quote_of(card)
    if quote is None or quote.status != RepairQuote.Status.DRAFT:
        messages.error(request, _("There is no quote waiting for the customer's approval."))
        return redirect("repairs:quote", card.pk)
    form = QuoteSignForm(
        request.POST or None, initial={"version": quote.version, "approved_by_name": card.call.contact_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.repair_quote_approve_signed(
                user=request.user,
                card_id=card.pk,
                signature_png=form.cleaned_data["signature"],
                approved_by_name=form.cleaned_data["approved_by_name"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Quote %(number)s approved by the customer.") % {"number": quote.number})
            return redirect("repairs:quote", card.pk)
    return render(
        request,
        "repairs/quote_sign.html",
        {"card": card, "call": card.call, "quote": quote, "lines": quote.lines.select_related("part"), "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def quote_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    permission, form_class = ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    user = request.user
    card = selectors_field.card_get_for_user(user=user, pk=pk)
    form = form_class(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "phone":
                services.repair_quote_approve_by_phone(
                    user=user,
                    card_id=card.pk,
                    approved_by_name=data["approved_by_name"],
                    approved_at=data.get("approved_at"),
                    expected_version=data.get("version"),
                )
                messages.success(request, _("Phone approval recorded."))
            elif action == "decline":
                services.repair_quote_decline(user=user, card_id=card.pk, note=data["note"])
                messages.success(request, _("The customer declined the quote."))
            elif action == "fee":
                services.repair_card_fee_record(user=user, card_id=card.pk, amount=data["amount"])
                messages.success(request, _("Fee recorded; the product may be handed back."))
            elif action == "release_unpaid":
                services.repair_quote_release_unpaid(user=user, card_id=card.pk, reason=data["reason"])
                messages.success(request, _("Released unpaid; the reason is recorded."))
            else:
                used = services.repair_card_part_use(
                    user=user, card_id=card.pk, part_id=data["part"].pk, quantity=data["quantity"]
                )
                messages.success(
                    request,
                    _("%(part)s × %(quantity)d taken from your van.") % {"part": used.part, "quantity": used.quantity},
                )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            return redirect("repairs:quote", card.pk)
    return _page(request, card, bound={action: form}, status=400)


@require_GET
@permission_required("repairs.view_repaircard", raise_exception=True)
def quote_pdf(request, pk):
    card = selectors_field.card_get_for_user(user=request.user, pk=pk)
    quote = _quote_of(card)
    if quote is None:
        raise Http404
    pdf = render_pdf(
        template="repairs/pdf/quote.html",
        context={"quote": quote, "card": card, "call": card.call, "lines": list(quote.lines.select_related("part"))},
    )
    return pdf_response(pdf, filename=quote.number)
