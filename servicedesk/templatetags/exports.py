from django import template

register = template.Library()

# Pagination is not a filter: an export holds every row the filters select.
NOT_FILTERS = ("page", "after")


@register.inclusion_tag("servicedesk/_export_links.html", takes_context=True)
def export_links(context, page: str):
    """The CSV and Excel links of a list page, carrying the page's current filters."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is not None:
        for name in NOT_FILTERS:
            query.pop(name, None)
    return {"export_page": page, "export_query": query.urlencode() if query else ""}
