import datetime as dt

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repairs.models import Customer, Site
from servicedesk.forms import DateField, VersionField, bounded_decimal
from servicedesk.models import OrgUnit
from servicedesk.scoping import scope_to_user

from .models import ContractTerm, ContractType, RenewalFollowUp, VisitFrequency
from .selectors import ListState
from .services.contracts import split_serial_numbers, staff_of_unit
from .services.imports import MAX_IMPORT_BYTES
from .windows import default_term_end

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _units_for(user):
    return OrgUnit.objects.filter(is_active=True).exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS)


class ContractFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Customer, contract or serial number")}),
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            (ListState.ALL, _("All")),
            (ListState.ACTIVE, _("Active")),
            (ListState.EXPIRING, _("Expiring (notice window)")),
            (ListState.EXPIRED, _("Expired")),
            (ListState.RENEWED, _("Renewed")),
        ],
    )
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = _units_for(user)
        else:
            del self.fields["unit"]


class TermFieldsMixin(forms.Form):
    start_on = DateField(label=_("Starts"), widget=DATE_INPUT)
    end_on = DateField(label=_("Ends (last day covered)"), widget=DATE_INPUT)
    fee = bounded_decimal(ContractTerm, "fee", label=_("Fee (yuan)"), min_value=0)
    visit_frequency = forms.ChoiceField(
        label=_("Visit frequency"), choices=VisitFrequency.choices, initial=VisitFrequency.QUARTERLY
    )

    def clean(self):
        data = super().clean()
        start_on, end_on = data.get("start_on"), data.get("end_on")
        if start_on and end_on and end_on < start_on:
            self.add_error("end_on", _("The term cannot end before it starts."))
        return data


class ContractForm(TermFieldsMixin):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    contract_type = forms.ModelChoiceField(
        label=_("Contract type"), queryset=ContractType.objects.filter(is_active=True)
    )
    number = forms.CharField(
        label=_("Contract number"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to number it automatically."),
    )
    serial_numbers = forms.CharField(
        label=_("Covered products (serial numbers)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, or separated by commas."),
    )
    sites = forms.ModelMultipleChoiceField(
        label=_("Covered sites (every product there)"), queryset=Site.objects.none(), required=False
    )
    handled_by = forms.ModelChoiceField(label=_("Handled by"), queryset=None, required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = [
        "unit",
        "customer",
        "contract_type",
        "number",
        "start_on",
        "end_on",
        "fee",
        "visit_frequency",
        "serial_numbers",
        "sites",
        "handled_by",
        "note",
    ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        customers = scope_to_user(Customer.objects.all(), user=user).order_by("name")
        self.fields["customer"].queryset = customers
        self.fields["sites"].queryset = Site.objects.filter(customer__in=customers).select_related("customer")
        self.fields["sites"].label_from_instance = lambda site: f"{site.customer.name} · {site.address}"
        if user.sees_all_units:
            self.fields["unit"].queryset = _units_for(user)
            self.fields["unit"].required = True
            self.fields["handled_by"].queryset = staff_of_unit(unit_id=None)
        else:
            del self.fields["unit"]
            staff = staff_of_unit(unit_id=user.unit_id) if user.unit_id else staff_of_unit(unit_id=None).none()
            self.fields["handled_by"].queryset = staff
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("start_on", today)
            self.initial.setdefault("end_on", default_term_end(start_on=today))
            default_type = ContractType.objects.filter(is_active=True).order_by("pk").first()
            if default_type:
                self.initial.setdefault("contract_type", default_type.pk)

    def clean(self):
        data = super().clean()
        data["serial_list"] = split_serial_numbers(data.get("serial_numbers", ""))
        if not data["serial_list"] and not data.get("sites") and "serial_numbers" not in self.errors:
            self.add_error("serial_numbers", _("Enter the serial numbers covered, or choose covered sites."))
        if any(len(serial) > 64 for serial in data["serial_list"]):
            self.add_error("serial_numbers", _("A serial number is longer than 64 characters."))
        return data


class VersionedForm(forms.Form):
    """Carries the version the user saw, to catch a concurrent change."""

    version = VersionField()


class RenewForm(VersionedForm, TermFieldsMixin):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    field_order = ["start_on", "end_on", "fee", "visit_frequency", "note", "version"]

    @classmethod
    def for_term(cls, term: ContractTerm, data=None):
        """Pre-filled with a term as long as the current one, starting the day after it ends."""
        start_on = term.end_on + dt.timedelta(days=1)
        length = relativedelta(term.end_on + dt.timedelta(days=1), term.start_on)
        months = length.years * 12 + length.months or 12
        return cls(
            data,
            initial={
                "version": term.version,
                "start_on": start_on,
                "end_on": default_term_end(start_on=start_on, months=months),
                "fee": term.fee,
                "visit_frequency": term.visit_frequency,
            },
        )


class FollowUpOutcomeForm(VersionedForm):
    outcome = forms.ChoiceField(
        label=_("Customer's answer"),
        choices=[(s.value, s.label) for s in RenewalFollowUp.OUTCOMES],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpAssignForm(VersionedForm):
    assigned_to = forms.ModelChoiceField(label=_("Who follows up"), queryset=None, required=False)
    due_on = DateField(label=_("Answer due by"), widget=DATE_INPUT)

    def __init__(self, *args, unit_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = staff_of_unit(unit_id=unit_id)


class FollowUpFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    mine = forms.BooleanField(label=_("Mine only"), required=False)
    due = forms.BooleanField(label=_("Due now"), required=False)
    closed = forms.BooleanField(label=_("Closed"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = _units_for(user)
        else:
            del self.fields["unit"]


class ContractImportForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    file = forms.FileField(
        label=_("File (CSV or Excel .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    import_valid_rows = forms.BooleanField(
        label=_("Import the valid rows even if some rows have errors"),
        required=False,
        help_text=_("Otherwise nothing is imported from a file with errors."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = _units_for(user)
            self.fields["unit"].required = True
        else:
            del self.fields["unit"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB; split it into smaller files.")
                % {"size": MAX_IMPORT_BYTES // (1024 * 1024)}
            )
        return upload
