"""The signature of a webhook request, in the form Stripe made familiar.

Header ``Servicedesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``. The
receiver recomputes it with its copy of the secret, compares in constant time, and refuses a timestamp
older than a few minutes (a replayed request); the event id in the body lets it ignore a retried one.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "Servicedesk-Signature"
EVENT_ID_HEADER = "Servicedesk-Event-Id"
TOLERANCE_SECONDS = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret=secret, timestamp=timestamp, body=body)}"


def signature_verify(*, secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its time is within ``tolerance`` of ``now``."""
    parts = {}
    for piece in (header or "").split(","):
        key, _sep, value = piece.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
