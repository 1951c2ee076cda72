"""``{{ form|form_html }}``, ``{{ form.field|field_html }}`` and ``{{ form.field|widget_html }}`` (the input alone):
crispy's markup without its templates."""

from django import template
from django.utils.safestring import mark_safe

from servicedesk import form_html as markup

register = template.Library()


@register.filter
def form_html(form):
    return markup.form_html(form)


@register.filter
def field_html(bound_field):
    return markup.field_html(bound_field)


@register.filter
def widget_html(bound_field):
    return mark_safe(markup.widget_html(bound_field))  # noqa: S308 - every value is escaped by servicedesk.form_html
