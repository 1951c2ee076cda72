"""Forms for field service: vouchers and signatures, fees, carry-in, repair cards and the register."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.exceptions import ApplicationError
from servicedesk.forms import DateField, DateTimeField, VersionField, bounded_decimal, bounded_integer

from .forms import DATETIME_INPUT
from .models import FeeAdjustment, FeeCollection, RegisterEntry, ServiceVoucher, VoucherPart
from .services.vouchers import MAX_PARTS, PartLine
from .signatures import signature_from_data_url


def _now_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class VoucherForm(forms.Form):
    """The visit's arrival is not on the form: it is the visit's, recorded on the server's clock."""

    departed_at = DateTimeField(label=_("Left the site"), widget=DATETIME_INPUT)
    work_done = forms.CharField(label=_("Work done"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    labour_charge = bounded_decimal(
        ServiceVoucher,
        "labour_charge",
        label=_("Labour charge (yuan)"),
        min_value=Decimal("0"),
        initial=Decimal("0.00"),
    )
    misuse = forms.BooleanField(label=_("Damaged by misuse (paid even in warranty or under contract)"), required=False)
    version = VersionField(required=False)

    def __init__(self, *args, arrived_at=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.arrived_at = arrived_at

    def clean(self):
        data = super().clean()
        arrived_minute = self.arrived_at.replace(second=0, microsecond=0) if self.arrived_at else None
        if arrived_minute and data.get("departed_at") and data["departed_at"] < arrived_minute:
            self.add_error("departed_at", _("The time of leaving cannot be before the arrival."))
        return data


class PartForm(forms.Form):
    part_number = forms.CharField(
        label=_("Part number"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"list": "catalogue-parts", "autocomplete": "off"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    quantity = bounded_integer(
        VoucherPart, "quantity", label=_("Quantity"), min_value=1, max_value=9999, required=False
    )
    unit_price = bounded_decimal(
        VoucherPart,
        "unit_price",
        label=_("Unit price"),
        min_value=Decimal("0"),
        required=False,
        help_text=_("Empty: the catalogue price."),
    )

    def clean(self):
        data = super().clean()
        if data.get("part_number"):
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error("quantity", _("Enter the quantity."))
        elif data.get("quantity") or data.get("unit_price") or data.get("description"):
            self.add_error("part_number", _("Enter the part number."))
        return data


# One empty row; the voucher form adds rows as parts are needed (static/js/voucher_parts.js).
PartFormSet = forms.formset_factory(PartForm, extra=1, max_num=MAX_PARTS, validate_max=True)


def part_lines(formset) -> list[PartLine]:
    return [
        PartLine(
            part_number=f.cleaned_data["part_number"],
            quantity=f.cleaned_data["quantity"],
            unit_price=f.cleaned_data.get("unit_price"),
            description=f.cleaned_data.get("description", ""),
        )
        for f in formset.forms
        if f.cleaned_data.get("part_number")
    ]


class SignatureField(forms.CharField):
    """A canvas drawing posted as a PNG data URL; cleans to PNG bytes."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 600_000)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return signature_from_data_url(value)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None


class SignForm(forms.Form):
    signed_by_name = forms.CharField(label=_("Customer's name (who signs)"), max_length=100)
    signature = SignatureField(label=_("Signature"))
    version = VersionField(required=False)
    # Shown for a correction whose total differs from what the visit already settled (DOMAIN 2).
    fee_difference_reason = forms.CharField(
        label=_("Reason for the difference in the fee"),
        max_length=FeeAdjustment._meta.get_field("reason").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, fee_difference=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not fee_difference:
            del self.fields["fee_difference_reason"]


class FeeForm(forms.Form):
    """The fee, or a further amount against the balance; the receipt number comes from the unit's series."""

    # The column's bounds both ways: a negative amount gets the clearer message of clean_amount.
    amount = bounded_decimal(FeeCollection, "amount", label=_("Amount collected (yuan)"))
    # How many collections the visit had when the form was shown: a double submit sees one more.
    collections_seen = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=10_000)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount < 0:
            raise forms.ValidationError(_("A fee cannot be negative."))
        if amount == 0:
            raise forms.ValidationError(_("Enter the amount collected (more than zero)."))
        return amount


class WriteOffForm(forms.Form):
    amount = bounded_decimal(
        FeeAdjustment,
        "amount",
        label=_("Amount written off (yuan)"),
        required=False,
        help_text=_("Leave empty to write off the whole balance."),
        min_value=Decimal("0.01"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=FeeAdjustment._meta.get_field("reason").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class InvoiceForm(forms.Form):
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=64)


class ReconciliationFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, required=False)
    day = DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        if not units.exists():
            del self.fields["unit"]


class CarryInForm(forms.Form):
    voucher = forms.ModelChoiceField(label=_("Signed service voucher"), queryset=None, empty_label=None)
    item_description = forms.CharField(label=_("Product carried in"), max_length=200, required=False)
    items_received = forms.CharField(
        label=_("Accessories and condition"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    fault_found = forms.CharField(label=_("Fault found"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    work_planned = forms.CharField(label=_("Work planned"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    parts_planned = forms.CharField(
        label=_("Parts needed"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    promised_at = DateTimeField(label=_("Promised completion"), widget=DATETIME_INPUT)
    # The pickup receipt is signed on the screen and sent to the customer, not printed (issue 16).
    receipt_signed_by_name = forms.CharField(
        label=_("Customer's name (who signs the pickup receipt)"),
        max_length=RegisterEntry._meta.get_field("pickup_signed_by_name").max_length,
    )
    receipt_signature = SignatureField(label=_("Customer's signature on the pickup receipt"))
    receipt_email = forms.EmailField(
        label=_("Send the receipt to (e-mail)"),
        max_length=RegisterEntry._meta.get_field("receipt_sent_to").max_length,
        required=False,
    )
    receipt_phone = forms.CharField(
        label=_("Send the receipt by SMS to (mobile)"),
        max_length=RegisterEntry._meta.get_field("receipt_sent_to_phone").max_length,
        required=False,
    )
    version = VersionField(required=False)

    def __init__(self, *args, vouchers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voucher"].queryset = vouchers


class ReceiveForm(forms.Form):
    storage_location = forms.CharField(label=_("Stored at (shelf, room)"), max_length=100)


class ReleaseForm(forms.Form):
    release_kind = forms.ChoiceField(
        label=_("Returned how"),
        choices=RegisterEntry.Release.choices,
        initial=RegisterEntry.Release.PICKED_UP,
        widget=forms.RadioSelect,
    )
    released_to_name = forms.CharField(label=_("Received by (name)"), max_length=100)
    signature = SignatureField(label=_("Signature"))


class CardTransitionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=1000, required=False)
    version = VersionField(required=False)


class DelayReportForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the promised time cannot be kept"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    new_promised_at = DateTimeField(label=_("New promised completion"), widget=DATETIME_INPUT)


class RescheduleForm(forms.Form):
    new_promised_at = DateTimeField(label=_("New promised completion"), widget=DATETIME_INPUT)
    reason = forms.CharField(label=_("Note"), max_length=1000, required=False)


class RegisterFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, required=False)
    min_age_days = forms.IntegerField(
        label=_("In our hands for at least (days)"), min_value=0, max_value=3650, required=False
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        if not units.exists():
            del self.fields["unit"]
