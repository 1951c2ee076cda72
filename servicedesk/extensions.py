"""Hooks through which a higher app adds to a lower app's pages, registered in its ``AppConfig.ready``.

- Toolbars: a page (``"board"``) asks for the extra toolbar content other apps put on it (the saved views of
  ``records`` on the dispatch board); each contributor is ``render(request) -> str`` of safe HTML.
- Record links: a page asks where a customer's or a product's record lives (``"customer"`` by id,
  ``"product"`` by serial number) and shows no link when no app provides one.
"""

from collections.abc import Callable

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

_toolbars: dict[str, list[Callable]] = {}
_record_links: dict[str, Callable] = {}


def register_toolbar(page: str, render: Callable) -> None:
    contributors = _toolbars.setdefault(page, [])
    if render not in contributors:  # ready() may run twice in tests
        contributors.append(render)


def toolbar_html(page: str, request) -> SafeString:
    return mark_safe("".join(conditional_escape(render(request)) for render in _toolbars.get(page, ())))  # noqa: S308


def register_record_link(kind: str, url_for: Callable) -> None:
    _record_links[kind] = url_for


def record_link(kind: str, key) -> str:
    """The URL of the record of ``kind`` named by ``key``, or "" when there is none."""
    url_for = _record_links.get(kind)
    if url_for is None or key in (None, ""):
        return ""
    return url_for(key)


_page_defaults: dict[str, Callable] = {}


def register_page_default(page: str, redirect_for: Callable) -> None:
    """``redirect_for(request)`` returns where the page opened without filters goes (a saved default), or None."""
    _page_defaults[page] = redirect_for


def page_default(page: str, request):
    redirect_for = _page_defaults.get(page)
    return redirect_for(request) if redirect_for is not None else None
