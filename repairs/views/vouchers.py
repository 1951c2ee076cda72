"""Service vouchers on the technician's phone: fill in, have the customer sign, collect the fee, print."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parts.selectors import active_parts
from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.form_html import form_html
from servicedesk.roles import Role
from servicedesk.workflow import history_for

from .. import presenters_field, selectors_field, services
from ..forms_field import FeeForm, InvoiceForm, PartFormSet, SignForm, VoucherForm, WriteOffForm, part_lines
from ..models import FeeCollection, ServiceVoucher


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _voucher_forms(request, voucher, ledger, *, fee_form=None, invoice_form=None, write_off_form=None) -> dict:
    user = request.user
    forms = {}
    collectable = (
        voucher.status == ServiceVoucher.Status.SIGNED and voucher.settlement == ServiceVoucher.Settlement.ON_SITE
    )
    if collectable and ledger.account.balance > 0 and user.has_perm("repairs.fill_voucher"):
        # The visit's fee, or (once it is recorded) a further amount against the balance.
        forms["fee"] = FeeForm(initial={"amount": ledger.account.balance, "collections_seen": len(ledger.fees)})
        if user.has_role(Role.SUPERVISOR):
            forms["write_off"] = WriteOffForm()
    # A refused submit shows its form with the reason, whatever the state now.
    if fee_form is not None:
        forms["fee"] = fee_form
    if write_off_form is not None:
        forms["write_off"] = write_off_form
    if (
        voucher.status == ServiceVoucher.Status.SIGNED
        and voucher.settlement == ServiceVoucher.Settlement.INVOICE
        and voucher.invoiced_at is None
        and user.has_perm("repairs.invoice_voucher")
    ):
        forms["invoice"] = invoice_form or InvoiceForm()
    return forms


def _form_messages(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _render_detail(request, voucher, status=200, **bound):
    ledger = selectors_field.voucher_fee_ledger(voucher=voucher)
    offered = _voucher_forms(request, voucher, ledger)
    refused = [form for key, form in bound.items() if form is not None and key.removesuffix("_form") not in offered]
    if refused:
        # The page no longer offers the form that was posted (an invoice voucher has no fee form): its
        # errors would show nowhere, so they become messages on the voucher's page.
        for form in refused:
            _form_messages(request, form)
        return redirect(voucher)
    return render(
        request,
        "repairs/voucher_detail.html",
        {
            "voucher": voucher,
            "call": voucher.call,
            "ledger": ledger,
            "fee": ledger.fee,
            "history": history_for(voucher),
            "forms": _voucher_forms(request, voucher, ledger, **bound),
        },
        status=status,
    )


@require_GET
@permission_required("repairs.view_servicevoucher", raise_exception=True)
def voucher_detail(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    return _render_detail(request, voucher)


def _voucher_form_page(request, *, call, voucher=None):
    if voucher is None:
        arrived_at = call.visit_arrived_at
        initial = {"departed_at": timezone.localtime().replace(second=0, microsecond=0)}
        parts_initial = []
    else:
        arrived_at = voucher.arrived_at
        initial = {
            "departed_at": timezone.localtime(voucher.departed_at),
            "work_done": voucher.work_done,
            "labour_charge": voucher.labour_charge,
            "misuse": voucher.misuse,
            "version": voucher.version,
        }
        parts_initial = [
            {
                "part_number": p.part_number,
                "description": p.description,
                "quantity": p.quantity,
                # A catalogue price is left empty, so the catalogue decides again when the draft is saved.
                "unit_price": None if p.part_id and p.unit_price in (p.part.unit_price, 0) else p.unit_price,
            }
            for p in voucher.parts.all()
        ]
    form = VoucherForm(request.POST or None, initial=initial, arrived_at=arrived_at)
    # One empty row to start with; the page adds rows as parts are needed (static/js/voucher_parts.js).
    formset = PartFormSet(request.POST or None, initial=parts_initial, prefix="parts")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        args = {
            "user": request.user,
            "departed_at": data["departed_at"],
            "work_done": data["work_done"],
            "parts": part_lines(formset),
            "labour_charge": data["labour_charge"],
            "misuse": data["misuse"],
        }
        try:
            if voucher is None:
                saved = services.service_voucher_create(call_id=call.pk, **args)
            else:
                saved = services.service_voucher_update(
                    voucher_id=voucher.pk, expected_version=data.get("version"), **args
                )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("Voucher %(number)s saved; now have the customer sign.") % {"number": saved.number}
            )
            return redirect("repairs:voucher_sign", saved.pk)
    return render(
        request,
        "repairs/voucher_form.html",
        {
            "call": call,
            "voucher": voucher,
            "form_html": form_html(form),
            "formset": formset,
            "part_rows_html": presenters_field.part_rows_html(formset),
            "part_row_template_html": presenters_field.part_row_template_html(formset),
            "catalogue_html": presenters_field.catalogue_datalist_html(active_parts()),
            "map_html": presenters_field.map_link_html(call.site.address),
            "arrived_at": arrived_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_create(request, pk):
    call = selectors_field.call_for_voucher_form(user=request.user, pk=pk)
    return _voucher_form_page(request, call=call)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_edit(request, pk):
    voucher = selectors_field.voucher_get_for_form(user=request.user, pk=pk)
    if not voucher.is_editable:
        messages.error(
            request,
            _("Voucher %(number)s is signed and can no longer be changed; make a correction instead.")
            % {"number": voucher.number},
        )
        return redirect(voucher)
    return _voucher_form_page(request, call=voucher.call, voucher=voucher)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_sign(request, pk):
    voucher = selectors_field.voucher_get_for_form(user=request.user, pk=pk)
    if not voucher.is_editable:
        messages.info(request, _("Voucher %(number)s is already signed.") % {"number": voucher.number})
        return redirect(voucher)
    fee_effect = selectors_field.correction_fee_effect(voucher=voucher)
    form = SignForm(
        request.POST or None,
        initial={"signed_by_name": voucher.call.contact_name, "version": voucher.version},
        fee_difference=fee_effect,
    )
    if request.method == "POST" and form.is_valid():
        try:
            signed = services.service_voucher_sign(
                user=request.user,
                voucher_id=voucher.pk,
                signature_png=form.cleaned_data["signature"],
                signed_by_name=form.cleaned_data["signed_by_name"],
                expected_version=form.cleaned_data.get("version"),
                fee_difference_reason=form.cleaned_data.get("fee_difference_reason", ""),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Voucher %(number)s signed.") % {"number": voucher.number})
            # The fee step comes right after the signature (issue 16): the voucher's page opens at its fee form.
            if signed.settlement == ServiceVoucher.Settlement.ON_SITE and signed.fee_balance > 0:
                return redirect(signed.get_absolute_url() + "#fee-form")
            return redirect(voucher)
    return render(
        request,
        "repairs/voucher_sign.html",
        {
            "voucher": voucher,
            "call": voucher.call,
            "form": form,
            "fee_effect": fee_effect,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_correct(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    try:
        draft = services.service_voucher_correct(user=request.user, voucher_id=voucher.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(voucher)
    messages.info(
        request,
        _("Correction %(number)s started from %(original)s.") % {"number": draft.number, "original": voucher.number},
    )
    return redirect("repairs:voucher_edit", draft.pk)


@require_POST
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_fee(request, pk):
    """The visit's fee, or once it is recorded a further collection against its balance."""
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    form = FeeForm(request.POST)
    if form.is_valid():
        seen = form.cleaned_data.get("collections_seen")
        latest = FeeCollection.objects.filter(voucher_id=voucher.pk).order_by("-collected_at", "-id").first()
        count = FeeCollection.objects.filter(voucher_id=voucher.pk).count()
        if seen is not None and seen != count and latest is not None:
            # A double submit (or a colleague was quicker): the first one recorded it; say so and show it.
            messages.warning(
                request,
                _(
                    "A fee for this visit was already recorded a moment ago (receipt %(receipt)s, %(amount)s "
                    "yuan); check the balance before collecting more."
                )
                % {"receipt": latest.receipt_number, "amount": latest.amount},
            )
            return redirect(voucher)
        record = services.fee_balance_collect if count else services.fee_collection_record
        try:
            fee = record(user=request.user, voucher_id=voucher.pk, amount=form.cleaned_data["amount"])
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("Fee of %(amount)s yuan recorded with receipt %(receipt)s.")
                % {"amount": fee.amount, "receipt": fee.receipt_number},
            )
            return redirect(voucher)
    return _render_detail(request, voucher, status=400, fee_form=form)


@require_POST
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_write_off(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    form = WriteOffForm(request.POST)
    if form.is_valid():
        try:
            line = services.fee_balance_write_off(
                user=request.user,
                voucher_id=voucher.pk,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("%(amount)s yuan written off.") % {"amount": line.amount})
            return redirect(voucher)
    return _render_detail(request, voucher, status=400, write_off_form=form)


@require_GET
@permission_required("repairs.view_feecollection", raise_exception=True)
def fee_receipt_pdf(request, pk):
    """The customer's receipt (收款收据) for one collection: the amount in figures and in Chinese capitals."""
    fee = selectors_field.fee_get_for_user(user=request.user, pk=pk)
    pdf = render_pdf(template="repairs/pdf/fee_receipt.html", context=selectors_field.fee_receipt_context(fee=fee))
    return pdf_response(pdf, filename=fee.receipt_number)


@require_POST
@permission_required("repairs.invoice_voucher", raise_exception=True)
def voucher_invoice(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    form = InvoiceForm(request.POST)
    if form.is_valid():
        try:
            services.service_voucher_mark_invoiced(
                user=request.user, voucher_id=voucher.pk, invoice_number=form.cleaned_data["invoice_number"]
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Invoice recorded."))
            return redirect(voucher)
    return _render_detail(request, voucher, status=400, invoice_form=form)


@require_GET
@permission_required("repairs.view_servicevoucher", raise_exception=True)
def voucher_pdf(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    pdf = render_pdf(
        template="repairs/pdf/voucher.html",
        context={
            "voucher": voucher,
            "call": voucher.call,
            "ledger": selectors_field.voucher_fee_ledger(voucher=voucher),
        },
    )
    return pdf_response(pdf, filename=voucher.number)
