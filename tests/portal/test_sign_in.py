"""Signing in without a password: a one-time link by e-mail, a 6-digit code by SMS (DOMAIN 11)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import signin
from portal.models import SignInRequest
from portal.principal import SESSION_KEY
from servicedesk.models import Notification

from .conftest import sent_code, sent_link


def _ask(client, address):
    return client.post(reverse("portal:sign_in"), {"address": address})


def test_the_link_signs_the_contact_in_once(contact):
    client = Client()
    page = _ask(client, "Wang@Example.com")
    assert page.status_code == 200
    link = sent_link(contact.email)
    notice = Notification.objects.get(to_email=contact.email)
    assert notice.channel == Notification.Channel.EMAIL
    assert link.split("/")[-2] not in SignInRequest.objects.get().secret_hash  # only a hash is stored

    # Opening the link (a mail scanner does) uses nothing: the button does.
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302 and response.url == reverse("portal:home")
    assert client.session[SESSION_KEY] == contact.pk
    assert client.get(reverse("portal:home")).status_code == 200

    again = Client().post(link)
    assert again.status_code == 410
    assert SESSION_KEY not in Client().session


def test_an_expired_link_signs_nobody_in(contact):
    client = Client()
    _ask(client, contact.email)
    link = sent_link(contact.email)
    SignInRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=1), expires_at=timezone.now())
    assert client.post(link).status_code == 410
    assert SESSION_KEY not in client.session


def test_a_link_past_its_signed_age_is_refused_even_if_the_row_says_otherwise(contact, monkeypatch):
    _ask(Client(), contact.email)
    link = sent_link(contact.email)
    token = link.split("/")[-2]
    with pytest.raises(signin.SignInFailed):
        signin.portal_sign_in_link_use(token=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    monkeypatch.setattr(signin, "LINK_LIFETIME", dt.timedelta(seconds=-1))
    with pytest.raises(signin.SignInFailed):
        signin.portal_sign_in_link_use(token=token)
    assert SignInRequest.objects.get().used_at is None


def test_a_contact_without_portal_access_gets_no_link_and_loses_the_session(contact, portal_client):
    assert portal_client.get(reverse("portal:home")).status_code == 200
    contact.portal_access = False
    contact.save()
    assert portal_client.get(reverse("portal:home")).status_code == 302
    page = _ask(Client(), contact.email)
    assert page.status_code == 200  # the same page as for a known address
    assert not Notification.objects.exists()


def test_an_unknown_address_gets_the_same_page_and_nothing_is_sent(contact):
    known = _ask(Client(), contact.email)
    unknown = _ask(Client(), "nobody@example.com")
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace("nobody@example.com", "X") == known.text.replace(contact.email, "X")
    assert Notification.objects.count() == 1


def test_the_code_by_sms_signs_in_once(contact):
    client = Client()
    response = _ask(client, "138-0013-8000")
    assert response.status_code == 302 and response.url.startswith(reverse("portal:sign_in_code"))
    code = sent_code(contact.mobile)
    sms = Notification.objects.get(channel=Notification.Channel.SMS)
    assert sms.to_phone == "13800138000"
    assert code not in SignInRequest.objects.get().secret_hash

    done = client.post(reverse("portal:sign_in_code"), {"code": code})
    assert done.status_code == 302
    assert client.session[SESSION_KEY] == contact.pk

    # The same code in another browser with the same pending request: used.
    with pytest.raises(signin.SignInFailed):
        signin.portal_sign_in_code_check(request_id=SignInRequest.objects.get().pk, code=code)


def test_wrong_codes_are_bounded_then_even_the_right_one_fails(contact):
    client = Client()
    _ask(client, contact.mobile)
    code = sent_code(contact.mobile)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _attempt in range(signin.CODE_ATTEMPTS):
        page = client.post(reverse("portal:sign_in_code"), {"code": wrong})
        assert page.status_code == 400
    assert SignInRequest.objects.get().attempts == signin.CODE_ATTEMPTS
    page = client.post(reverse("portal:sign_in_code"), {"code": code})
    assert page.status_code == 400
    assert SESSION_KEY not in client.session


def test_an_expired_code_fails(contact):
    client = Client()
    _ask(client, contact.mobile)
    code = sent_code(contact.mobile)
    SignInRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.post(reverse("portal:sign_in_code"), {"code": code}).status_code == 400
    assert SESSION_KEY not in client.session


def test_an_unknown_number_shows_the_code_page_and_no_code_works(contact):
    client = Client()
    response = _ask(client, "13900000000")
    assert response.status_code == 302 and response.url.startswith(reverse("portal:sign_in_code"))
    assert not Notification.objects.exists()
    assert client.post(reverse("portal:sign_in_code"), {"code": "000000"}).status_code == 400


def test_one_contact_is_sent_a_bounded_number_of_links(contact):
    for n in range(signin.SENDS_PER_CONTACT + 2):
        assert _ask(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), contact.email).status_code == 200
    assert Notification.objects.filter(to_email=contact.email).count() == signin.SENDS_PER_CONTACT


def test_one_address_may_ask_a_bounded_number_of_times(contact, other_contact):
    from portal.views.signin import SENDS_PER_ADDRESS

    client = Client(REMOTE_ADDR="10.9.9.9")
    statuses = [_ask(client, f"someone{n}@example.com").status_code for n in range(SENDS_PER_ADDRESS)]
    assert set(statuses) == {200}
    refused = _ask(client, other_contact.email)
    assert refused.status_code == 429
    assert not Notification.objects.filter(to_email=other_contact.email).exists()
    # Another address is not held back by this one.
    assert _ask(Client(REMOTE_ADDR="10.9.9.10"), other_contact.email).status_code == 200


def test_code_checks_from_one_address_are_bounded(contact):
    from portal.views.signin import CHECKS_PER_ADDRESS

    client = Client(REMOTE_ADDR="10.8.8.8")
    _ask(client, "13900000000")  # unknown: no code can work, each try is only counted
    for _attempt in range(CHECKS_PER_ADDRESS):
        client.post(reverse("portal:sign_in_code"), {"code": "123456"})
    assert client.post(reverse("portal:sign_in_code"), {"code": "123456"}).status_code == 429


def test_signing_in_ends_a_staff_session_in_the_same_browser(contact, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    _ask(client, contact.email)
    client.post(sent_link(contact.email))
    assert client.get(reverse("repairs:board")).status_code == 302  # the staff login is gone
    assert client.get(reverse("portal:home")).status_code == 200


def test_the_next_page_is_kept_but_only_inside_the_portal(contact):
    client = Client()
    target = reverse("portal:calls")
    response = client.post(reverse("portal:sign_in"), {"address": contact.mobile, "next": target})
    code = sent_code(contact.mobile)
    assert client.post(response.url, {"code": code}).url == target

    client = Client()
    response = client.post(reverse("portal:sign_in"), {"address": contact.mobile, "next": "https://evil.example/"})
    code = sent_code(contact.mobile)
    done = client.post(response.url, {"code": code, "next": "https://evil.example/"})
    assert done.url == reverse("portal:home")


def test_signing_out_ends_the_portal_session(portal_client):
    assert portal_client.post(reverse("portal:sign_out")).status_code == 302
    assert portal_client.get(reverse("portal:home")).status_code == 302


def test_portal_pages_are_in_the_sites_language_chinese_whatever_the_browser_asks(portal_client, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the production default (the tests run in English)
    page = portal_client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "zh-hans"
    assert "报修" in page.text or "客户服务" in page.text
    assert "no-store" in page["Cache-Control"]


def test_the_link_and_the_code_are_delivered_once_by_the_outbox_sweep(contact, mailoutbox):
    from servicedesk import sms
    from servicedesk.notifications import notifications_deliver_pending

    _ask(Client(), contact.email)
    _ask(Client(), contact.mobile)
    notifications_deliver_pending()
    notifications_deliver_pending()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [contact.email]
    assert sent_link(contact.email) in mailoutbox[0].body
    assert [m.to for m in sms.outbox] == ["13800138000"]
    assert sent_code(contact.mobile) in sms.outbox[0].text
