"""The address of the client a request comes from, as every rate limit and the login lock count it.

Behind the documented nginx every request's peer (``REMOTE_ADDR``) is the proxy. nginx appends the
peer it saw to ``X-Forwarded-For`` (``$proxy_add_x_forwarded_for``), so the header is read from the
right: hops that are configured proxies (``settings.TRUSTED_PROXIES``, from ``DJANGO_TRUSTED_PROXIES``)
are skipped, and the first address that is not one is the client. Whatever a client writes into the
header itself stands further left and is never reached. A peer that is not a configured proxy is the
client, whatever it sends.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's address: the peer, or what the trusted proxies in front of us say it was."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    address = peer
    if not networks or not _is_trusted(_parse(peer), networks):
        return address
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        parsed = _parse(hop)
        if parsed is None:
            # A hop that is not an address: stop at the last one a trusted proxy vouched for.
            return address
        address = str(parsed)
        if not _is_trusted(parsed, networks):
            return address
    return address
