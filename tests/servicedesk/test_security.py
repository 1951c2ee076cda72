"""Log-in protection, sessions, and the security headers every response carries."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import UserFactory

LOGIN = "/accounts/login/"


def _attempt(client, username, password, ip="10.1.2.3"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    from axes.utils import reset

    reset()
    yield
    reset()


def test_repeated_wrong_passwords_lock_that_user_even_with_the_right_password(db, dispatcher, axes_on):
    client = Client()
    statuses = [_attempt(client, "dispatcher", "wrong").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = _attempt(client, "dispatcher", "pw")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_user_does_not_lock_out_colleagues_behind_the_same_address(db, dispatcher, technician, axes_on):
    client = Client()
    for _ in range(3):
        _attempt(client, "dispatcher", "wrong", ip="10.9.9.9")
    response = _attempt(Client(), "tech", "pw", ip="10.9.9.9")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_lock_follows_the_user_to_another_address(db, dispatcher, axes_on):
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        _attempt(Client(), "dispatcher", "wrong", ip=ip)
    assert _attempt(Client(), "dispatcher", "pw", ip="10.0.0.4").status_code == 429


def test_disabling_an_account_ends_its_open_sessions(db, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    assert client.get(reverse("repairs:board")).status_code == 200
    dispatcher.is_active = False
    dispatcher.save()
    response = client.get(reverse("repairs:board"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_changing_the_password_ends_other_sessions(db, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    dispatcher.set_password("a-new-long-password-2026")
    dispatcher.save()
    assert client.get(reverse("repairs:board")).status_code == 302


def test_sessions_expire_after_the_configured_time_and_with_the_browser(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


@pytest.mark.parametrize("path", ["/accounts/login/", "/calls/", "/no-such-page/", "/calls/999999/"])
def test_every_page_including_errors_carries_the_security_headers(db, dispatcher, path):
    client = Client()
    client.force_login(dispatcher)
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_csp_nonce_is_fresh_per_response_and_used_by_every_script(db, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    first, second = client.get("/calls/"), client.get("/calls/")
    nonce = first["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert nonce not in second["Content-Security-Policy"]
    html = first.text
    assert html.count("<script") == html.count(f'nonce="{nonce}"')


@override_settings(DEBUG=False)
def test_a_server_error_page_is_plain_and_leaks_nothing(db, dispatcher, monkeypatch):
    from repairs.views import calls

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(calls.selectors, "repair_call_board", boom)
    client = Client(raise_request_exception=False)
    client.force_login(dispatcher)
    response = client.get("/calls/")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Something went wrong" in response.text
    assert "Content-Security-Policy" in response


def test_health_and_readiness_answer_without_login(db):
    client = Client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200
    # The test settings always have the reports replica (a mirror of the test database).
    assert response.json() == {"ready": True, "database": "ok", "broker": "ok", "replica": "ok"}


def test_readiness_fails_when_the_broker_is_unreachable(db, settings):
    from servicedesk.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:6390/0"
    try:
        response = Client().get("/readyz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert response.json()["broker"].startswith("error")


def test_an_inactive_user_cannot_log_in(db):
    UserFactory(username="gone", is_active=False)
    response = Client().post(LOGIN, {"username": "gone", "password": "pw"})
    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session


# --- Issue 12: caching of logged-in pages, health checks over plain HTTP, the client address behind nginx ---


def test_logged_in_pages_are_not_kept_by_browsers_or_proxies(db, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    for path in ["/calls/", "/calls/999999/"]:
        response = client.get(path)
        assert response["Cache-Control"] == "private, no-store", path


def test_anonymous_public_pages_keep_their_own_caching(db):
    # The login page says never_cache itself; the health check says nothing: both as they were.
    login = Client().get("/accounts/login/")
    assert login["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert "Cache-Control" not in Client().get("/healthz")


def test_health_checks_answer_over_plain_http_when_https_is_enforced(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # Every other page still goes to HTTPS.
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")


def _request(remote_addr, forwarded_for=None):
    from django.test import RequestFactory

    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


def test_the_client_address_is_the_peer_when_no_proxy_is_trusted(settings):
    from servicedesk.client_address import client_address

    settings.TRUSTED_PROXIES = []
    assert client_address(_request("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


def test_the_client_address_comes_from_a_trusted_proxys_forwarded_for(settings):
    from servicedesk.client_address import client_address

    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "192.0.2.7"]
    # nginx appends the peer it saw; what the client wrote itself stands to the left and is not believed.
    assert client_address(_request("10.0.0.5", "198.51.100.1, 203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("10.0.0.5", "203.0.113.9, 192.0.2.7")) == "203.0.113.9"
    # A peer that is not a configured proxy cannot choose its address.
    assert client_address(_request("198.51.100.77", "203.0.113.9")) == "198.51.100.77"
    # Garbage in the header: the last trusted hop is the answer.
    assert client_address(_request("10.0.0.5", "not-an-address")) == "10.0.0.5"
    assert client_address(_request("10.0.0.5", "")) == "10.0.0.5"


def test_the_trusted_proxies_come_from_the_environment(tmp_path):
    from tests.servicedesk.test_deploy import _manage

    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.TRUSTED_PROXIES)",
        tmp_path=tmp_path,
        DJANGO_DEBUG="1",
        DJANGO_TRUSTED_PROXIES="10.0.0.1,192.168.0.0/16",
    )
    assert "['10.0.0.1', '192.168.0.0/16']" in result.stdout, result.stdout + result.stderr


def test_the_login_lock_counts_the_client_behind_the_proxy(settings):
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert get_client_ip_address(_request("10.0.0.5", "203.0.113.9")) == "203.0.113.9"
