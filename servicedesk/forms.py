"""Form fields shared by every app."""

import html

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe


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


class PlainSelect(forms.Select):
    """A single <select> written out in Python, for a filter bar drawn on every refresh.

    Django renders each option through its own template include; on the dispatch board
    (every dispatcher, every 30 s) that cost more than the board's query. Flat choices only.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{html.escape(str(v))}"{" selected" if str(v) in selected else ""}>'
            f"{html.escape(str(label))}</option>"
            for v, label in self.choices
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(f'<select name="{html.escape(name)}"{attributes}>{options}</select>')  # noqa: S308 - escaped
