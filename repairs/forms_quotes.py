"""Forms for charged carry-in repairs: the quote, its approval, the fee at hand-back, parts on the bench."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from parts.selectors import active_parts
from servicedesk.forms import DateTimeField, VersionField, bounded_decimal, bounded_integer

from .forms import DATETIME_INPUT
from .forms_field import SignatureField
from .models_quotes import RepairCardFee, RepairQuote, RepairQuoteLine
from .services.quotes import MAX_QUOTE_LINES, QuoteLine


class PartChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.part_number} {obj.name} · {obj.unit_price}"


class QuoteForm(forms.Form):
    labour_charge = bounded_decimal(
        RepairQuote, "labour_charge", label=_("Labour charge (yuan)"), min_value=Decimal("0"), initial=Decimal("0.00")
    )
    version = VersionField(required=False)


class QuoteLineForm(forms.Form):
    part = PartChoiceField(label=_("Part"), queryset=active_parts(), required=False)
    quantity = bounded_integer(
        RepairQuoteLine, "quantity", label=_("Quantity"), min_value=1, max_value=9999, required=False
    )
    unit_price = bounded_decimal(
        RepairQuoteLine,
        "unit_price",
        label=_("Unit price"),
        min_value=Decimal("0"),
        required=False,
        help_text=_("Empty: the catalogue price."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = active_parts()

    def clean(self):
        data = super().clean()
        if data.get("part") and data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", _("Enter the quantity."))
        return data


QuoteLineFormSet = forms.formset_factory(QuoteLineForm, extra=3, max_num=MAX_QUOTE_LINES, validate_max=True)


def quote_lines(formset) -> list[QuoteLine]:
    return [
        QuoteLine(
            part_id=f.cleaned_data["part"].pk,
            quantity=f.cleaned_data["quantity"],
            unit_price=f.cleaned_data.get("unit_price"),
        )
        for f in formset.forms
        if f.cleaned_data.get("part")
    ]


class QuoteSignForm(forms.Form):
    approved_by_name = forms.CharField(label=_("Customer's name (who signs)"), max_length=100)
    signature = SignatureField(label=_("Signature"))
    version = VersionField(required=False)


class PhoneApprovalForm(forms.Form):
    approved_by_name = forms.CharField(label=_("Customer who approved on the phone"), max_length=100)
    approved_at = DateTimeField(label=_("Time of the call (empty: now)"), widget=DATETIME_INPUT, required=False)
    version = VersionField(required=False)


class DeclineForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CardFeeForm(forms.Form):
    amount = bounded_decimal(RepairCardFee, "amount", label=_("Amount collected (yuan)"), min_value=Decimal("0.01"))


class ReleaseUnpaidForm(forms.Form):
    reason = forms.CharField(label=_("Why the product may go back unpaid"), max_length=300)


class CardPartForm(forms.Form):
    part = PartChoiceField(label=_("Part"), queryset=active_parts())
    quantity = bounded_integer(RepairQuoteLine, "quantity", label=_("Quantity"), min_value=1, max_value=9999, initial=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["part"].queryset = active_parts()
