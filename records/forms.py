from django import forms
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from repairs.forms import BoardFilterForm, _options_when_drawn
from repairs.models import RepairCall, Zone
from repairs.selectors import technicians_visible
from servicedesk.forms import DateField, PlainSelect
from servicedesk.models import OrgUnit, name_in_language, person_name

from .models import SavedView

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CallFilterForm(forms.Form):
    """The call history's filters; every one combines with the others and with the search."""

    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, widget=PlainSelect)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *RepairCall.Status.choices],
        widget=PlainSelect,
    )
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=Zone.objects.all(), required=False, widget=PlainSelect)
    technician = forms.ModelChoiceField(label=_("Technician"), queryset=None, required=False, widget=PlainSelect)
    coverage = forms.ChoiceField(
        label=_("Cover"),
        required=False,
        choices=[("", _("Any cover")), *RepairCall.Coverage.choices],
        widget=PlainSelect,
    )
    date_from = DateField(label=_("Received from"), required=False, widget=DATE_INPUT)
    date_to = DateField(label=_("Received to"), required=False, widget=DATE_INPUT)
    attended = forms.ChoiceField(
        label=_("Attended"),
        required=False,
        choices=[
            ("", _("Any")),
            ("on_time", _("On time")),
            ("late", _("Late")),
            ("overdue", _("Not attended, past the deadline")),
        ],
        widget=PlainSelect,
    )
    logged_late = forms.BooleanField(label=_("Logged late"), required=False)
    carried_in = forms.BooleanField(label=_("Carried in"), required=False)
    has_complaint = forms.BooleanField(label=_("Has a complaint"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS)
        else:
            del self.fields["unit"]
        self.fields["technician"].queryset = technicians_visible(user=user, unit_id=self.data.get("unit"))
        # Options read as plain values and kept per process for a minute, like the board's (repairs.forms).
        labels = {
            "unit": lambda qs: qs.values_list("pk", name_in_language()),
            "zone": lambda qs: qs.values_list("pk", name_in_language()),
            "technician": lambda qs: (
                (pk, person_name(username=username, first_name=first, last_name=last))
                for pk, username, first, last in qs.values_list("pk", "username", "first_name", "last_name")
            ),
        }
        unit = str(self.data.get("unit", ""))
        scope = f"all:{unit if unit.isdigit() else ''}" if user.sees_all_units else str(user.unit_id)
        for name, options in labels.items():
            if name in self.fields:
                field = self.fields[name]
                # Units and zones are named in the reader's language: the options are kept per language.
                language = translation.get_language()
                key = f"records-options:{name}:{language}" + (f":{scope}" if name == "technician" else "")
                field.widget.choices = _options_when_drawn(field, options, key=key)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm"
            else:
                field.widget.attrs["class"] = "form-control form-control-sm"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data


def filter_form_for(page: str, data, *, user) -> forms.Form:
    """The page's own filter form: a saved view is checked by the form that will apply it."""
    if page == SavedView.Page.BOARD:
        return BoardFilterForm(data, user=user, technicians=technicians_visible(user=user, unit_id=data.get("unit")))
    return CallFilterForm(data, user=user)


def clean_querystring(page: str, raw: str, *, user) -> str:
    """The filters of ``raw`` the page knows, validated by its form; raises ValidationError when one is wrong."""
    data = QueryDict(raw or "", mutable=True)
    form = filter_form_for(page, data, user=user)
    kept = QueryDict(mutable=True)
    for name in form.fields:
        values = [v for v in data.getlist(name) if v != ""]
        if values:
            kept.setlist(name, values[:1])
    form = filter_form_for(page, kept, user=user)
    if not form.is_valid():
        raise forms.ValidationError(_("These filters are not valid: %(errors)s"), params={"errors": _errors(form)})
    return kept.urlencode()


def _errors(form) -> str:
    return "; ".join(
        f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items() if name in form.fields
    )


class SavedViewForm(forms.Form):
    page = forms.ChoiceField(choices=SavedView.Page.choices, widget=forms.HiddenInput)
    querystring = forms.CharField(
        max_length=SavedView._meta.get_field("querystring").max_length, required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("Name"), max_length=SavedView._meta.get_field("name").max_length)
    shared = forms.BooleanField(label=_("Share with my unit"), required=False)
