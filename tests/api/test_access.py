"""The API user's permissions and roles come from the short-lived cache every request uses (servicedesk.backends),
and every change that decides them is seen by the very next request: roles given and taken either way round, a
user's own permissions, a group's permissions, a group renamed, a user made superuser, the cache emptied. The
token is still looked up on every request."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.services import api_token_revoke
from servicedesk import backends, generations
from servicedesk.models import User
from servicedesk.roles import Role
from tests.factories import UserFactory

CALLS = "/api/v1/calls/"


def _status(api) -> int:
    return api.get(CALLS).status_code


def _queries(api) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(CALLS).status_code == 200
    return len(ctx.captured_queries)


def test_a_repeated_request_does_not_read_the_permissions_again(api_for, dispatcher):
    api = api_for(dispatcher)
    api.get(CALLS)  # the first request reads them (and the token's "last used" is written)
    assert _queries(api) == 2  # the token, the page
    cache.delete(backends._generation_key())  # emptied cache (a Redis restart): read again, once
    assert _queries(api) == 3
    assert _queries(api) == 2


def test_the_token_is_still_checked_on_every_request(api_for, dispatcher):
    api = api_for(dispatcher)
    assert _status(api) == 200
    token = dispatcher.api_tokens.get()
    api_token_revoke(user=dispatcher, token_id=token.pk)
    assert _status(api) == 401
    User.objects.filter(pk=dispatcher.pk).update(is_active=False)
    assert _status(api) == 401


def test_a_role_taken_away_is_seen_at_the_next_request(api_for, dispatcher):
    api = api_for(dispatcher)
    assert _status(api) == 200 and _status(api) == 200
    dispatcher.groups.remove(Group.objects.get(name=Role.DISPATCHER))
    assert _status(api) == 403
    dispatcher.groups.add(Group.objects.get(name=Role.DISPATCHER))
    assert _status(api) == 200


def test_a_member_removed_from_the_group_side_is_seen_at_the_next_request(api_for, dispatcher):
    api = api_for(dispatcher)
    assert _status(api) == 200
    Group.objects.get(name=Role.DISPATCHER).user_set.clear()
    assert _status(api) == 403


def test_a_groups_permission_withdrawn_is_seen_by_its_members(api_for, dispatcher):
    api = api_for(dispatcher)
    assert _status(api) == 200
    view_calls = Permission.objects.get(content_type__app_label="repairs", codename="view_repaircall")
    group = Group.objects.get(name=Role.DISPATCHER)
    group.permissions.remove(view_calls)
    assert _status(api) == 403
    group.permissions.add(view_calls)
    assert _status(api) == 200


def test_a_users_own_permission_is_seen_at_the_next_request(api_for, unit):
    nobody = UserFactory(username="no-role", unit=unit)
    api = api_for(nobody)
    assert _status(api) == 403
    nobody.user_permissions.add(Permission.objects.get(content_type__app_label="repairs", codename="view_repaircall"))
    assert _status(api) == 200
    nobody.user_permissions.clear()
    assert _status(api) == 403


def test_a_user_made_superuser_is_seen_at_the_next_request(api_for, unit):
    nobody = UserFactory(username="no-role", unit=unit)
    api = api_for(nobody)
    assert _status(api) == 403
    User.objects.filter(pk=nobody.pk).update(is_superuser=True)  # no signal: the entry carries the flag
    assert _status(api) == 200


def test_the_roles_follow_a_group_renamed(dispatcher):
    user = User.objects.get(pk=dispatcher.pk)
    user.get_all_permissions()
    assert Role.DISPATCHER in user.role_codes
    group = Group.objects.get(name=Role.DISPATCHER)
    group.name = "renamed"
    group.save()
    user = User.objects.get(pk=dispatcher.pk)
    user.get_all_permissions()
    assert user.role_codes == frozenset({"renamed"})


def test_an_entry_is_one_users_only(api_for, dispatcher, technician):
    desk, tech = api_for(dispatcher), api_for(technician)
    assert _status(desk) == 200
    assert tech.post(CALLS, {}).status_code == 403  # a technician may not log calls, whatever the desk may
    assert desk.post(CALLS, {}).status_code == 400  # the desk may: its (empty) form is refused instead


@pytest.mark.parametrize("action", ["add", "set"])
def test_a_role_given_is_seen_at_the_next_request(api_for, unit, action):
    nobody = UserFactory(username="no-role", unit=unit)
    api = api_for(nobody)
    assert _status(api) == 403
    group = Group.objects.get(name=Role.DISPATCHER)
    getattr(nobody.groups, action)([group] if action == "set" else group)
    assert _status(api) == 200


def test_the_generation_is_replaced_again_when_the_change_commits(django_capture_on_commit_callbacks, dispatcher):
    with django_capture_on_commit_callbacks(execute=True):
        dispatcher.groups.clear()
        # A request here still reads the old roles from the database and keeps them under this generation.
        during = cache.get(backends._generation_key())
    assert cache.get(backends._generation_key()) not in (None, during)


def test_a_saved_user_row_drops_its_entry(db, unit):
    """A user made inactive or superuser, or a new row reusing an id an old entry was written for (SQLite)."""
    user = UserFactory(username="newcomer", unit=unit)
    User.objects.get(pk=user.pk).get_all_permissions()
    assert cache.get(backends._user_key(user.pk)) is not None
    user.save()
    assert cache.get(backends._user_key(user.pk)) is None


class _Unreachable:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Redis is down")

        return fail


def test_an_unreachable_cache_reads_the_database_and_lets_roles_change(api_for, dispatcher, monkeypatch):
    api = api_for(dispatcher)
    assert _status(api) == 200
    monkeypatch.setattr(generations, "cache", _Unreachable())
    assert _queries(api) == 3  # the token, the permissions from the database, the page
    dispatcher.groups.remove(Group.objects.get(name=Role.DISPATCHER))  # the failed generation change is logged
    assert _status(api) == 403
