"""An API user's permissions and roles, kept briefly in the shared cache (Redis) between requests.

Another system calls the API many times a minute with the same token; without this each request reads the
user's permissions and roles again (one UNION query, servicedesk.backends.UnitModelBackend: about 2 ms, a
third of a list's queries). The token's own look-up stays one query on every request, so a revoked or
expired token, or a deactivated user, is refused at once; what is cached is only what the user may do.

Invalidation is by generation: every change that can alter anyone's permissions or roles (group membership,
a user's own permissions, a group's permissions, a group renamed or deleted, a permission or content type
changed, a user row created or deleted, a migration) replaces the generation, and an entry written under an
older generation is never used. The generation is replaced when the change is made and again when its
transaction commits, so an entry read from the database between the two is dropped too. Each entry also
carries the user's ``is_superuser`` (read with the token on every request) and lives at most ``TTL``
seconds: a change written around the ORM (raw SQL, a bulk insert of group rows) is seen within that time.

If the cache is unreachable the request reads the database as without it, and a failed generation change is
logged (a migrate or a role change in the admin still succeeds); entries kept before the outage expire after
``TTL``. After a failure this process leaves the cache alone for a while (``cache_pause``), as the dispatch
board does (repairs/board_cache.py).
"""

import logging
import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from servicedesk.pauses import Pause

log = logging.getLogger(__name__)

GENERATION_KEY = "api:access:generation"
TTL = 60  # seconds
cache_pause = Pause("API permissions cache")


def _failed(what: str) -> None:
    cache_pause.start()
    log.warning(
        "API permissions cache unavailable (%s); reading the database for %s s",
        what,
        cache_pause.seconds,
        exc_info=True,
    )


def _user_key(user_id: int) -> str:
    return f"api:access:user:{user_id}"


def user_access_load(user) -> None:
    """Give ``user`` its permissions and roles from the cache, or read them once and keep them.

    Fills what the authentication backend fills on its first ``has_perm`` (``_perm_cache`` and
    ``role_codes``), so the rest of the request asks the database nothing more about them.
    """
    if not (user.is_active and user.pk) or cache_pause.active():
        return  # the backend reads them on the first has_perm
    key = _user_key(user.pk)
    try:
        found = cache.get_many([GENERATION_KEY, key])
        generation, entry = found.get(GENERATION_KEY), found.get(key)
        if generation is None:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            generation = cache.get(GENERATION_KEY)
    except Exception:
        _failed("reading")
        return
    if generation is None:  # a cache that keeps nothing: never take an entry for "no change"
        return
    if entry is not None and entry[0] == generation and entry[1] == user.is_superuser:
        user._perm_cache = set(entry[2])
        user.role_codes = entry[3]
        return
    # The generation was read before the database: a change committed meanwhile replaces it, and this entry,
    # written under the old one, is never used.
    permissions = frozenset(user.get_all_permissions())
    try:
        cache.set(key, (generation, user.is_superuser, permissions, frozenset(user.role_codes)), TTL)
    except Exception:
        _failed("keeping")


def access_changed(**kwargs) -> None:
    """Something that decides permissions or roles changed: no cached entry is used any more."""
    _new_generation()
    transaction.on_commit(_new_generation)


def _new_generation() -> None:
    if cache_pause.active():
        return  # entries kept before the outage expire by themselves
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        _failed("changing the generation")


def _membership_changed(action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        access_changed()


def _user_row_changed(created: bool = False, **kwargs) -> None:
    # A new user row may reuse an id an old entry was written for (SQLite reuses ids; a re-seeded database).
    if created:
        access_changed()


def connect_signals() -> None:
    User = get_user_model()
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_membership_changed, sender=through, dispatch_uid=f"api.access.{through._meta.label}")
    for model in (Group, Permission, ContentType):
        post_save.connect(access_changed, sender=model, dispatch_uid=f"api.access.save.{model._meta.label}")
        post_delete.connect(access_changed, sender=model, dispatch_uid=f"api.access.delete.{model._meta.label}")
    post_save.connect(_user_row_changed, sender=User, dispatch_uid="api.access.user_created")
    post_delete.connect(access_changed, sender=User, dispatch_uid="api.access.user_deleted")
    post_migrate.connect(access_changed, dispatch_uid="api.access.migrate")
