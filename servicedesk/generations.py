"""A token in the shared cache that every change of some data replaces, so that a copy kept under an older
token is never used again: each user's permissions and roles (servicedesk.backends), the webhook subscriptions
kept per process (webhooks.services). The dispatch board's pages (repairs/board_cache.py) follow the same scheme,
one token per unit.

- ``current(*also)``: the token (set when missing, never read as "no change") and, in the same round trip, the
  entries named in ``also``. None when the cache keeps nothing or cannot be reached: the caller reads the
  database, and after a failure this process leaves the cache alone for a while (servicedesk.pauses), so an
  outage costs one request one timeout.
- ``keep(key, value, seconds)``: an entry, to be stored with the token it was read under.
- ``replace()`` / ``forget(key)``: a new token, or one entry dropped, now (for the transaction's own reads) and
  again when the transaction commits (for a copy another process read before the commit and kept meanwhile).
  During a pause nothing is announced: what was kept expires by itself.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import transaction

from .pauses import Pause

log = logging.getLogger(__name__)


class Generation:
    def __init__(self, name: str, key):
        """``key``: the token's cache key, or a function returning it (the tests give each test its own)."""
        self.name = name
        self._key = key
        self.pause = Pause(f"{name} cache")

    @property
    def key(self) -> str:
        return self._key() if callable(self._key) else self._key

    def failed(self, what: str) -> None:
        self.pause.start()
        log.warning(
            "%s cache unavailable (%s); reading the database for %s s",
            self.name,
            what,
            self.pause.seconds,
            exc_info=True,
        )

    def current(self, *also: str) -> tuple[str | None, dict]:
        if self.pause.active():
            return None, {}
        key = self.key
        try:
            found = cache.get_many([key, *also])
            token = found.get(key)
            if token is None:
                cache.add(key, secrets.token_hex(8), None)  # or another process's, set a moment ago
                token = cache.get(key)
        except Exception:
            self.failed("reading")
            return None, {}
        return token, found

    def keep(self, key: str, value, seconds: float) -> None:
        if self.pause.active():
            return
        try:
            cache.set(key, value, seconds)
        except Exception:
            self.failed("keeping")

    def _now_and_on_commit(self, change) -> None:
        def safely():
            if self.pause.active():
                return
            try:
                change()
            except Exception:
                self.failed("announcing a change")

        safely()
        transaction.on_commit(safely)

    def replace(self, **_signal) -> None:
        self._now_and_on_commit(lambda: cache.set(self.key, secrets.token_hex(8), None))

    def forget(self, key: str) -> None:
        self._now_and_on_commit(lambda: cache.delete(key))
