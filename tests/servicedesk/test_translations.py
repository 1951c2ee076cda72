"""The Simplified Chinese catalogue is complete, compiled, safe to format, and really used by the pages.

These read the committed locale/zh_Hans files with polib, so they run on a machine without
gettext. `scripts/i18n --check` (which needs gettext) is the other half: it fails when the
code has strings the catalogue does not have yet.
"""

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests.factories import log_call

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

# %%, %(name)s, %(count)d, %(minutes)02d, %s, %d; {{ var }} in blocktranslate; HTML tags.
PLACEHOLDER = re.compile(r"%%|%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdif]|\{\{.*?\}\}|</?[a-zA-Z][^>]*>")

# Characters that exist only in Traditional Chinese: the company's standard is written in them,
# the interface must not be.
TRADITIONAL_ONLY = set(
    "務門單護戶時處據簽續證錄設費號帳傳從為個與這們裡態術達應辦績過質製總經員開關項條確認議規範調書數類發換資價額筆舊區郵電話網頁鐘"
)


@pytest.fixture(scope="module")
def po():
    return polib.pofile(str(LOCALE / "django.po"))


@pytest.fixture(scope="module")
def entries(po):
    return [entry for entry in po if not entry.obsolete]


def _key(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def _translations(entry):
    return dict(entry.msgstr_plural) if entry.msgid_plural else {0: entry.msgstr}


def test_the_catalogue_header_declares_simplified_chinese_utf8_without_plurals(po):
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == "zh_Hans"
    assert "charset=UTF-8" in po.metadata["Content-Type"]
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_the_catalogue_is_not_empty(entries):
    assert len(entries) > 500


def test_every_string_is_translated_and_none_is_fuzzy(po):
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert untranslated == [], f"untranslated: {untranslated[:20]}"
    assert fuzzy == [], f"fuzzy: {fuzzy[:20]}"


def test_every_placeholder_and_tag_of_a_msgid_is_kept_in_its_translation(entries):
    broken = []
    for entry in entries:
        for index, msgstr in _translations(entry).items():
            source = entry.msgid_plural if entry.msgid_plural and index else entry.msgid
            if Counter(PLACEHOLDER.findall(msgstr)) != Counter(PLACEHOLDER.findall(source)):
                broken.append((entry.msgid, msgstr))
    assert broken == []


def test_the_translations_are_written_in_simplified_characters(entries):
    traditional = [
        (entry.msgid, msgstr)
        for entry in entries
        for msgstr in _translations(entry).values()
        if TRADITIONAL_ONLY & set(msgstr)
    ]
    assert traditional == []


def test_the_compiled_catalogue_matches_the_source(entries):
    """The committed .mo holds exactly the .po's translations: nobody forgot compilemessages."""
    mo = polib.mofile(str(LOCALE / "django.mo"))
    compiled = {_key(entry): _translations(entry) for entry in mo if entry.msgid}
    source = {_key(entry): _translations(entry) for entry in entries if entry.translated()}
    assert compiled == source


def test_django_answers_every_msgid_with_the_catalogues_translation(entries):
    """The running project loads this catalogue for zh-hans (LOCALE_PATHS, language code) and it wins."""
    wrong = []
    with translation.override("zh-hans"):
        for entry in entries:
            if entry.msgid_plural:
                got = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 2)
                    if entry.msgctxt
                    else (translation.ngettext(entry.msgid, entry.msgid_plural, 2))
                )
                want = entry.msgstr_plural[0]
            else:
                got = (
                    translation.pgettext(entry.msgctxt, entry.msgid)
                    if entry.msgctxt
                    else translation.gettext(entry.msgid)
                )
                want = entry.msgstr
            if got != want:
                wrong.append((entry.msgid, got, want))
    assert wrong == []


def _zh(po, msgid):
    entry = po.find(msgid)
    assert entry is not None and entry.msgstr, msgid
    return entry.msgstr


def test_the_dispatch_board_is_in_chinese(client, dispatcher, po):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:board"), **ZH).text
    assert f'<h1 class="h3 mb-0">{_zh(po, "Dispatch board")}</h1>' in page
    assert _zh(po, "Log a call") in page
    assert _zh(po, "Logged") in page  # the call's status, a model choice label
    assert call.number in page
    english = client.get(reverse("repairs:board"), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Dispatch board" in english and _zh(po, "Dispatch board") not in english


def test_the_log_a_call_page_and_its_form_errors_are_in_chinese(client, dispatcher, po):
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:call_log"), **ZH).text
    assert _zh(po, "Log a repair call") in page
    assert _zh(po, "Find by name, phone or serial number") in page
    assert _zh(po, "Problem") in page  # a form field label
    response = client.post(reverse("repairs:call_log"), {"problem": "x"}, **ZH)
    assert response.status_code == 200
    assert _zh(po, "Enter the new customer, or look up an existing one.") in response.text
    assert "这个字段是必填项。" in response.text  # Django's own catalogue for the required fields


def test_the_login_page_is_in_chinese(client, db, po):
    page = client.get(reverse("login"), **ZH).text
    assert _zh(po, "Log in") in page
