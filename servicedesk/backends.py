"""Authentication backend: Django's ModelBackend, with the lookups every page makes done in fewer queries.

Every page scopes by the user's unit and checks permissions. The unit comes with the user (one query). The
user's own and group permissions and roles (``User.role_codes``) are read in one query and kept in the shared
cache (Redis in production, so every web process and the worker see one copy) for ``PERMISSIONS_SECONDS``
(a minute): a page then reads them in one cache round trip instead of a query PostgreSQL plans each time.

What changes them invalidates them at once, in every process (``servicedesk.apps`` connects the signals): a user's
groups or own permissions and a group's permissions (from either side), a group, permission or content type saved or
deleted, a migration, bump one generation that every kept entry carries; saving or deleting a user (made inactive,
made superuser, a new row reusing an old id) drops that user's entry, and an entry also carries ``is_superuser``
(read with the user on every request). The generation (servicedesk.generations) changes when the change is made and
again when its transaction commits. A change written around the ORM (raw SQL) is seen within
``PERMISSIONS_SECONDS``. Without a shared cache (the embedded demo, one web process) the cache is the process's own
memory and the expiry bounds what another process may still hold. With the cache unreachable, the database answers
(and the process leaves the cache alone for a while, as the board does).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value

from .generations import Generation

# Marks the user's group (role) names in the permissions query's result: no app label is empty.
_ROLE = ""
PERMISSIONS_SECONDS = 60  # also the longest a change made while the cache was unreachable can go unseen
NAMESPACE = "auth-perms"  # the tests give each test its own (the cache outlives a test's rolled-back rows)


def _generation_key() -> str:
    return f"{NAMESPACE}:generation"


def _user_key(user_id) -> str:
    return f"{NAMESPACE}:user:{user_id}"


generation = Generation("permissions", _generation_key)
cache_pause = generation.pause


def permissions_changed(**_kwargs) -> None:
    """Every kept entry is stale (a group's permissions or name, a permission, a migration…): a new generation."""
    generation.replace()


def membership_changed(*, action: str, **_kwargs) -> None:
    """A user's groups or own permissions, or a group's permissions, changed (either side of the relation)."""
    if action in ("post_add", "post_remove", "post_clear"):
        generation.replace()


def user_changed(*, instance, **_kwargs) -> None:
    """A user saved (made inactive or superuser) or deleted, or a new row that may reuse an old id: its entry goes."""
    generation.forget(_user_key(instance.pk))


def _read(user_obj) -> tuple[frozenset, frozenset]:
    """(permissions, role names) of the user, from the database: one UNION query."""
    columns = ("content_type__app_label", "codename")
    roles = Group.objects.filter(user=user_obj).values_list(Value(_ROLE, output_field=CharField()), "name")
    if user_obj.is_superuser:
        perms = Permission.objects.values_list(*columns).order_by().union(roles.order_by(), all=True)
    else:  # a UNION, not an OR across both joins: each part uses its user_id index
        own = Permission.objects.filter(user=user_obj).values_list(*columns).order_by()
        perms = own.union(
            Permission.objects.filter(group__user=user_obj).values_list(*columns).order_by(), roles.order_by()
        )
    found = list(perms.order_by())
    return (
        frozenset(f"{app_label}.{codename}" for app_label, codename in found if app_label != _ROLE),
        frozenset(name for app_label, name in found if app_label == _ROLE),
    )


def _kept(user_obj) -> tuple[frozenset, frozenset]:
    if user_obj.pk is None:  # an unsaved user has no entry of its own
        return _read(user_obj)
    user_key = _user_key(user_obj.pk)
    token, found = generation.current(user_key)
    if token is None:  # the cache keeps nothing or is unreachable
        return _read(user_obj)
    entry = found.get(user_key)
    if entry is not None and entry[:2] == (token, user_obj.is_superuser):
        return entry[2], entry[3]
    # The generation was read before the database: a change committed meanwhile replaces it, and this entry,
    # written under the old one, is never used.
    perms, roles = _read(user_obj)
    generation.keep(user_key, (token, user_obj.is_superuser, perms, roles), PERMISSIONS_SECONDS)
    return perms, roles


class UnitModelBackend(ModelBackend):
    """Django's ModelBackend: the unit with the user, the permissions and roles kept (module docstring)."""

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("unit").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            perms, roles = _kept(user_obj)
            user_obj._perm_cache = set(perms)
            if "role_codes" not in user_obj.__dict__:  # the cached_property, filled from the same entry
                user_obj.role_codes = roles
        return user_obj._perm_cache
