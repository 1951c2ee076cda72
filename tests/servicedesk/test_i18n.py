"""The interface renders in Simplified Chinese, the language most users read first.

The zh-hans catalogue is written in a later pass, so these tests check that the pages
render in that language without error, not the translated wording.
"""

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.factories import log_call

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_the_login_page_renders_in_chinese_from_the_browser_language(client, db):
    response = client.get(reverse("login"), **ZH)
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text


@pytest.mark.parametrize("accept", ["zh-CN,zh;q=0.9,en;q=0.5", "zh-Hans", "zh"])
def test_common_chinese_browser_languages_choose_zh_hans(client, db, accept):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept)
    assert '<html lang="zh-hans">' in response.text


@override_settings(LANGUAGE_CODE="zh-hans")
def test_chinese_is_the_default_without_a_browser_preference(client, db):
    assert '<html lang="zh-hans">' in client.get(reverse("login")).text


def test_the_working_pages_render_in_chinese(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    for url in (reverse("repairs:board"), reverse("repairs:call_log"), call.get_absolute_url()):
        response = client.get(url, **ZH)
        assert response.status_code == 200, url
        assert '<html lang="zh-hans">' in response.text, url
        assert call.number in client.get(reverse("repairs:board"), **ZH).text
    client.force_login(technician)
    response = client.get(reverse("repairs:my_calls"), **ZH)
    assert response.status_code == 200 and '<html lang="zh-hans">' in response.text


def test_a_form_error_renders_in_chinese(client, dispatcher):
    client.force_login(dispatcher)
    response = client.post(reverse("repairs:call_log"), {}, **ZH)
    assert response.status_code == 200
    assert response.context["form"].errors


def test_the_language_cookie_wins_over_the_browser(client, dispatcher):
    client.force_login(dispatcher)
    client.post(reverse("set_language"), {"language": "en", "next": reverse("repairs:board")})
    assert '<html lang="en">' in client.get(reverse("repairs:board"), **ZH).text
