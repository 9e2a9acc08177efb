"""The client's address: the TCP peer, or what a trusted proxy says it forwarded."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def raw_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case, as ASGI servers give names), read
    from the raw list: building a ``Headers`` object costs more on a hot path."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope: Scope, trusted_proxies: tuple[Network, ...]) -> str:
    """``X-Forwarded-For`` is believed only when the peer is a configured proxy, and then
    read from the right: the first hop that is not one of our proxies is the client.
    Anyone else could write any address into that header."""
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    if not trusted_proxies or not _trusted(address, trusted_proxies):
        return address
    forwarded = Headers(scope=scope).get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # garbage in the header: fall back to the proxy itself
    return address
