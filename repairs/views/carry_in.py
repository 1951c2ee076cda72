"""Carry-in repair (clauses 十一 to 十四): open it from the call, work the repair card, the register, supervision."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk import exports
from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.form_html import form_html
from servicedesk.sms import sms_phone
from servicedesk.workflow import history_for, history_rows

from .. import presenters_field, selectors, selectors_field, services
from ..forms_field import (
    CardTransitionForm,
    CarryInForm,
    DelayReportForm,
    ReceiveForm,
    RegisterFilterForm,
    ReleaseForm,
    RescheduleForm,
)
from ..models import RepairCall, RepairCard


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _mobile_or_blank(phone: str) -> str:
    """The contact's number when it is a mobile an SMS can reach, else nothing to pre-fill."""
    try:
        return sms_phone(phone)
    except ApplicationError:
        return ""


@require_http_methods(["GET", "POST"])
@permission_required("repairs.open_carry_in", raise_exception=True)
def carry_in_open(request, pk):
    call = selectors.repair_call_get_for_user(user=request.user, pk=pk)
    vouchers = selectors_field.signed_vouchers_of_call(user=request.user, call=call)
    form = CarryInForm(
        request.POST or None,
        vouchers=vouchers,
        initial={
            "version": call.version,
            "item_description": str(call.product) if call.product else "",
            "receipt_signed_by_name": call.contact_name,
            "receipt_email": call.customer.email,
            "receipt_phone": _mobile_or_blank(call.contact_phone),
            "promised_at": (timezone.localtime() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
        },
    )
    if call.status != RepairCall.Status.ON_SITE:
        messages.error(request, _("A product is carried in from a call the technician is attending on site."))
        return redirect(call)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            card = services.carry_in_open(
                user=request.user,
                call_id=call.pk,
                voucher_id=data["voucher"].pk,
                fault_found=data["fault_found"],
                work_planned=data["work_planned"],
                parts_planned=data["parts_planned"],
                promised_at=data["promised_at"],
                items_received=data["items_received"],
                item_description=data["item_description"],
                receipt_signature_png=data["receipt_signature"],
                receipt_signed_by_name=data["receipt_signed_by_name"],
                receipt_email=data["receipt_email"],
                receipt_phone=data["receipt_phone"],
                expected_version=data.get("version"),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            entry = card.register_entry
            sent_to = ", ".join(to for to in (entry.receipt_sent_to, entry.receipt_sent_to_phone) if to)
            if sent_to:
                text = _(
                    "Carry-in opened: repair card %(card)s, pickup receipt %(receipt)s signed by %(name)s "
                    "and sent to %(to)s."
                )
            else:
                text = _(
                    "Carry-in opened: repair card %(card)s, pickup receipt %(receipt)s signed by %(name)s; "
                    "the customer gave no address to send it to."
                )
            messages.success(
                request,
                text
                % {
                    "card": card.number,
                    "receipt": entry.receipt_number,
                    "name": entry.pickup_signed_by_name,
                    "to": sent_to,
                },
            )
            return redirect(card)
    return render(
        request,
        "repairs/carry_in_form.html",
        {"call": call, "form": form, "has_signed_voucher": vouchers.exists()},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@permission_required("repairs.view_repaircard", raise_exception=True)
def card_list(request):
    cards = selectors_field.card_list(user=request.user, open_only=request.GET.get("all") != "1")
    return render(
        request, "repairs/card_list.html", {"rows_html": presenters_field.card_list_html(cards, now=timezone.now())}
    )


CARD_ACTIONS = {
    "in_repair": gettext_lazy("Start repair"),
    "waiting_parts": gettext_lazy("Waiting for parts"),
    "repaired": gettext_lazy("Repaired"),
}


def _card_forms(request, card, bound=None) -> dict:
    user = request.user
    forms = {}
    entry = card.register_entry
    if user.has_perm("repairs.manage_register") and entry.received_at is None:
        forms["receive"] = ReceiveForm()
    if user.has_perm("repairs.open_carry_in") and entry.received_at is not None:
        for status in RepairCard.TRANSITIONS.get(card.status, ()):
            if status in CARD_ACTIONS:
                forms[status] = CardTransitionForm(initial={"version": card.version})
    if card.is_open and user.has_perm("repairs.open_carry_in"):
        forms["report_delay"] = DelayReportForm()
    if card.is_open and user.has_perm("repairs.supervise_repairs"):
        forms["reschedule"] = RescheduleForm()
    if bound:
        forms.update(bound)
    return forms


def _render_card(request, card, bound=None, status=200):
    forms = _card_forms(request, card, bound)
    return render(
        request,
        "repairs/card_detail.html",
        {
            "card": card,
            "entry": card.register_entry,
            "call": card.call,
            "history": history_rows(card),
            "delays": selectors_field.card_delays(card=card),
            "forms": {name: form_html(form) for name, form in forms.items()},
            # The workshop's steps the transition table allows now, in the table's order.
            "card_actions": [
                (name, label, form_html(forms[name])) for name, label in CARD_ACTIONS.items() if name in forms
            ],
            "now": timezone.now(),
        },
        status=status,
    )


@require_GET
@permission_required("repairs.view_repaircard", raise_exception=True)
def card_detail(request, pk):
    return _render_card(request, selectors_field.card_get_for_page(user=request.user, pk=pk))


@require_POST
def card_action(request, pk, action):
    user = request.user
    card = selectors_field.card_get_for_user(user=user, pk=pk)
    try:
        if action in CARD_ACTIONS:
            if not user.has_perm("repairs.open_carry_in"):
                raise PermissionDenied
            form = CardTransitionForm(request.POST)
            if form.is_valid():
                services.repair_card_transition(
                    user=user,
                    card_id=card.pk,
                    to_status=action,
                    note=form.cleaned_data["note"],
                    expected_version=form.cleaned_data.get("version"),
                )
                messages.success(
                    request,
                    _("Card %(number)s: %(status)s.")
                    % {"number": card.number, "status": RepairCard.Status(action).label},
                )
                return redirect(card)
        elif action == "report_delay":
            if not user.has_perm("repairs.open_carry_in"):
                raise PermissionDenied
            form = DelayReportForm(request.POST)
            if form.is_valid():
                services.repair_card_report_delay(
                    user=user,
                    card_id=card.pk,
                    reason=form.cleaned_data["reason"],
                    new_promised_at=form.cleaned_data["new_promised_at"],
                )
                messages.success(request, _("Delay reported to the service supervisor; the customer will be told."))
                return redirect(card)
        elif action == "reschedule":
            if not user.has_perm("repairs.supervise_repairs"):
                raise PermissionDenied
            form = RescheduleForm(request.POST)
            if form.is_valid():
                services.repair_card_reschedule(
                    user=user,
                    card_id=card.pk,
                    new_promised_at=form.cleaned_data["new_promised_at"],
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, _("New promised time set; the customer will be told."))
                if request.POST.get("back") == "supervision":
                    return redirect("repairs:supervision")
                return redirect(card)
        elif action == "receive":
            if not user.has_perm("repairs.manage_register"):
                raise PermissionDenied
            form = ReceiveForm(request.POST)
            if form.is_valid():
                services.register_entry_receive(
                    user=user, entry_id=card.register_entry.pk, storage_location=form.cleaned_data["storage_location"]
                )
                messages.success(request, _("Product booked into the register."))
                return redirect(card)
        else:
            raise PermissionDenied
    except ApplicationError as exc:
        _form_error(form, exc)
    card = selectors_field.card_get_for_user(user=user, pk=pk)
    return _render_card(request, card, bound={action: form}, status=400)


@require_GET
@permission_required("repairs.view_repaircard", raise_exception=True)
def card_pdf(request, pk):
    card = selectors_field.card_get_for_user(user=request.user, pk=pk)
    pdf = render_pdf(
        template="repairs/pdf/repair_card.html",
        context={"card": card, "entry": card.register_entry, "call": card.call, "history": history_for(card)},
    )
    return pdf_response(pdf, filename=card.number)


@require_GET
@permission_required("repairs.view_repaircard", raise_exception=True)
def pickup_receipt_pdf(request, pk):
    card = selectors_field.card_get_for_user(user=request.user, pk=pk)
    entry = card.register_entry
    pdf = render_pdf(
        template="repairs/pdf/pickup_receipt.html", context={"card": card, "entry": entry, "call": card.call}
    )
    return pdf_response(pdf, filename=entry.receipt_number)


# --- The register ----------------------------------------------------------------------------------------


def register_rows(*, user, params):
    """The register's form and entries from its query string (the page, its PDF and its exports)."""
    units = selectors_field.units_for_filter(user=user)
    form = RegisterFilterForm(params or None, units=units)
    data = form.cleaned_data if form.is_valid() else {}
    entries = selectors_field.register_in_hands(user=user, unit=data.get("unit"), min_age_days=data.get("min_age_days"))
    return form, entries


def _register_rows(request):
    return register_rows(user=request.user, params=request.GET)


@require_GET
@permission_required("repairs.view_registerentry", raise_exception=True)
def register(request):
    if request.GET.get("format") in exports.FORMATS:  # the register's links from before the shared exports
        return exports.export_response(request, "register", request.GET["format"])
    form, entries = _register_rows(request)
    return render(
        request,
        "repairs/register.html",
        {"form": form, "entries": entries, "query": request.GET.urlencode(), "now": timezone.now()},
    )


@require_GET
@permission_required("repairs.view_registerentry", raise_exception=True)
def register_pdf(request):
    form, entries = _register_rows(request)
    now = timezone.localtime()
    unit = (form.cleaned_data.get("unit") if form.is_bound and form.is_valid() else None) or request.user.unit
    number = f"REG-{unit.code if unit else 'ALL'}-{now:%Y%m%d-%H%M}"
    pdf = render_pdf(
        template="repairs/pdf/register_extract.html", context={"entries": entries, "number": number, "unit": unit}
    )
    return pdf_response(pdf, filename=number)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.manage_register", raise_exception=True)
def register_release(request, pk):
    entry = selectors_field.register_entry_get_for_user(user=request.user, pk=pk)
    if entry.released_at is not None:
        messages.info(
            request, _("Receipt %(receipt)s has already left the register.") % {"receipt": entry.receipt_number}
        )
        return redirect(entry.card)
    form = ReleaseForm(request.POST or None, initial={"released_to_name": entry.call.contact_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.register_entry_release(
                user=request.user,
                entry_id=entry.pk,
                release_kind=form.cleaned_data["release_kind"],
                released_to_name=form.cleaned_data["released_to_name"],
                signature_png=form.cleaned_data["signature"],
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("%(product)s returned against receipt %(receipt)s; call %(call)s closed.")
                % {"product": entry.item_description, "receipt": entry.receipt_number, "call": entry.call.number},
            )
            return redirect("repairs:register")
    return render(
        request,
        "repairs/register_release.html",
        {"entry": entry, "card": entry.card, "form": form, "unpaid": services.quote_unpaid(entry.card)},
        status=400 if request.method == "POST" else 200,
    )


# --- Supervision (clause 十四) ------------------------------------------------------------------------------


@require_GET
@permission_required("repairs.supervise_repairs", raise_exception=True)
def supervision(request):
    return render(
        request,
        "repairs/supervision.html",
        {
            "page": selectors_field.supervision(user=request.user),
            "reschedule_form": RescheduleForm(),
            "now": timezone.now(),
        },
    )


@require_GET
@permission_required("repairs.supervise_repairs", raise_exception=True)
def delay_letter_pdf(request, pk):
    delay = selectors_field.delay_get_for_user(user=request.user, pk=pk)
    if delay.new_promised_at is None:
        messages.error(request, _("Set the new promised time before writing to the customer."))
        return redirect("repairs:supervision")
    number = f"{delay.card.number}-L{delay.pk}"
    pdf = render_pdf(
        template="repairs/pdf/delay_letter.html",
        context={"delay": delay, "card": delay.card, "call": delay.card.call, "number": number},
    )
    return pdf_response(pdf, filename=number)


@require_POST
@permission_required("repairs.supervise_repairs", raise_exception=True)
def delay_letter_sent(request, pk):
    delay = selectors_field.delay_get_for_user(user=request.user, pk=pk)
    try:
        services.repair_card_delay_letter_sent(user=request.user, delay_id=delay.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Letter marked as sent."))
    return redirect("repairs:supervision")
