from django import forms
from django.utils.translation import gettext_lazy as _

from servicedesk import bounds

from .services import MAX_LIFETIME_DAYS


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("What the token is for"), max_length=100)
    lifetime_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=MAX_LIFETIME_DAYS, initial=90
    )


class ApiTokenRevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1, max_value=bounds.INTEGER_MAX, widget=forms.HiddenInput)


class ApiPageForm(forms.Form):
    """The keyset position of a list of records: the id of the last row of the previous page."""

    after = forms.IntegerField(min_value=0, max_value=bounds.INTEGER_MAX, required=False)
