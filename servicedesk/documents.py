"""Printable documents: HTML templates rendered to A4 PDF by WeasyPrint.

One URL fetcher, one font configuration and one parsed stylesheet are reused
for the life of the process: building them per document costs more than the
document. Only local files and data: URLs are fetched, never the network.
"""

import functools
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from .models import CompanyProfile

DOCUMENT_CSS = "css/documents.css"


@functools.cache
def _weasy():
    # Imported lazily: WeasyPrint loads Pango at import, which a worker that
    # never prints should not pay for.
    from weasyprint import CSS, URLFetcher
    from weasyprint.text.fonts import FontConfiguration

    class LocalOnlyFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols={"file", "data"}, timeout=5)

    fetcher = LocalOnlyFetcher()
    fonts = FontConfiguration()
    stylesheet = CSS(filename=finders.find(DOCUMENT_CSS), url_fetcher=fetcher, font_config=fonts)
    return fetcher, fonts, stylesheet


def render_pdf(*, template: str, context: dict) -> bytes:
    """Render ``template`` (under templates/<app>/pdf/) with the company header to PDF bytes."""
    from weasyprint import HTML

    fetcher, fonts, stylesheet = _weasy()
    html = render_to_string(
        template, {"company": CompanyProfile.current(), "printed_at": timezone.localtime(), **context}
    )
    base_url = Path(settings.BASE_DIR).as_uri() + "/"
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet], font_config=fonts
    )


def render_pdf_many(documents: list[tuple[str, dict]]) -> bytes:
    """Several documents (template, context) as one PDF, each starting on its own page (printing together).

    Each is laid out on its own, as ``render_pdf`` would, and their pages are joined: one file to print
    instead of one per document.
    """
    from weasyprint import HTML

    fetcher, fonts, stylesheet = _weasy()
    common = {"company": CompanyProfile.current(), "printed_at": timezone.localtime()}
    base_url = Path(settings.BASE_DIR).as_uri() + "/"
    rendered = [
        HTML(string=render_to_string(template, {**common, **context}), base_url=base_url, url_fetcher=fetcher).render(
            stylesheets=[stylesheet], font_config=fonts
        )
        for template, context in documents
    ]
    pages = [page for document in rendered for page in document.pages]
    return rendered[0].copy(pages).write_pdf()


def pdf_response(pdf: bytes, *, filename: str, download: bool = False) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}.pdf"'
    return response
