"""Forms for the clerk's and supervisor's stock work: receive, issue, take back, count; the report filters."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.forms import MonthField

from .models import StockMovement
from .selectors import active_parts, technicians_of_unit
from .services import MAX_QUANTITY, MAX_REASON

# The kinds of movement a person enters on the stock page (use happens on vouchers and repair cards).
MOVEMENT_KINDS = {
    "receive": _("Receive parts into the store"),
    "issue": _("Issue parts to a technician"),
    "return": _("Take parts back from a technician"),
    "count": _("Record a stock count"),
}


class TechnicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class MovementForm(forms.Form):
    part = forms.ModelChoiceField(label=_("Part"), queryset=active_parts())
    technician = TechnicianChoiceField(label=_("Technician"), queryset=None, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)
    reason = forms.CharField(label=_("Note"), max_length=MAX_REASON, required=False)

    def __init__(self, *args, kind: str, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["part"].queryset = active_parts()
        self.fields["technician"].queryset = technicians_of_unit(unit_id=unit.pk)
        if kind == "receive":
            del self.fields["technician"]
        elif kind in ("issue", "return"):
            self.fields["technician"].required = True
        else:  # count: the store, or a technician's van
            self.fields["technician"].label = _("Van counted (empty: the store)")
            self.fields["quantity"] = forms.IntegerField(label=_("Quantity found"), min_value=0, max_value=MAX_QUANTITY)
            self.fields["reason"].required = True
            self.fields["reason"].label = _("Reason")


def this_month():
    return timezone.localdate().replace(day=1)


class ReportFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, required=False)
    month = MonthField(label=_("Month"), required=False)

    def __init__(self, *args, units, choose_unit: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        if not choose_unit:
            del self.fields["unit"]

    def clean_month(self):
        # MonthField keeps the month within the bounds (servicedesk.bounds); empty is this month.
        return self.cleaned_data.get("month") or this_month()


KIND_LABELS = dict(StockMovement.Kind.choices)
