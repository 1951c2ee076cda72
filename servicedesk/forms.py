"""Form fields shared by every app."""

from django import forms
from django.core.exceptions import ValidationError


class DecimalField(forms.DecimalField):
    """Django's DecimalField, refusing NaN and infinity already when parsing.

    Django refuses them only in ``validate()``; before that a formset's ``has_changed()``
    compares the parsed value, and a signalling NaN ("sNaN") raises InvalidOperation
    there: a 500 instead of a form error (found by tests/security/test_fuzz_forms.py).
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not value.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value
