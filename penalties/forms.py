"""Validation and presentation only: the services decide."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.forms import DateField, MonthField, VersionField, bounded_decimal
from servicedesk.models import OrgUnit

from .models import PenaltyKind, PenaltyLine, PenaltyRuling, ResaleProceeds

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VersionForm(forms.Form):
    """Every action on a ruling names the version the user saw (a stale page is refused)."""

    version = VersionField()


class RulingFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=50, required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *PenaltyRuling.Status.choices]
    )


class ShareForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=get_user_model().objects.none(), required=False)
    department = forms.ModelChoiceField(label=_("Department"), queryset=OrgUnit.objects.none(), required=False)
    share_percent = bounded_decimal(
        PenaltyLine,
        "share_percent",
        label=_("Share (%)"),
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
    base_units = bounded_decimal(PenaltyLine, "base_units", label=_("Base units"), min_value=Decimal("0"))
    amount_per_unit = bounded_decimal(
        PenaltyLine, "amount_per_unit", label=_("Deduction per base unit (yuan)"), min_value=Decimal("0")
    )
    reason = forms.CharField(label=_("Reason (the person and the severity)"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, kind_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["penalty_kind"].queryset = PenaltyKind.objects.filter(is_active=True)
        if kind_choices is not None and not self.is_bound:
            # A ruling's page draws one form per line: the kinds read once for all of them (``kind_choices``);
            # a form sent back still validates against the live queryset.
            self.fields["penalty_kind"].widget.choices = kind_choices

    @classmethod
    def kind_choices(cls) -> list:
        """The penalty-kind options as the field draws them, read once for every line's form."""
        field = cls.base_fields["penalty_kind"]
        return [("", field.empty_label)] + [
            (kind.pk, field.label_from_instance(kind)) for kind in PenaltyKind.objects.filter(is_active=True)
        ]


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
    amount = bounded_decimal(ResaleProceeds, "amount", label=_("Proceeds (yuan)"), min_value=Decimal("0.01"))
    sold_on = DateField(label=_("Sold on"), widget=DATE_INPUT)
    note = forms.CharField(label=_("Buyer, invoice"), max_length=200, required=False)


class LedgerForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)
    party = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("person", _("Person")), ("department", _("Department"))],
    )

    def clean_month(self) -> dt.date:
        return self.cleaned_data.get("month") or timezone.localdate().replace(day=1)

    def clean_party(self) -> str:
        return self.cleaned_data.get("party") or "person"
