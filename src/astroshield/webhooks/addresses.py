"""Where a webhook may point (server-side request forgery guard).

Two steps. ``check_url`` is the syntax, run when a subscription is written (no network
I/O: a request that writes never waits for DNS). ``resolve`` runs at delivery time,
outside any database transaction: every address the host resolves to must be public;
the delivery then connects to the address that was checked (no second lookup an attacker's
DNS could answer differently).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
MAX_URL_LENGTH = 2048


class AddressRefusedError(ValueError):
    """The URL or what its host resolves to is not allowed; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked endpoint: the URL, the host name and the address to connect to."""

    url: str
    host: str
    address: str
    port: int
    https: bool


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str, address: IPAddress | None) -> bool:
    if address is not None:
        return address.is_loopback
    return host.lower() in LOOPBACK_NAMES


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` may not be called, or None. Private, link-local (the cloud metadata
    service at 169.254.169.254 included), reserved, multicast and unspecified addresses
    are refused; loopback only when allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address (cloud metadata services live there)"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast address"
    if address.is_private or not address.is_global:
        return f"{address} is a private address"
    return None


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefusedError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) > 0x7E for ch in url):
        raise AddressRefusedError("must be printable ASCII without spaces (punycode for IDNs)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise AddressRefusedError(f"is not a valid URL ({exc})") from None
    return parts


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The URL if a subscription may use it (syntax and literal addresses only)."""
    parts = _split(url)
    if parts.scheme not in ("https", "http"):
        raise AddressRefusedError("must be an https:// URL")
    host = parts.hostname or ""
    if not host:
        raise AddressRefusedError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise AddressRefusedError("must not carry credentials (the signature authenticates)")
    if parts.fragment:
        raise AddressRefusedError("must not have a #fragment")
    literal = _literal(host)
    if parts.scheme == "http" and not (allow_loopback and _is_loopback(host, literal)):
        raise AddressRefusedError("must be an https:// URL (http only to loopback when allowed)")
    if literal is not None and (reason := refusal(literal, allow_loopback=allow_loopback)):
        raise AddressRefusedError(f"is refused: {reason}")
    if literal is None and host.lower() in LOOPBACK_NAMES and not allow_loopback:
        raise AddressRefusedError(f"is refused: {host} is a loopback name")
    return url


async def resolve(url: str, *, allow_loopback: bool) -> Target:
    """The address to deliver to; AddressRefusedError when the URL or any address its host
    resolves to is not allowed (one bad answer is enough: DNS may rotate them)."""
    check_url(url, allow_loopback=allow_loopback)
    parts = _split(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefusedError(f"{host} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise AddressRefusedError(f"{host} does not resolve")
    for address in addresses:
        if reason := refusal(address, allow_loopback=allow_loopback):
            raise AddressRefusedError(f"{host} resolves to a refused address: {reason}")
    return Target(url, host, str(addresses[0]), port, https)
