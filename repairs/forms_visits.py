"""Forms for visits: "arrived" on the phone, an arrival typed by the desk, a visit that cannot finish,
the next visit planned, and the reason a customer could not sign."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from servicedesk.forms import DateTimeField, bounded_decimal, bounded_integer

from .forms import DATETIME_INPUT, VersionedActionForm, technician_options_when_drawn
from .models import RepairCall, Visit


class ArrivalForm(VersionedActionForm):
    """One tap: the time is the server's. The phone's position is filled in by static/js/arrival.js when given."""

    latitude = bounded_decimal(
        Visit, "latitude", min_value=Decimal("-90"), max_value=Decimal("90"), required=False, widget=forms.HiddenInput
    )
    longitude = bounded_decimal(
        Visit,
        "longitude",
        min_value=Decimal("-180"),
        max_value=Decimal("180"),
        required=False,
        widget=forms.HiddenInput,
    )
    accuracy = bounded_integer(
        Visit, "location_accuracy_m", min_value=0, max_value=1_000_000, required=False, widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        # The browser gives both or neither; half a position is dropped rather than stored.
        if data.get("latitude") is None or data.get("longitude") is None:
            data["latitude"] = data["longitude"] = data["accuracy"] = None
        return data


class EnterArrivalForm(VersionedActionForm):
    arrived_at = DateTimeField(label=_("Arrived on site at"), widget=DATETIME_INPUT)
    reason = forms.CharField(
        label=_("Why the arrival is entered by hand"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class LeaveUnfinishedForm(VersionedActionForm):
    to_status = forms.ChoiceField(
        label=_("The work could not be finished"),
        choices=[
            (RepairCall.Status.WAITING_PARTS.value, RepairCall.Status.WAITING_PARTS.label),
            (RepairCall.Status.REVISIT.value, _("A second visit is needed")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("What is left to do"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    appointment_at = DateTimeField(label=_("Next visit (appointment)"), widget=DATETIME_INPUT)


class PlanVisitForm(VersionedActionForm):
    appointment_at = DateTimeField(label=_("Next visit (appointment)"), widget=DATETIME_INPUT)
    technician = forms.ModelChoiceField(label=_("Technician"), queryset=None)
    reason = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, technicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = technicians
        if not self.is_bound:
            technician_options_when_drawn(self.fields["technician"])


class NoSignatureForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why the customer could not sign"), choices=Visit.NoSignature.choices)
    witness_name = forms.CharField(
        label=_("Witness (name)"), max_length=Visit._meta.get_field("witness_name").max_length, required=False
    )
    photo = forms.FileField(label=_("Photo of the work"), required=False)
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if not (data.get("witness_name") or "").strip() and not data.get("photo"):
            self.add_error("witness_name", _("Add a photo of the work or the name of a witness."))
        return data
