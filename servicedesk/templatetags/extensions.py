"""``{% page_toolbar "navbar" %}``: what higher apps add to a shared page (``servicedesk.extensions``)."""

from django import template

from servicedesk.extensions import toolbar_html

register = template.Library()


@register.simple_tag(takes_context=True)
def page_toolbar(context, page: str):
    request = context.get("request")
    return toolbar_html(page, request) if request is not None else ""
