"""The dispatch board's rows, cached until a call of the unit changes.

Every open board asks for its table every 30 seconds, and a unit's dispatchers all look
at the same calls; between two changes to the unit's calls the rows are the same for all
of them. So a page of rows (which calls, in which order, their columns: nothing that
depends on the clock; remaining time is computed when the page is drawn) is kept in the
cache with the unit's *board version* it was read under, a random token that every change
to a call of the unit replaces, when made and after its transaction commits
(``board_changed``). A page is served only while its token is the unit's current one: a
page read before a change is never served after it.

- Head office sees every unit: its pages hang on a second token that every change replaces.
- A token that is missing (evicted, never set) is replaced by a new one, never read as "no
  change": an old page cannot come back.
- Rows show a few columns of other tables (customer name, site address, zone, technician's
  name); editing those does not change the token, so a page lives at most ``PAGE_SECONDS``.
- The cache is Redis in production. If it is unreachable the board reads the database as
  if there were no cache, and a failed token change is logged; pages cached before the
  outage expire after ``PAGE_SECONDS``. After a failure this process leaves the cache alone
  for a while (``cache_pause``): a hung Redis costs one request one socket timeout, not
  every request.
- Open boards are told of each committed change (``servicedesk/push.py``) on the unit's scope
  and head office's, and then fetch their rows again through the board view: what a board
  shows is always what its user's scoped view returns, and nothing of another unit is sent.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

from servicedesk.pauses import Pause
from servicedesk.push import push_publish

log = logging.getLogger(__name__)

PAGE_SECONDS = 60
ALL_UNITS = "all"
NAMESPACE = "board"  # the tests give each test its own
PUSH_TOPIC = "board"
cache_pause = Pause("board cache")


def _failed(what: str) -> None:
    cache_pause.start()
    log.warning("board cache unavailable (%s); reading the database for %s s", what, cache_pause.seconds, exc_info=True)


def _token_key(scope) -> str:
    return f"{NAMESPACE}-version:{scope}"


def board_scope(*, user) -> str | None:
    """Whose calls the user's board shows: a unit's id, ``all`` for head office, None for nobody's."""
    if user.sees_all_units:
        return ALL_UNITS
    return str(user.unit_id) if user.unit_id else None


def board_changed(*, unit_id: int) -> None:
    """A call of ``unit_id`` changed: the unit's cached pages, and head office's, are stale.

    Services call it twice: when they change a call, and again once the change is committed,
    so a page read between the two (before the commit was visible) is not kept either. The
    call outside a transaction (the committed one) also tells the open boards of the unit
    and of head office: told earlier, a board would read its rows before the change shows.
    """
    if not transaction.get_connection().in_atomic_block:
        push_publish(topic=PUSH_TOPIC, scopes=(str(unit_id), ALL_UNITS))
    if cache_pause.active():
        return  # pages kept before the outage expire by themselves
    try:
        cache.set_many({_token_key(unit_id): secrets.token_hex(8), _token_key(ALL_UNITS): secrets.token_hex(8)}, None)
    except Exception:
        _failed(f"change of unit {unit_id}")


def cached_rows(*, scope, params: tuple, compute: Callable[[], tuple]) -> tuple:
    """``compute()``'s result for this scope and these parameters, from the cache while the scope is unchanged."""
    if cache_pause.active():
        return compute()
    token_key = _token_key(scope)
    page_key = f"{NAMESPACE}-page:{scope}:{hashlib.sha256(repr(params).encode()).hexdigest()[:32]}"
    try:
        # One round trip: the scope's token and the page, which is kept with the token it was read under.
        found = cache.get_many([token_key, page_key])
        token = found.get(token_key)
        if token is None:
            cache.add(token_key, secrets.token_hex(8), None)
            token = cache.get(token_key)
    except Exception:
        _failed("reading a page")
        return compute()
    if token is None:  # a cache that keeps nothing: never take a page for "no token"
        return compute()
    kept = found.get(page_key)
    if kept is not None and kept[0] == token:
        return kept[1]
    page = compute()
    try:
        cache.set(page_key, (token, page), PAGE_SECONDS)
    except Exception:
        _failed("keeping a page")
    return page
