"""``{{ form|form_html }}``, ``{{ form.field|field_html }}`` and ``{{ form.field|widget_html }}`` (the input alone):
crispy's markup without its templates."""

from django import template
from django.utils.safestring import mark_safe

from servicedesk import form_html as markup

register = template.Library()


def _crispy(option) -> bool:
    if option not in (None, "crispy"):
        raise ValueError(f"form_html's option is 'crispy', not {option!r}")
    return option == "crispy"


@register.filter
def form_html(form, option=None):
    """``{{ form|form_html:"crispy" }}``: with the widget type's class crispy adds (servicedesk.form_html)."""
    return markup.form_html(form, widget_type_class=_crispy(option))


@register.filter
def field_html(bound_field, option=None):
    return markup.field_html(bound_field, widget_type_class=_crispy(option))


@register.filter
def widget_html(bound_field):
    return mark_safe(markup.widget_html(bound_field))  # noqa: S308 - every value is escaped by servicedesk.form_html
