"""``{% bulk_toolbar "page" %}`` and ``{% bulk_checkbox "page" pk %}``: a list page's bulk actions."""

from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from servicedesk import bulk

register = template.Library()


def _form_id(page: str) -> str:
    return f"bulk-{page}"


@register.simple_tag(takes_context=True)
def bulk_toolbar(context, page: str):
    """The selection's buttons (and the fields an action asks for), for the actions the user may run."""
    request = context["request"]
    actions = bulk.bulk_actions_for(page=page, user=request.user)
    if not actions:
        return ""
    form_id = _form_id(page)
    fields = []
    for action in actions:
        for name, label, choices in action.fields:
            options = format_html_join("", '<option value="{}">{}</option>', choices(request.user))
            fields.append(
                format_html(
                    '<label class="visually-hidden" for="{id}-{name}">{label}</label>'
                    '<select class="form-select form-select-sm w-auto" name="{name}" id="{id}-{name}">'
                    '<option value="">{label}</option>{options}</select>',
                    id=form_id,
                    name=name,
                    label=label,
                    options=options,
                )
            )
    buttons = format_html_join(
        "",
        '<button class="btn btn-sm btn-outline-primary" type="submit" formaction="{}"{}>{}</button>',
        (
            (
                reverse("bulk_run", args=[page, action.name]),
                format_html(' data-confirm="{}"', action.confirm) if action.confirm else "",
                action.label,
            )
            for action in actions
        ),
    )
    return format_html(
        '<form method="post" id="{id}" class="bulk-toolbar d-flex flex-wrap align-items-center gap-2 mb-2"'
        ' data-bulk-form data-selected-text="{selected}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        '<input type="hidden" name="next" value="{next}">'
        '<span class="small text-muted" data-bulk-count aria-live="polite">{none}</span>{fields}{buttons}</form>'
        '<script src="{script}" nonce="{nonce}" defer></script>',
        id=form_id,
        selected=_("%s selected"),
        csrf=get_token(request),
        next=request.get_full_path(),
        none=_("Select rows to act on several at once."),
        script=static("js/bulk.js"),
        nonce=context.get("csp_nonce", ""),
        fields=mark_safe("".join(fields)),  # noqa: S308 - each built with format_html
        buttons=buttons,
    )


@register.simple_tag
def bulk_checkbox(page: str, pk, label: str = ""):
    return format_html(
        '<input class="form-check-input bulk-select" type="checkbox" name="ids" value="{pk}" form="{form}"'
        ' aria-label="{label}">',
        pk=pk,
        form=_form_id(page),
        label=label or _("Select"),
    )


@register.simple_tag
def bulk_select_all(page: str):
    return format_html(
        '<input class="form-check-input bulk-select-all" type="checkbox" data-bulk-all="{form}" aria-label="{label}">',
        form=_form_id(page),
        label=_("Select all rows"),
    )
