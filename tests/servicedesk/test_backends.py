"""The authentication backend: Django's rules, fewer queries."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from servicedesk.backends import UnitModelBackend
from servicedesk.roles import Role
from tests.factories import UserFactory


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_permissions_from_groups_and_from_the_user_are_the_same_as_djangos(db, unit):
    user = UserFactory(unit=unit, roles=[Role.DISPATCHER, Role.SUPERVISOR])
    user.user_permissions.add(Permission.objects.get(codename="view_appraisal"))
    ours = UnitModelBackend().get_all_permissions(_fresh(user))
    assert ours == ModelBackend().get_all_permissions(_fresh(user))
    assert "complaints.view_appraisal" in ours and "repairs.log_call" in ours


def test_permissions_are_read_in_one_query_and_kept_for_the_request(db, unit, django_assert_num_queries):
    user = _fresh(UserFactory(unit=unit, roles=[Role.DISPATCHER]))
    backend = UnitModelBackend()
    with django_assert_num_queries(1):
        backend.get_all_permissions(user)
        assert backend.has_perm(user, "repairs.log_call")
        assert not backend.has_perm(user, "complaints.view_appraisal")


def test_a_superuser_has_every_permission_and_an_inactive_user_none(db, unit):
    boss = _fresh(UserFactory(unit=unit, is_superuser=True))
    assert len(UnitModelBackend().get_all_permissions(boss)) == Permission.objects.count()
    gone = _fresh(UserFactory(unit=unit, roles=[Role.DISPATCHER], is_active=False))
    assert UnitModelBackend().get_all_permissions(gone) == set()


def test_the_user_comes_with_the_unit_and_a_disabled_user_is_not_loaded(db, unit, django_assert_num_queries):
    user = UserFactory(unit=unit, roles=[Role.DISPATCHER])
    with django_assert_num_queries(1):
        loaded = UnitModelBackend().get_user(user.pk)
        assert loaded.unit.name == unit.name
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert UnitModelBackend().get_user(user.pk) is None


def test_the_permissions_and_roles_are_read_once_then_kept_for_every_request(db, unit, django_assert_num_queries):
    """A request's user costs one query (with its unit); the permissions and roles are read once and kept."""
    user = UserFactory(unit=unit, roles=[Role.DISPATCHER, Role.SUPERVISOR])
    user.user_permissions.add(Permission.objects.get(codename="view_appraisal"))
    djangos = ModelBackend().get_all_permissions(_fresh(user))
    with django_assert_num_queries(2):  # the first request: the user, then its permissions and roles
        first = UnitModelBackend().get_user(user.pk)
        assert first.get_all_permissions() == djangos
    with django_assert_num_queries(1):  # every later one, in any process: the user alone
        loaded = UnitModelBackend().get_user(user.pk)
        assert loaded.get_all_permissions() == djangos
        assert loaded.has_role(Role.SUPERVISOR) and loaded.has_role(Role.DISPATCHER)
        assert not loaded.has_role(Role.TECHNICIAN)
        assert loaded.has_perm("complaints.view_appraisal") and loaded.has_perm("repairs.log_call")
    bare = UnitModelBackend().get_user(UserFactory(unit=unit).pk)
    assert bare.get_all_permissions() == set() and bare.role_codes == frozenset()
    boss = UnitModelBackend().get_user(UserFactory(unit=unit, is_superuser=True).pk)
    assert len(boss.get_all_permissions()) == Permission.objects.count()


def _perms(user):
    return UnitModelBackend().get_user(user.pk).get_all_permissions()


def test_what_changes_a_users_permissions_is_seen_on_the_next_request(db, unit):
    user = UserFactory(unit=unit, roles=[Role.DISPATCHER])
    assert "complaints.view_appraisal" not in _perms(user)
    appraisal = Permission.objects.get(codename="view_appraisal")
    user.user_permissions.add(appraisal)  # the user's own permission
    assert "complaints.view_appraisal" in _perms(user)
    user.user_permissions.remove(appraisal)
    assert "complaints.view_appraisal" not in _perms(user)
    supervisor = Group.objects.get(name=str(Role.SUPERVISOR))
    user.groups.add(supervisor)  # a role given
    loaded = UnitModelBackend().get_user(user.pk)
    assert loaded.has_role(Role.SUPERVISOR)
    supervisor.user_set.remove(user)  # a role taken away, from the group's side
    assert not UnitModelBackend().get_user(user.pk).has_role(Role.SUPERVISOR)
    dispatcher = Group.objects.get(name=str(Role.DISPATCHER))
    log_call = Permission.objects.get(codename="log_call")
    dispatcher.permissions.remove(log_call)  # a role's permission taken away, from the group's side
    assert "repairs.log_call" not in _perms(user)
    log_call.group_set.add(dispatcher)  # and given back, from the permission's side
    assert "repairs.log_call" in _perms(user)
    get_user_model().objects.filter(pk=user.pk).update(is_superuser=True)  # an update() sends no signal...
    user.refresh_from_db()
    user.save()  # ...a save does
    assert len(_perms(user)) == Permission.objects.count()
