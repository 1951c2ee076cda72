"""A request counter in Django's cache (locmem in tests, Redis in production).

The window opens with the first request of a key and closes ``window_seconds``
later (the counter's expiry; incrementing keeps it), so it never resets
halfway through a burst the way a clock-aligned window would.

Counting fails open: if the cache is down the public form keeps working,
because the token itself is what protects a card.
"""

import hashlib
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def allow(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one request for ``key``; False once it made more than ``limit`` in the current window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}"
    try:
        if cache.add(cache_key, 1, timeout=window_seconds):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.set(cache_key, 1, timeout=window_seconds)
                count = 1
    except Exception:  # the cache is down: do not turn customers away
        logger.warning("rate limit cache unavailable for %s", scope, exc_info=True)
        return True
    return count <= limit
