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
from servicedesk.workflow import history_for

from .. import selectors, selectors_field, services
from ..forms_field import FeeForm, InvoiceForm, PartFormSet, SignForm, VoucherForm, part_lines
from ..models import FeeCollection, ServiceVoucher


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _voucher_forms(request, voucher, *, fee_form=None, invoice_form=None) -> dict:
    user = request.user
    forms = {}
    fee = _fee_of(voucher)
    if (
        voucher.status == ServiceVoucher.Status.SIGNED
        and voucher.settlement == ServiceVoucher.Settlement.ON_SITE
        and fee is None
        and user.has_perm("repairs.fill_voucher")
    ):
        forms["fee"] = fee_form or FeeForm(initial={"amount": voucher.total_due})
    if (
        voucher.status == ServiceVoucher.Status.SIGNED
        and voucher.settlement == ServiceVoucher.Settlement.INVOICE
        and voucher.invoiced_at is None
        and user.has_perm("repairs.invoice_voucher")
    ):
        forms["invoice"] = invoice_form or InvoiceForm()
    return forms


def _fee_of(voucher) -> FeeCollection | None:
    try:
        return voucher.fee
    except FeeCollection.DoesNotExist:
        return None


def _render_detail(request, voucher, status=200, **bound):
    return render(
        request,
        "repairs/voucher_detail.html",
        {
            "voucher": voucher,
            "call": voucher.call,
            "fee": _fee_of(voucher),
            "history": history_for(voucher),
            "forms": _voucher_forms(request, voucher, **bound),
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
        initial = {
            "arrived_at": timezone.localtime(call.arrived_at) if call.arrived_at else None,
            "departed_at": timezone.localtime().replace(second=0, microsecond=0),
        }
        parts_initial = []
    else:
        initial = {
            "arrived_at": timezone.localtime(voucher.arrived_at),
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
            for p in voucher.parts.select_related("part")
        ]
    form = VoucherForm(request.POST or None, initial=initial)
    formset = PartFormSet(request.POST or None, initial=parts_initial, prefix="parts")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        args = {
            "user": request.user,
            "arrived_at": data["arrived_at"],
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
        {"call": call, "voucher": voucher, "form": form, "formset": formset, "catalogue": active_parts()},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_create(request, pk):
    call = selectors.repair_call_get_for_user(user=request.user, pk=pk)
    return _voucher_form_page(request, call=call)


@require_http_methods(["GET", "POST"])
@permission_required("repairs.fill_voucher", raise_exception=True)
def voucher_edit(request, pk):
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
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
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    if not voucher.is_editable:
        messages.info(request, _("Voucher %(number)s is already signed.") % {"number": voucher.number})
        return redirect(voucher)
    form = SignForm(
        request.POST or None, initial={"signed_by_name": voucher.call.contact_name, "version": voucher.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.service_voucher_sign(
                user=request.user,
                voucher_id=voucher.pk,
                signature_png=form.cleaned_data["signature"],
                signed_by_name=form.cleaned_data["signed_by_name"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Voucher %(number)s signed.") % {"number": voucher.number})
            return redirect(voucher)
    return render(
        request,
        "repairs/voucher_sign.html",
        {"voucher": voucher, "call": voucher.call, "form": form},
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
    voucher = selectors_field.voucher_get_for_user(user=request.user, pk=pk)
    form = FeeForm(request.POST)
    if form.is_valid():
        try:
            fee = services.fee_collection_record(
                user=request.user,
                voucher_id=voucher.pk,
                amount=form.cleaned_data["amount"],
                receipt_number=form.cleaned_data["receipt_number"],
            )
        except ApplicationError as exc:
            if FeeCollection.objects.filter(voucher_id=voucher.pk).exists():
                # A double submit: the first one recorded the fee; say so and show it.
                messages.warning(request, exc.message)
                return redirect(voucher)
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
        context={"voucher": voucher, "call": voucher.call, "fee": _fee_of(voucher)},
    )
    return pdf_response(pdf, filename=voucher.number)
