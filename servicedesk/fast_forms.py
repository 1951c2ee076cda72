"""Unbound action forms drawn as HTML in Python, the markup crispy-forms' Bootstrap 5 pack gives them.

A call page shows up to four small action forms; drawing each widget through Django's and
crispy's templates cost most of the page's time (issue 17). For the widgets these forms use
(hidden, text, number, date-time, textarea, select, radio, an empty file input) the same markup is written here,
every value escaped. Anything else, and any bound form (it has errors to show), returns None:
the template then draws it with ``|crispy`` as before.
"""

import html

from django import forms
from django.utils.safestring import mark_safe

_INPUT_CLASS = {
    forms.TextInput: "textinput",
    forms.NumberInput: "numberinput",
    forms.DateTimeInput: "datetimeinput",
    forms.EmailInput: "emailinput",
}


def _attrs(attrs: dict) -> str:
    out = []
    for name, value in attrs.items():
        if value is True:
            out.append(f" {name}")
        elif value is not False and value is not None:
            out.append(f' {name}="{html.escape(str(value))}"')
    return "".join(out)


def _label(bf, *, tag="label", extra=""):
    required = bf.field.required
    css = "form-label requiredField" if required else "form-label"
    star = '<span class="asteriskField">*</span>' if required else ""
    target = "" if tag == "legend" else f' for="{bf.id_for_label}"'
    return f'<{tag}{target} class="{css}{extra}">{html.escape(str(bf.label))}{star}</{tag}>'


def _field_html(bf) -> str | None:
    widget = bf.field.widget
    kind = type(widget)
    attrs = bf.build_widget_attrs(dict(widget.attrs))
    value = widget.format_value(bf.value())
    base = {"name": bf.html_name}
    if kind is forms.HiddenInput:
        return f'<input type="hidden"{_attrs({**base, "value": value, "id": bf.auto_id})}>'
    help_html = ""
    if bf.help_text:
        help_html = f'<div id="{bf.auto_id}_helptext" class="form-text">{html.escape(str(bf.help_text))}</div>'
    if kind in _INPUT_CLASS:
        input_type = attrs.pop("type", widget.input_type)
        css = f"{_INPUT_CLASS[kind]} form-control"
        control = (
            f'<input type="{input_type}"{_attrs({**base, "value": value, **attrs, "class": css, "id": bf.auto_id})}>'
        )
    elif kind is forms.Textarea:
        text = html.escape(str(value or ""))
        textarea_attrs = _attrs({**base, **attrs, "class": "textarea form-control", "id": bf.auto_id})
        control = f"<textarea{textarea_attrs}>\n{text}</textarea>"
    elif kind is forms.Select:
        chosen = {str(v) for v in (value if isinstance(value, list) else [value])}
        options = "".join(
            f'<option value="{html.escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
            f"{html.escape(str(text))}</option>"
            for v, text in widget.choices
        )
        control = (
            f"<select{_attrs({**base, **attrs, 'class': 'select form-select', 'id': bf.auto_id})}>{options}</select>"
        )
    elif kind is forms.RadioSelect:
        chosen = str(value[0]) if isinstance(value, list) and value else ""
        required = " required" if attrs.get("required") else ""
        radios = []
        for i, (v, text) in enumerate(bf.field.choices):
            rid = f"{bf.auto_id}_{i}"
            checked = " checked" if str(v) == chosen else ""
            radios.append(
                f'<div class="form-check"><input type="radio" class="form-check-input" name="{bf.html_name}" '
                f'value="{html.escape(str(v))}" id="{rid}"{required}{checked}> '
                f'<label for="{rid}" class="form-check-label">{html.escape(str(text))}</label></div>'
            )
        legend = _label(bf, tag="legend", extra=" fs-6")
        inner = f"{legend}<div>{''.join(radios)}</div>{help_html}"
        return f'<div id="div_{bf.auto_id}" class="mb-3"><fieldset>{inner}</fieldset></div>'
    elif kind in (forms.FileInput, forms.ClearableFileInput) and not value:
        # crispy wraps a file input in a <div> of its own; with a current file (ClearableFileInput's
        # "currently" link and clear box) the form goes through crispy.
        file_attrs = _attrs({**base, **attrs, "class": "form-control", "id": bf.auto_id})
        control = f'<div><input type="file"{file_attrs}></div>'
    else:
        return None
    return f'<div id="div_{bf.auto_id}" class="mb-3">{_label(bf)} {control}{help_html}</div>'


def unbound_form_html(form) -> str | None:
    """The form's fields as crispy would draw them, or None when this form must go through crispy."""
    if form.is_bound or form.non_field_errors():
        return None
    parts = []
    for bf in form:
        piece = _field_html(bf)
        if piece is None:
            return None
        parts.append(piece)
    return mark_safe(" ".join(parts))  # noqa: S308 - every value is escaped above
