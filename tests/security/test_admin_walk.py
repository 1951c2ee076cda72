"""The admin site's URLs, walked from the resolver: staff only, and never a 5xx.

Every admin URL: an anonymous visitor and a non-staff user holding every role are sent to the admin's login;
a superuser and a staff user with the administrator role open every page (with a real row for the pages that
name one) and never get a 5xx.
"""

import pytest
from django.apps import apps
from django.urls import reverse

from servicedesk.roles import Role
from tests.factories import UserFactory
from tests.urlwalk import routes

# The admin URLs whose kwargs are not one model's object_id, and what to give them.
SPECIAL = {
    "admin:view_on_site": "content type and object of unit B's repair call",
    "admin:auth_user_password_change": "a user",
    "admin:app_list": "each app's index (a regex route: its app_label)",
}
PUBLIC = {"admin:login", "admin:logout", "admin:jsi18n"}


def admin_routes():
    return [r for r in routes() if r.namespace == "admin" and not r.is_regex]


def _model_of(route):
    name = route.name.removeprefix("admin:")
    for model in apps.get_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix) and name.removeprefix(prefix) in ("change", "delete", "history"):
            return model
    return None


def test_every_admin_url_with_arguments_is_classified():
    unknown = [r.name for r in admin_routes() if r.kwargs and _model_of(r) is None and r.name not in SPECIAL]
    assert not unknown, f"add these admin URLs to SPECIAL in tests/security/test_admin_walk.py: {unknown}"


def _urls(world, route):
    if route.name == "admin:app_list":
        return [reverse(route.name, kwargs={"app_label": label}) for label in ("repairs", "complaints", "auth")]
    return [_url(world, route)]


def _url(world, route):
    if not route.kwargs:
        return reverse(route.name)
    if route.name == "admin:view_on_site":
        from django.contrib.contenttypes.models import ContentType

        call = world.objects["call"]
        return reverse(route.name, args=[ContentType.objects.get_for_model(call).pk, call.pk])
    if route.name == "admin:auth_user_password_change":
        return reverse(route.name, args=[world.users[("B", Role.DISPATCHER)].pk])
    model = _model_of(route)
    obj = world.objects.get(model._meta.model_name) or model.objects.order_by("pk").first()
    return reverse(route.name, args=[obj.pk if obj is not None else 999999])


@pytest.fixture
def staff(world, db):
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    root = UserFactory(username="sec-root", is_staff=True, is_superuser=True, unit=world.head_office)
    from django.test import Client

    root_client = Client(raise_request_exception=False)
    root_client.force_login(root)
    return {"administrator": world.client(("HO", Role.ADMINISTRATOR)), "superuser": root_client}


def test_the_admin_is_for_staff_only_and_never_fails(world, fast_pdfs, staff):
    from django.conf import settings
    from django.shortcuts import resolve_url

    logins = (reverse("admin:login"), resolve_url(settings.LOGIN_URL))  # the site's own login guards it first
    problems = []
    requests = 0
    for route, url in ((r, u) for r in admin_routes() for u in _urls(world, r)):
        for who, client in (("anonymous", world.client(None)), ("a non-staff user", world.client("a_all"))):
            if route.name in PUBLIC:
                continue
            response = client.get(url)
            requests += 1
            if not (response.status_code == 302 and response.url.startswith(logins)):
                problems.append(f"GET {url} as {who}: {response.status_code}, not sent to log in")
        for who, client in staff.items():
            if route.name == "admin:logout":
                continue
            response = client.get(url)
            requests += 1
            if response.status_code >= 500:
                exc = getattr(response, "exc_info", None)
                problems.append(f"GET {url} as {who}: {response.status_code} {exc[1] if exc else ''!r}")
    assert not problems, "\n".join(problems)
    assert requests > 500
