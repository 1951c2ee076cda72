"""Form fields written out in Python, in the Bootstrap markup crispy-forms gives them (issue 17).

Rendering a field through ``|crispy`` or ``as_crispy_field`` runs a template per field and
another per widget; on the technician's pages (a voucher form with its part rows, the
repair card's action forms) that cost several times the page's queries. These functions
write the same label, input, help text and errors directly, every value escaped:

- ``field_html(bound_field)``: one field (text, number, date and time, text area, check box,
  hidden, a select with flat choices);
- ``form_html(form)``: its non-field errors, then every field in order.

``widget_type_class=True`` (``{{ form|form_html:"crispy" }}``) also gives each input the class crispy's field tag
adds, its widget's name in lower case ("select form-select", "textarea form-control", "datetimeinput
form-control"), for pages whose markup crispy wrote until now: the same markup, token for token
(tests/servicedesk/test_form_html_crispy.py).

A widget this module does not know (radio buttons, files, multi-widgets) falls back to
Django's own rendering of the widget, inside the same markup.
"""

import html

from django import forms
from django.conf import settings
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

e = html.escape


def _input_class(widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


def _widget_type_class(widget, css: str) -> str:
    """The widget's own classes with its type's name, as crispy's ``crispy_field`` tag writes them."""
    name = widget.__class__.__name__.lower()
    name = getattr(settings, "CRISPY_CLASS_CONVERTERS", {}).get(name, name)
    if not css:
        return name
    return css if name in css else f"{css} {name}"  # crispy's test is a substring's


def _attrs(bound_field, widget, *, extra_class: str = "", widget_type_class: bool = False) -> dict:
    attrs = bound_field.build_widget_attrs(dict(widget.attrs))
    attrs["id"] = bound_field.auto_id
    own = attrs.get("class", "")
    if widget_type_class:
        own = _widget_type_class(widget, own)
    css = " ".join(dict.fromkeys(" ".join((own, _input_class(widget), extra_class)).split()))
    attrs["class"] = css
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    if bound_field.help_text:  # besides the errors' block (Django names it when there are errors)
        described = [*attrs.get("aria-describedby", "").split(), f"{bound_field.auto_id}_helptext"]
        attrs["aria-describedby"] = " ".join(dict.fromkeys(described))
    return attrs


def widget_html(bound_field, *, extra_class: str = "", widget_type_class: bool = False) -> str:
    """The field's input element alone."""
    field = bound_field.field
    widget = field.widget
    name = bound_field.html_name
    value = bound_field.value()
    invalid = " is-invalid" if bound_field.errors else ""
    if isinstance(widget, forms.HiddenInput) and not isinstance(widget, forms.MultipleHiddenInput):
        formatted = widget.format_value(value)
        value_attr = f' value="{e(str(formatted))}"' if formatted is not None else ""
        return f'<input type="hidden" name="{e(name)}"{value_attr} id="{e(bound_field.auto_id)}">'
    extra_class = (extra_class + invalid).strip()
    attrs = _attrs(bound_field, widget, extra_class=extra_class, widget_type_class=widget_type_class)
    if isinstance(widget, forms.Textarea):
        formatted = widget.format_value(value)
        return f'<textarea name="{e(name)}"{flatatt(attrs)}>\n{e(str(formatted or ""))}</textarea>'
    if isinstance(widget, forms.CheckboxInput):
        if widget.check_test(value):
            attrs["checked"] = True
        return f'<input type="checkbox" name="{e(name)}"{flatatt(attrs)}>'
    if isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple | forms.RadioSelect):
        selected = {str(v) for v in widget.format_value(value)}
        options = "".join(
            f'<option value="{e(str(v))}"{" selected" if str(v) in selected else ""}>{e(str(label))}</option>'
            for v, label in widget.choices  # the field's, or the options a form set on the widget
        )
        return f'<select name="{e(name)}"{flatatt(attrs)}>{options}</select>'
    if isinstance(widget, forms.widgets.Input) and not isinstance(widget, forms.FileInput):
        formatted = widget.format_value(value)
        if formatted is not None:
            attrs["value"] = str(formatted)
        input_type = attrs.pop("type", widget.input_type)
        return f'<input type="{e(input_type)}" name="{e(name)}"{flatatt(attrs)}>'
    css = (_input_class(widget) + invalid).strip()
    if widget_type_class:
        css = " ".join(dict.fromkeys(f"{_widget_type_class(widget, widget.attrs.get('class', ''))} {css}".split()))
    return str(bound_field.as_widget(attrs={"class": css}))


def _errors_html(bound_field) -> str:
    """The field's errors in one block whose id the input's ``aria-describedby`` names (as crispy's does)."""
    if not bound_field.errors:
        return ""
    auto_id = e(bound_field.auto_id)
    errors = "".join(
        f'<span id="error_{i}_{auto_id}"><strong>{e(str(error))}</strong></span>'
        for i, error in enumerate(bound_field.errors, start=1)
    )
    return f'<div id="{auto_id}_error" class="invalid-feedback d-block">{errors}</div>'


def field_html(bound_field, *, wrapper_class: str = "mb-3", widget_type_class: bool = False) -> SafeString:
    """Label, input, errors and help text of one field, as crispy-bootstrap5 lays them out."""
    field = bound_field.field
    if isinstance(field.widget, forms.HiddenInput):
        return mark_safe(widget_html(bound_field))  # noqa: S308 - every value is escaped
    auto_id = e(bound_field.auto_id)
    label = e(str(bound_field.label or ""))
    help_text = (
        f'<div id="{auto_id}_helptext" class="form-text">{e(str(bound_field.help_text))}</div>'
        if bound_field.help_text
        else ""
    )
    if isinstance(field.widget, forms.CheckboxInput):
        inner = (
            f'<div class="form-check">{widget_html(bound_field, widget_type_class=widget_type_class)}'
            f'<label for="{auto_id}" class="form-check-label">{label}</label>'
            f"{_errors_html(bound_field)}{help_text}</div>"
        )
    else:
        required = ' requiredField"' if field.required else '"'
        asterisk = '<span class="asteriskField">*</span>' if field.required else ""
        inner = (
            f'<label for="{auto_id}" class="form-label{required}>{label}{asterisk}</label>'
            f"{widget_html(bound_field, widget_type_class=widget_type_class)}{_errors_html(bound_field)}{help_text}"
        )
    return mark_safe(f'<div id="div_{auto_id}" class="{wrapper_class}">{inner}</div>')  # noqa: S308 - escaped


def non_field_errors_html(form) -> str:
    """The form's own errors, and those of its hidden fields (which have nowhere else to show)."""
    errors = list(form.non_field_errors())
    errors += [error for bound_field in form.hidden_fields() for error in bound_field.errors]
    return "".join(f'<div class="alert alert-danger">{e(str(error))}</div>' for error in errors)


def form_html(form, *, wrapper_class: str = "mb-3", widget_type_class: bool = False) -> SafeString:
    """The form's non-field errors, then each of its fields (hidden ones included), in order."""
    parts = [non_field_errors_html(form)]
    parts += [
        field_html(bound_field, wrapper_class=wrapper_class, widget_type_class=widget_type_class)
        for bound_field in form
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped
