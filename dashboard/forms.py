import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repairs.models import Zone
from servicedesk.forms import MonthField
from servicedesk.models import OrgUnit

from .selectors import add_months

MAX_MONTHS = 24


def _month_field(label):
    return MonthField(label=label, required=False)


class DashboardFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=Zone.objects.all(), required=False)
    first = _month_field(_("From month"))
    last = _month_field(_("To month"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS).order_by("name")
        else:
            del self.fields["unit"]

    def clean(self):
        """Empty filters mean every unit and zone over the last twelve months."""
        data = super().clean()
        this_month = timezone.localdate().replace(day=1)
        last = data.get("last") or this_month
        first = data.get("first") or add_months(last, -11)
        for month in (first, last):
            if not (dt.date(2000, 1, 1) <= month <= dt.date(2100, 12, 1)):
                raise forms.ValidationError(_("Choose months between 2000 and 2100."))
        if first > last:
            raise forms.ValidationError(_("The first month comes after the last."))
        if add_months(first, MAX_MONTHS - 1) < last:
            raise forms.ValidationError(_("Choose at most 24 months."))
        data["first"], data["last"] = first, last
        return data
