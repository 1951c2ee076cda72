"""The main menu: rendered once per set of permissions and language, never stale when permissions change."""

from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from servicedesk.roles import Role
from tests.factories import UserFactory


def _menu_links(client) -> str:
    page = client.get(reverse("repairs:board")).content.decode()
    start = page.index('<ul class="navbar-nav me-auto">')
    return page[start : page.index("</ul>", start)]


def test_a_permission_given_shows_its_menu_link_on_the_next_page(client, dispatcher):
    client.force_login(dispatcher)
    appraisal = reverse("complaints:appraisal")
    assert appraisal not in _menu_links(client)
    dispatcher.user_permissions.add(Permission.objects.get(codename="view_appraisal"))
    assert appraisal in _menu_links(client)


def test_a_permission_taken_away_removes_its_menu_link_on_the_next_page(client, dispatcher):
    client.force_login(dispatcher)
    log_call = reverse("repairs:call_log")
    assert log_call in _menu_links(client)
    dispatcher.groups.clear()
    dispatcher.user_permissions.add(Permission.objects.get(codename="view_repaircall"))
    assert log_call not in _menu_links(client)


def test_two_users_of_one_role_share_the_menu_but_each_sees_their_own_name(client, unit, dispatcher):
    other = UserFactory(unit=unit, roles=[Role.DISPATCHER])
    client.force_login(dispatcher)
    first = client.get(reverse("repairs:board")).content.decode()
    client.force_login(other)
    second = client.get(reverse("repairs:board")).content.decode()
    assert _menu_links(client) in first
    assert str(dispatcher) in first and str(other) not in first
    assert str(other) in second and str(dispatcher) not in second


def test_the_menu_follows_the_language(client, dispatcher):
    client.force_login(dispatcher)
    assert "Dispatch board" in _menu_links(client)
    client.cookies["django_language"] = "zh-hans"
    assert "派工看板" in _menu_links(client)


def test_the_users_unit_is_loaded_with_the_user(client, dispatcher):
    client.force_login(dispatcher)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("repairs:board"))
    assert not [q for q in queries.captured_queries if 'FROM "servicedesk_orgunit"' in q["sql"]]
