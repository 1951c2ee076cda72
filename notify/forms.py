from django import forms
from django.utils.translation import gettext_lazy as _

from servicedesk.bounds import INTEGER_MAX
from servicedesk.forms import bounded_integer
from servicedesk.models import Notification

from .models import PostalItem


class MarkReadForm(forms.Form):
    """One notice (by its id), or all of the user's unread ones when no id is given."""

    notification = bounded_integer(Notification, "id", required=False, min_value=1, max_value=INTEGER_MAX)


class PostedForm(forms.Form):
    letters = forms.TypedMultipleChoiceField(label=_("letters"), coerce=int, choices=())

    def __init__(self, *args, items: list[PostalItem], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["letters"].choices = [(item.pk, str(item.pk)) for item in items]
