"""Every page, walked in Chinese by every role that can open it: no English word outside the data (issue 16).

The security matrix's world (tests/security/conftest.py) has one object of every kind in unit B; each page
is opened by each role of unit B and of head office with the site in Chinese, and the words a person reads
(text, button values, placeholders, titles, labels for screen readers) are checked. A Latin word passes
when it is data (a word of some text stored in the database: a customer's name, a serial number, a
user name), or on the short list of words Chinese users read as they are (PDF, CSV, Excel...). Anything
else is a code or an untranslated label reaching a person.
"""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from .test_matrix import B_SIDE, HEAD_OFFICE, _urls, site_routes

# Words a Chinese reader reads as they are: file formats and encodings, keys as printed on a keyboard, the
# date pattern people type.
ALLOWED = {
    *("PDF", "CSV", "Excel", "xlsx", "JPEG", "PNG", "UTF", "GBK", "SMS", "API", "OpenAPI"),
    *("Enter", "Tab", "Esc", "Ctrl", "Shift", "Alt"),
    *("Authorization", "Bearer"),  # an HTTP header, as a program sends it
    *("YYYY", "MM", "DD"),
}
# A document number (RC-2026-000001, CB-2026-000003) is read as it is, letters and all.
DOCUMENT_NUMBER = re.compile(r"\b[A-Z]{1,4}-\d[\d-]*")

WORD = re.compile(r"[A-Za-z][A-Za-z]+")
# Text of these elements is not read as a page's words (scripts, styles, data islands for the scripts).
SKIPPED = {"script", "style", "template", "noscript"}
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}


class _Words(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        attrs = dict(attrs)
        for name in READ_ATTRIBUTES:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in {"submit", "button", "reset"} and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(data)


def page_words(html: str) -> set[str]:
    parser = _Words()
    parser.feed(html)
    return {word for text in parser.texts for word in WORD.findall(DOCUMENT_NUMBER.sub(" ", text))}


# Columns that hold codes, not words a person typed: a page that shows them as they are leaks a code.
# ``name_en`` is the English name of reference data: a page in Chinese shows ``name``.
CODE_COLUMNS = {"from_status", "to_status", "kind", "action", "entity", "dedupe_key", "channel", "event", "name_en"}


def _is_data(field) -> bool:
    if not isinstance(field, models.CharField | models.TextField):
        return False  # JSON (an audit's old and new values) is shown through labels, never as stored
    return not (field.choices or field.attname in CODE_COLUMNS)


def data_words() -> set[str]:
    """Every Latin word of every text a person typed into the database: what a page may show as it is.

    Choice columns, JSON and the columns of codes (a status history's states, an audit's action) are not
    data: they are what a page must show as labels."""
    words = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields if _is_data(f)]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            for value in row:
                if value:
                    words.update(WORD.findall(str(value)))
    return words


def test_the_walk_reads_words_from_text_and_the_attributes_a_person_reads():
    html = (
        '<p>报修 Repair</p><script>var notRead = 1;</script><input type="submit" value="Save">'
        '<input name="q" placeholder="Search"><span aria-label="Close">×</span> RC-2026-000001'
    )
    assert page_words(html) == {"Repair", "Save", "Search", "Close"}


@pytest.mark.parametrize("route", site_routes(), ids=lambda r: r.name)
def test_every_page_in_chinese_shows_no_english_outside_the_data(world, fast_pdfs, db, route):
    allowed = ALLOWED | data_words()
    leaks: dict[str, set[str]] = {}
    for url in _urls(world, route):
        for principal in B_SIDE + HEAD_OFFICE:
            client = world.client(principal)
            # The reader's choice of Chinese, as the language switch stores it (the portal honours only that).
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
            response = client.get(url, headers={"accept-language": "zh-hans"})
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            words = page_words(response.content.decode()) - allowed
            if words:
                leaks.setdefault(url, set()).update(words)
    assert not leaks, "English on pages in Chinese:\n" + "\n".join(
        f"{url}: {', '.join(sorted(words))}" for url, words in sorted(leaks.items())
    )
