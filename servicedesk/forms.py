"""Form fields shared by every app, and the one mechanism that bounds them (issue 12).

Every field that fills a column takes its limits from the column (``servicedesk/bounds.py``):

- ``bounded_decimal(Model, "field", ...)``: a DecimalField with the model field's digits and scale and the
  largest magnitude the column holds; further keyword arguments may only narrow it.
- ``bounded_integer(Model, "field", ...)``: an IntegerField within the column's integer range.
- ``DateField`` / ``DateTimeField`` / ``MonthField``: every date lies in DATE_MIN..DATE_MAX, checked on the
  value as typed (local wall-clock time), before it is made aware or converted.
- ``bound_formfield(db_field, formfield)``: the same for a ModelForm's generated fields; ``BoundedModelForm``
  and the admin (``bound_admin_forms``, from ``ServicedeskConfig.ready``) use it.

tests/servicedesk/test_bounds.py walks every form class of the project and fails on a field left unbounded.
"""

import html
from decimal import Decimal

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe

from . import bounds


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


def bad_request_from(form) -> BadRequest:
    """A 400 (templates/400.html shows its message) for a filter form the query string filled wrongly."""
    messages = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        messages += [f"{label}: {error}" if label else str(error) for error in errors]
    return BadRequest("\n".join(messages))


def _narrowed(limits: dict, narrower: dict) -> dict:
    """The column's limits, with any stricter min_value/max_value the caller gives (never a wider one)."""
    merged = {**narrower, **{k: v for k, v in limits.items() if k not in ("max_value", "min_value")}}
    top, bottom = narrower.get("max_value"), narrower.get("min_value")
    if "max_value" in limits:
        merged["max_value"] = limits["max_value"] if top is None else min(Decimal(top), limits["max_value"])
    if "min_value" in limits:
        merged["min_value"] = limits["min_value"] if bottom is None else max(Decimal(bottom), limits["min_value"])
    return merged


def bounded_decimal(model, field_name: str, **kwargs) -> DecimalField:
    """A form field that fills ``model.field_name``: it accepts only what the column stores."""
    column = model._meta.get_field(field_name)
    field = DecimalField(**_narrowed(bounds.decimal_limits(column), kwargs))
    field.column = column
    return field


def integer_limits(model_field) -> dict:
    low, high = BaseDatabaseOperations.integer_field_ranges[model_field.get_internal_type()]
    return {"min_value": low, "max_value": high}


def bounded_integer(model, field_name: str, **kwargs) -> forms.IntegerField:
    """An IntegerField that fills ``model.field_name``, within the column's integer range."""
    column = model._meta.get_field(field_name)
    limits = integer_limits(column)
    top, bottom = kwargs.pop("max_value", None), kwargs.pop("min_value", None)
    field = forms.IntegerField(
        max_value=limits["max_value"] if top is None else min(top, limits["max_value"]),
        min_value=limits["min_value"] if bottom is None else max(bottom, limits["min_value"]),
        **kwargs,
    )
    field.column = column
    return field


class VersionField(forms.IntegerField):
    """The hidden version a page was drawn at (optimistic locking), within a PositiveIntegerField's range."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", bounds.INTEGER_MAX)
        super().__init__(**kwargs)


class DateField(forms.DateField):
    """A date within DATE_MIN..DATE_MAX."""

    default_validators = [bounds.date_in_range]

    def to_python(self, value):
        value = super().to_python(value)
        bounds.date_in_range(value)
        return value


class DateTimeField(forms.DateTimeField):
    """A date and time whose date (as typed, before any conversion to UTC) lies in DATE_MIN..DATE_MAX.

    Django makes the typed value aware in the current time zone without moving it, so its ``date()`` is the
    wall-clock date typed; it is checked here, before the value reaches a column (0001-01-01 00:00 in
    Asia/Shanghai would be stored as a BC timestamp and break every page that reads it).
    """

    default_validators = [bounds.date_in_range]

    def to_python(self, value):
        value = super().to_python(value)
        bounds.date_in_range(value)
        return value


class SplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date + time pair, bounded like DateTimeField."""

    default_validators = [bounds.date_in_range]

    def compress(self, data_list):
        value = super().compress(data_list)
        bounds.date_in_range(value)
        return value


class MonthField(forms.Field):
    """A month typed as YYYY-MM (``<input type="month">``), cleaned to its first day, within the bounds."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")

    def to_python(self, value):
        if value in self.empty_values or not str(value).strip():
            return None
        if hasattr(value, "year"):
            return value.replace(day=1)
        return bounds.parse_month_text(value)

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if hasattr(value, "strftime") else value


def bound_formfield(db_field, formfield):
    """Bound a field Django generated from ``db_field`` (ModelForm, admin), in place; returns it."""
    if formfield is None:
        return None
    if isinstance(db_field, models.DecimalField) and isinstance(formfield, forms.DecimalField):
        limits = bounds.decimal_limits(db_field)
        formfield.validators += [MaxValueValidator(limits["max_value"]), MinValueValidator(limits["min_value"])]
        formfield.column = db_field
    elif isinstance(db_field, models.DateField) and isinstance(
        formfield, (forms.DateField, forms.DateTimeField, forms.SplitDateTimeField)
    ):
        if bounds.date_in_range not in formfield.validators:
            formfield.validators.append(bounds.date_in_range)
    elif isinstance(db_field, models.IntegerField) and isinstance(formfield, forms.IntegerField):
        limits = integer_limits(db_field)
        formfield.validators += [MaxValueValidator(limits["max_value"]), MinValueValidator(limits["min_value"])]
        formfield.column = db_field
    return formfield


def bounded_formfield_callback(db_field, **kwargs):
    """``formfield_callback`` for a ModelForm: Django's field, bounded by the column."""
    return bound_formfield(db_field, db_field.formfield(**kwargs))


class BoundedModelForm(forms.ModelForm):
    """A ModelForm whose generated fields take their bounds from the columns they fill."""

    formfield_callback = bounded_formfield_callback


def bound_admin_forms() -> None:
    """Every admin form field generated from a date or datetime column is bounded (called once, in ready()).

    The admin builds its fields from ``FORMFIELD_FOR_DBFIELD_DEFAULTS``; giving the date and datetime entries
    the bounded form classes covers every ModelAdmin and inline, present and future, in one place. Decimal
    columns need nothing here: Django's generated DecimalField already has the column's digits and scale.
    """
    from django.contrib.admin import options

    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateField]["form_class"] = DateField
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateTimeField]["form_class"] = SplitDateTimeField


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
