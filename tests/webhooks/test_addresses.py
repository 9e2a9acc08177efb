"""The address guard: which addresses a webhook may reach, decided without the database."""

from __future__ import annotations

import ipaddress

import pytest

from astroshield.webhooks.addresses import AddressRefusedError, check_url, refusal, resolve


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
        "fe80::1",
        "::ffff:169.254.169.254",
        "::",
    ],
)
def test_private_link_local_and_special_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_only_when_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is not None
    assert refusal(ipaddress.ip_address(address), allow_loopback=True) is None


def test_http_only_to_loopback_and_only_when_allowed() -> None:
    assert check_url("http://127.0.0.1:8080/x", allow_loopback=True)
    assert check_url("http://localhost:8080/x", allow_loopback=True)
    assert check_url("http://[::1]:8080/x", allow_loopback=True)
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x"):
        with pytest.raises(AddressRefusedError):
            check_url(url, allow_loopback=False)
    with pytest.raises(AddressRefusedError, match="https"):
        check_url("http://hooks.example.org/x", allow_loopback=True)


async def test_resolution_checks_every_address_of_the_name() -> None:
    target = await resolve("http://localhost:8080/hook", allow_loopback=True)
    assert ipaddress.ip_address(target.address).is_loopback
    assert (target.host, target.port, target.https) == ("localhost", 8080, False)
    with pytest.raises(AddressRefusedError, match="loopback"):
        await resolve("https://127.0.0.1/hook", allow_loopback=False)


async def test_a_name_that_does_not_resolve_is_refused_with_the_reason() -> None:
    # Names under .invalid never resolve (RFC 6761).
    with pytest.raises(AddressRefusedError, match="does not resolve"):
        await resolve("https://hooks.example.invalid/x", allow_loopback=False)
