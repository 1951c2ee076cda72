"""``{{ form|form_html }}`` and ``{{ form.field|field_html }}``: crispy's markup without its templates."""

from django import template

from servicedesk import form_html as markup

register = template.Library()


@register.filter
def form_html(form):
    return markup.form_html(form)


@register.filter
def field_html(bound_field):
    return markup.field_html(bound_field)
