"""Login everywhere, CSRF everywhere: walked over every URL the resolver knows, so a new URL cannot escape."""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from tests.urlwalk import routes

# Reachable without logging in, and why. A new public URL must be added here on purpose.
PUBLIC = {
    "login": "the login page itself",
    "healthz": "liveness probe",
    "readyz": "readiness probe",
    "set_language": "the language switch on the login page",
    "survey_public:answer": "a survey card's private link (DOMAIN 5), checked by its token",
}


def _site_routes():
    # The admin site has its own login (checked below); everything else is ours.
    return [r for r in routes() if r.namespace != "admin" and not r.is_regex]


def _url(route):
    return reverse(route.name, kwargs=route.sample_kwargs())


def test_the_walk_sees_the_repairs_urls():
    names = {r.name for r in _site_routes()}
    assert {"repairs:board", "repairs:call_detail", "repairs:call_action", "login", "healthz"} <= names


# Two doors of their own (issue 15): the API answers 401 without a token, the portal sends a visitor to the
# customers' sign-in; the staff login is for neither.
OWN_DOORS = ("api", "portal")


@pytest.mark.parametrize(
    "route",
    [r for r in _site_routes() if r.name not in PUBLIC and r.namespace not in OWN_DOORS],
    ids=lambda r: r.name,
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_log_in(client, db, route, method):
    url = _url(route)
    response = getattr(client, method)(url)
    assert response.status_code == 302, f"{method.upper()} {url} answered {response.status_code} to an anonymous user"
    assert response.url.startswith(resolve_url(settings.LOGIN_URL) + "?next=")


def test_the_login_page_and_health_check_need_no_login(client, db):
    assert client.get(reverse("login")).status_code == 200
    health = client.get(reverse("healthz"))
    assert health.status_code == 200 and health.content == b"ok"


def test_the_admin_site_sends_anonymous_users_to_its_login(client, db):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_language_can_be_switched_on_the_login_page(client, db):
    login = reverse("login")
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": login})
    assert response.status_code == 302
    assert response.url == login
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert 'lang="zh-hans"' in client.get(login).text


@pytest.mark.parametrize(
    "route", [r for r in _site_routes() if not getattr(r.view, "csrf_exempt", False)], ids=lambda r: r.name
)
def test_a_post_without_a_csrf_token_is_refused(db, dispatcher, route):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dispatcher)
    response = client.post(_url(route), {"x": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize("route", [r for r in _site_routes() if r.namespace in OWN_DOORS], ids=lambda r: r.name)
def test_the_api_and_the_portal_keep_anonymous_visitors_out(client, db, route):
    response = client.get(_url(route))
    if route.namespace == "portal" and route.name.startswith(("portal:sign_in", "portal:sign_out")):
        assert response.status_code in (200, 302, 400, 404, 405)  # the sign-in and sign-out themselves
    elif route.name in ("api:tokens", "api:docs"):  # the token page and the docs are staff pages
        assert response.status_code == 302 and response.url.startswith(resolve_url(settings.LOGIN_URL))
    elif route.namespace == "api":
        assert response.status_code in (401, 302), response.status_code
    else:
        assert response.status_code == 302 and response.url.startswith(reverse("portal:sign_in"))


def test_no_view_is_exempt_from_csrf():
    """Only the API's endpoints are: they authenticate by a token in a header, never by a cookie a browser
    would send on its own (REST_FRAMEWORK's only authentication class)."""
    exempt = [r for r in _site_routes() if getattr(r.view, "csrf_exempt", False)]
    assert [r.name for r in exempt if r.namespace != "api"] == []
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == ["api.rest.TokenAuthentication"]


def test_logging_in_without_a_csrf_token_is_refused(db, dispatcher):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "dispatcher", "password": "pw"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
