"""Validation and presentation only: the services decide."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.forms import DecimalField
from servicedesk.models import OrgUnit

from .models import PenaltyKind, PenaltyRuling

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0")}


class VersionForm(forms.Form):
    """Every action on a ruling names the version the user saw (a stale page is refused)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RulingFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=50, required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *PenaltyRuling.Status.choices]
    )


class ShareForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=get_user_model().objects.none(), required=False)
    department = forms.ModelChoiceField(label=_("Department"), queryset=OrgUnit.objects.none(), required=False)
    share_percent = DecimalField(
        label=_("Share (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        required=False,
    )
    personal_negligence = forms.BooleanField(label=_("Personal negligence (bears the whole loss)"), required=False)
    unattributable_reason = forms.CharField(label=_("Why no person can be named"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = (
            get_user_model().objects.filter(is_active=True).select_related("unit").order_by("unit__name", "username")
        )
        self.fields["department"].queryset = OrgUnit.objects.filter(is_active=True).order_by("name")

    def clean(self):
        data = super().clean()
        person, department, share = data.get("person"), data.get("department"), data.get("share_percent")
        if person is None and department is None and share is None:
            data["empty"] = True
            return data
        if (person is None) == (department is None):
            raise forms.ValidationError(_("Choose a person or a department (one of them)."))
        if share is None:
            self.add_error("share_percent", _("Enter the share."))
        return data


class BaseShareFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.filled():
            raise forms.ValidationError(_("Name at least one responsible person or department."))

    def filled(self) -> list[dict]:
        return [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("empty")]


ShareFormSet = forms.formset_factory(ShareForm, formset=BaseShareFormSet, extra=2, max_num=20, validate_max=True)


class AdjustForm(VersionForm):
    penalty_kind = forms.ModelChoiceField(label=_("Penalty kind"), queryset=PenaltyKind.objects.none())
    base_units = DecimalField(label=_("Base units"), max_digits=6, decimal_places=2, min_value=Decimal("0"))
    amount_per_unit = DecimalField(label=_("Deduction per base unit (yuan)"), **MONEY)
    reason = forms.CharField(label=_("Reason (the person and the severity)"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["penalty_kind"].queryset = PenaltyKind.objects.filter(is_active=True)


class ReasonForm(VersionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class CorrectForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Correction"),
        choices=[
            (PenaltyRuling.Kind.REVERSAL, _("Reverse it (no penalty stands)")),
            (PenaltyRuling.Kind.AMENDMENT, _("Amend it (reverse and state new shares and penalties)")),
        ],
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ProceedsForm(forms.Form):
    amount = DecimalField(label=_("Proceeds (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    sold_on = forms.DateField(label=_("Sold on"), widget=DATE_INPUT)
    note = forms.CharField(label=_("Buyer, invoice"), max_length=200, required=False)


class LedgerForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    party = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("person", _("Person")), ("department", _("Department"))],
    )

    def clean_month(self) -> dt.date:
        value = self.cleaned_data.get("month")
        if not value:
            return timezone.localdate().replace(day=1)
        try:
            return dt.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None

    def clean_party(self) -> str:
        return self.cleaned_data.get("party") or "person"
