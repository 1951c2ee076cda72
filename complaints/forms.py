import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk import bounds
from servicedesk.forms import MonthField
from servicedesk.models import OrgUnit

from .models import CustomerOpinion
from .services import SurveyAnswer

RATING_HELP = _("1 = very poor … 5 = very good")


def _rating_number(label):
    # Keyboard entry of a paper card: a digit per box, Tab to the next.
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=5,
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 5, "inputmode": "numeric", "class": "rating-input"}),
    )


class SurveyAnswerFields(forms.Form):
    """The card's questions (clause 二十五), shared by the paper entry and the customer's own form."""

    opinion_kind = forms.ChoiceField(
        label=_("This is a"),
        choices=CustomerOpinion.Kind.choices,
        initial=CustomerOpinion.Kind.SUGGESTION,
        required=False,
    )
    opinion_text = forms.CharField(
        label=_("Suggestions or complaints"),
        max_length=2000,
        required=False,
    )

    def clean(self):
        data = super().clean()
        ratings = [data.get(name) for name in ("attitude", "technique", "arrival", "follow_through")]
        if not self.errors and all(r is None for r in ratings) and not (data.get("opinion_text") or "").strip():
            raise forms.ValidationError(_("The card has no answer: give at least one rating or a comment."))
        return data

    def answer(self) -> SurveyAnswer:
        data = self.cleaned_data
        return SurveyAnswer(
            attitude=data.get("attitude"),
            technique=data.get("technique"),
            arrival=data.get("arrival"),
            follow_through=data.get("follow_through"),
            opinion_kind=data.get("opinion_kind") or CustomerOpinion.Kind.SUGGESTION,
            opinion_text=data.get("opinion_text") or "",
        )


class PaperCardEntryForm(SurveyAnswerFields):
    """Fast entry of returned cards: number, four digits, optional comment, Enter."""

    card_number = forms.IntegerField(
        label=_("Card number"),
        min_value=1,
        max_value=bounds.INTEGER_MAX,
        widget=forms.NumberInput(attrs={"autofocus": True, "inputmode": "numeric", "autocomplete": "off"}),
    )
    attitude = _rating_number(_("Attitude"))
    technique = _rating_number(_("Technique"))
    arrival = _rating_number(_("Arrival time"))
    follow_through = _rating_number(_("Follow-through on promises"))

    field_order = [
        "card_number",
        "attitude",
        "technique",
        "arrival",
        "follow_through",
        "opinion_kind",
        "opinion_text",
    ]


RATING_CHOICES = [(i, str(i)) for i in range(1, 6)]


def _rating_choice(label):
    return forms.TypedChoiceField(
        label=label,
        choices=RATING_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
    )


class OnlineAnswerForm(SurveyAnswerFields):
    """The customer's own form on a phone: big 1–5 buttons per question."""

    attitude = _rating_choice(_("Attitude of the technician"))
    technique = _rating_choice(_("Technique"))
    arrival = _rating_choice(_("Arrival time"))
    follow_through = _rating_choice(_("Follow-through on what was promised"))

    field_order = ["attitude", "technique", "arrival", "follow_through", "opinion_kind", "opinion_text"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opinion_text"].widget = forms.Textarea(attrs={"rows": 4, "maxlength": 2000})
        self.fields["opinion_kind"].widget = forms.RadioSelect(attrs={"class": "form-check-input"})
        self.fields["opinion_kind"].widget.choices = self.fields["opinion_kind"].choices


class OpinionFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All")), *list(CustomerOpinion.Kind.choices)], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *list(CustomerOpinion.Status.choices)], required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("All")), *list(CustomerOpinion.Source.choices)], required=False
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units


class AppraisalFilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    month = MonthField(label=_("Month"), required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units

    def clean_month(self):
        month = self.cleaned_data.get("month")
        if month and not (dt.date(2000, 1, 1) <= month <= dt.date(2100, 12, 1)):
            raise forms.ValidationError(_("Choose a month between 2000 and 2100."))
        return month or timezone.localdate().replace(day=1)
