"""Forms for complaints and complaint cases: validation and presentation; the services decide."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from repairs.models import Customer, RepairCall
from servicedesk.forms import DateField, DateTimeField, bounded_decimal
from servicedesk.models import OrgUnit

from .models import CaseCost, CauseCategory, ComplaintCase, CustomerOpinion, OpinionFollowUp, ReturnAllowance
from .services import StageInput
from .stages import action_owners

S = ComplaintCase.Status
TEXTAREA = forms.Textarea(attrs={"rows": 3})
LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _text(label, *, required=True, max_length=4000):
    return forms.CharField(label=label, required=required, max_length=max_length, widget=TEXTAREA)


class RepairCallNumberField(forms.CharField):
    """The repair call by its number (from the voucher or the call list), resolved within the user's units.

    The form sets ``calls`` to the user's scoped calls (unsliced): any of them can be named, however old,
    and nothing outside them; the page does not carry a list of every call.
    """

    def __init__(self, **kwargs):
        self.calls = RepairCall.objects.none()
        kwargs.setdefault("max_length", RepairCall._meta.get_field("number").max_length)
        kwargs.setdefault("help_text", _("The call number, as on the service voucher (for example RC-…)."))
        super().__init__(**kwargs)

    def clean(self, value):
        number = super().clean(value).strip()
        if not number:
            return None
        # Exact matches keep to the unique index; numbers are printed in capitals.
        call = self.calls.filter(number__in={number, number.upper()}).first()
        if call is None:
            raise forms.ValidationError(_("No repair call with this number in your units."), code="invalid_choice")
        return call


class OpinionRecordForm(forms.Form):
    """A suggestion or complaint received by phone, letter or visit."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    call = RepairCallNumberField(label=_("Repair call number (if known)"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerOpinion.Kind.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=CustomerOpinion.Severity.choices)
    source = forms.ChoiceField(
        label=_("Received by"),
        choices=[c for c in CustomerOpinion.Source.choices if c[0] != CustomerOpinion.Source.SURVEY_CARD],
    )
    received_at = DateTimeField(label=_("Received"), widget=LOCAL_DATETIME, initial=timezone.localtime)
    text = _text(_("In the customer's words"))

    def __init__(self, *args, units, customers, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["customer"].queryset = customers
        self.fields["call"].calls = calls
        if units.count() == 1:
            self.fields["unit"].initial = units.first()

    def clean_received_at(self):
        received_at = self.cleaned_data["received_at"]
        if received_at > timezone.now() + timezone.timedelta(minutes=5):
            raise forms.ValidationError(_("It cannot be received in the future."))
        return received_at


class OpinionClassifyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerOpinion.Kind.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=CustomerOpinion.Severity.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        help_text=_("Required when the deputy general manager downgrades: the reason is kept in the history."),
    )


class OpinionForwardForm(forms.Form):
    to_unit = forms.ModelChoiceField(label=_("Forward to"), queryset=OrgUnit.objects.filter(is_active=True))
    note = _text(_("What the department is asked to do"), max_length=2000)


class OpinionResolveForm(forms.Form):
    outcome = _text(_("How it was handled (this goes into the letter to the customer)"))


class OpinionCloseForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class FollowUpForm(forms.Form):
    followed_up_at = DateTimeField(label=_("When"), widget=LOCAL_DATETIME, initial=timezone.localtime)
    method = forms.ChoiceField(label=_("How"), choices=OpinionFollowUp.Method.choices)
    summary = _text(_("What was said"))


class CaseOpenForm(forms.Form):
    """The customer complaint handling form's first part (客户抱怨处理表)."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    call = RepairCallNumberField(label=_("Repair call number (if known)"), required=False)
    kind = forms.ChoiceField(label=_("Complaint about"), choices=ComplaintCase.Kind.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=CustomerOpinion.Severity.choices)
    source = forms.ChoiceField(
        label=_("Received by"),
        choices=[c for c in CustomerOpinion.Source.choices if c[0] != CustomerOpinion.Source.SURVEY_CARD],
    )
    received_at = DateTimeField(label=_("Received"), widget=LOCAL_DATETIME, initial=timezone.localtime)
    product_description = forms.CharField(
        label=_("Product (model, serial number, batch)"), max_length=200, required=False
    )
    description = _text(_("The complaint"))
    customer_request = _text(_("What the customer asks for"), required=False, max_length=2000)
    claimed_amount = bounded_decimal(
        ComplaintCase, "claimed_amount", label=_("Claimed amount (yuan)"), min_value=0, initial=0
    )

    def __init__(self, *args, units, customers, calls, opinion=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["customer"].queryset = customers
        self.fields["call"].calls = calls
        if units.count() == 1:
            self.fields["unit"].initial = units.first()
        if opinion is not None:
            # The complaint already says who, when and how: only the case's own facts are asked.
            for name in ("unit", "customer", "call", "severity", "source", "received_at"):
                del self.fields[name]
            self.fields["description"].initial = opinion.text


class StageForm(forms.Form):
    """The fields the current stage's owner fills in; built per stage from ``STAGE_FIELDS``."""

    investigation_findings = _text(_("Investigation findings"))
    cause_category = forms.ModelChoiceField(label=_("Cause category"), queryset=CauseCategory.objects.none())
    responsible_unit = forms.ModelChoiceField(label=_("Responsible department"), queryset=OrgUnit.objects.none())
    responsible_person = forms.ModelChoiceField(
        label=_("Responsible person (personal negligence)"), queryset=get_user_model().objects.none(), required=False
    )
    cause_analysis = _text(_("Cause of the abnormality"))
    countermeasures = _text(_("Countermeasures"))
    manager_instructions = _text(_("Manager's instructions"))
    comprehensive_opinion = _text(_("Comprehensive opinion (sales and factory)"))
    claimed_amount = bounded_decimal(ComplaintCase, "claimed_amount", label=_("Claimed amount (yuan)"), min_value=0)
    customer_result = _text(_("Explanation to the customer and the result"))
    note = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    STAGE_FIELDS = {
        (S.RECEIVED, S.INVESTIGATION): ("note",),
        (S.INVESTIGATION, S.CAUSE_ANALYSIS): (
            "investigation_findings",
            "cause_category",
            "responsible_unit",
            "responsible_person",
            "note",
        ),
        (S.CAUSE_ANALYSIS, S.INSTRUCTIONS): ("cause_analysis", "countermeasures", "note"),
        (S.INSTRUCTIONS, S.OPINION): ("manager_instructions", "note"),
        (S.OPINION, S.APPROVAL): ("comprehensive_opinion", "claimed_amount", "note"),
        (S.APPROVAL, S.EXPLANATION): ("note",),
        (S.APPROVAL, S.OPINION): ("note",),
        (S.EXPLANATION, S.CLOSED): ("customer_result", "note"),
        (S.CLOSED, S.AUDITED): ("note",),
    }

    def __init__(self, *args, case, to_status, **kwargs):
        super().__init__(*args, **kwargs)
        wanted = self.STAGE_FIELDS[(case.status, to_status)]
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        if "cause_category" in self.fields:
            self.fields["cause_category"].queryset = CauseCategory.objects.filter(is_active=True)
            self.fields["responsible_unit"].queryset = OrgUnit.objects.filter(is_active=True)
            self.fields["responsible_person"].queryset = (
                get_user_model().objects.filter(is_active=True, unit__isnull=False).select_related("unit")
            )
            self.fields["responsible_person"].label_from_instance = lambda u: f"{u} ({u.unit})"
        if "claimed_amount" in self.fields:
            self.fields["claimed_amount"].initial = case.claimed_amount
        if (case.status, to_status) == (S.APPROVAL, S.OPINION):
            self.fields["note"].required = True
            self.fields["note"].label = _("Why it goes back")

    def stage_input(self) -> StageInput:
        return StageInput(**{name: value for name, value in self.cleaned_data.items()})


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Photo or scan (JPEG, PNG, PDF)"))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class ReturnForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ReturnAllowance.Kind.choices)
    invoice_number = forms.CharField(label=_("Original invoice"), max_length=64)
    return_slip_number = forms.CharField(label=_("Return slip"), max_length=64, required=False)
    item = forms.CharField(label=_("Item"), max_length=200)
    slip_quantity = bounded_decimal(ReturnAllowance, "slip_quantity", label=_("Quantity on the slip"), min_value=0)
    unit_price = bounded_decimal(ReturnAllowance, "unit_price", label=_("Unit price (yuan)"), min_value=0)
    slip_amount = bounded_decimal(ReturnAllowance, "slip_amount", label=_("Amount on the slip (yuan)"), min_value=0)
    receivable_affected = forms.BooleanField(label=_("The salesperson's receivable is affected"), required=False)
    salesperson = forms.ModelChoiceField(
        label=_("Salesperson"), queryset=get_user_model().objects.none(), required=False
    )

    def __init__(self, *args, case, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = get_user_model().objects.filter(is_active=True, unit_id=case.unit_id)
        if people is not None and not self.is_bound:
            # The case page reads the active people of the case's unit and its departments once for both pickers
            # (``action_owners``); a form sent back validates against the live queryset.
            field = self.fields["salesperson"]
            field.widget.choices = [("", field.empty_label)] + [
                (user.pk, field.label_from_instance(user))
                for user in sorted(people, key=lambda user: user.pk)
                if user.unit_id == case.unit_id and user.is_active
            ]


class ReturnCheckForm(forms.Form):
    returned_quantity = bounded_decimal(
        ReturnAllowance, "returned_quantity", label=_("Quantity actually returned"), min_value=0
    )
    accepted_quantity = bounded_decimal(ReturnAllowance, "accepted_quantity", label=_("Quantity accepted"), min_value=0)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ReturnResolveForm(forms.Form):
    slip_quantity = bounded_decimal(
        ReturnAllowance, "slip_quantity", label=_("Corrected quantity on the slip"), min_value=0
    )
    slip_amount = bounded_decimal(
        ReturnAllowance, "slip_amount", label=_("Corrected amount on the slip (yuan)"), min_value=0
    )
    note = forms.CharField(label=_("How it was resolved"), max_length=500)


class ReturnPostForm(forms.Form):
    voucher_number = forms.CharField(label=_("Accounting voucher"), max_length=64)


class CostForm(forms.Form):
    description = forms.CharField(label=_("What"), max_length=200)
    amount = bounded_decimal(CaseCost, "amount", label=_("Amount (yuan)"), min_value=0)


class ActionProposeForm(forms.Form):
    proposal = _text(_("Improvement proposal"))
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.none(),
        error_messages={
            "invalid_choice": _(
                "The owner must belong to the case's unit or to a head-office department the case involves."
            )
        },
    )
    due_on = DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, case, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The case's own unit and the head-office departments its stages involve, never another branch.
        field = self.fields["owner"]
        field.queryset = action_owners(case=case)
        field.label_from_instance = lambda u: f"{u} ({u.unit})"
        if people is not None and not self.is_bound:  # ``action_owners`` read once by the case page
            field.widget.choices = [("", field.empty_label)] + [(u.pk, field.label_from_instance(u)) for u in people]


class ActionExecuteForm(forms.Form):
    execution = _text(_("What was done"))


class ActionFollowUpForm(forms.Form):
    note = _text(_("Follow-up"), max_length=2000)


class ActionConfirmForm(forms.Form):
    effect = _text(_("Effect"))
    confirmed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Effect confirmed")), ("0", _("Not effective: back to work"))],
        coerce=lambda v: v == "1",
    )


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Number or customer"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Stage"), choices=[("", _("All")), *S.choices], required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units


class ReportFilterForm(forms.Form):
    since = DateField(label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = DateField(label=_("Received before"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
