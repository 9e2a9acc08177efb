"""How /metrics is exposed in prod: never open to anyone who reaches the API. It needs its
token, or lives on an address of its own, or is off; the start-up log says which."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import settings_for

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.security.context import SecurityConfigError
from astroshield.security.keys import encode_key, generate_key
from astroshield.security.tokens import KeyRing, write_key_ring

TOKEN = "prod-scrape-token-0123456789abcdef"


def prod_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """prod with real key files, as an operator would configure it."""
    jwt_file = tmp_path / "jwt.json"
    if not jwt_file.exists():
        write_key_ring(KeyRing.generate("k1"), jwt_file)
    pii_file = tmp_path / "pii.json"
    if not pii_file.exists():
        pii_file.touch(mode=0o600)
        pii_file.write_text(f'{{"active": "k1", "keys": {{"k1": "{encode_key(generate_key())}"}}}}')
    audit_file = tmp_path / "audit.json"
    if not audit_file.exists():
        audit_file.touch(mode=0o600)
        audit_file.write_text(
            f'{{"active": "a1", "keys": {{"a1": "{encode_key(generate_key())}"}}}}'
        )
    values: dict[str, Any] = {
        "profile": "prod",
        "audit_key_file": audit_file,
        "secret_key": "a-real-secret-that-is-long-enough-0123456789",
        "jwt_keys_file": jwt_file,
        "pii_keys_file": pii_file,
        "pii_index_key": encode_key(generate_key()),
        "log_level": "info",
    }
    values.update(overrides)
    return settings_for(database_url, **values)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _exposure_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if "metrics_exposure" in line]
    return line


def test_prod_refuses_to_start_with_an_open_metrics_endpoint(
    database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(SecurityConfigError, match="ASTROSHIELD_METRICS_TOKEN"):
        create_app(prod_settings(database_url, tmp_path))
    # Each of the three ways out is accepted.
    create_app(prod_settings(database_url, tmp_path, metrics_token=TOKEN))
    create_app(prod_settings(database_url, tmp_path, metrics_address="127.0.0.1:9464"))
    create_app(prod_settings(database_url, tmp_path, metrics_enabled=False))


async def test_prod_metrics_need_the_token_and_the_start_log_says_so(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    application = create_app(prod_settings(database_url, tmp_path, metrics_token=TOKEN))
    capsys.readouterr()
    async with application.router.lifespan_context(application):
        assert "bearer token required" in _exposure_line(capsys.readouterr().out)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            assert (await client.get("/metrics")).status_code == 401
            assert (await client.get("/metrics?token=" + TOKEN)).status_code == 401
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert scraped.status_code == 200
            assert "astroshield_http_requests_total" in scraped.text


async def test_prod_metrics_on_a_separate_address_only(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    address = f"127.0.0.1:{port}"
    application = create_app(
        prod_settings(database_url, tmp_path, metrics_address=address, metrics_token=TOKEN)
    )
    capsys.readouterr()
    async with application.router.lifespan_context(application):
        assert f"only on {address}" in _exposure_line(capsys.readouterr().out)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            # Not on the API port at all, token or not.
            response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 404
        url = f"http://{address}/metrics"
        status, _ = await asyncio.to_thread(_get, url)
        assert status == 401
        status, body = await asyncio.to_thread(_get, url, Authorization=f"Bearer {TOKEN}")
        assert status == 200 and "astroshield_http_requests_total" in body
        status, _ = await asyncio.to_thread(_get, f"http://{address}/other")
        assert status == 404
    # Closed with the service.
    with pytest.raises(urllib.error.URLError, match="refused"):
        await asyncio.to_thread(_get, url)


async def test_open_metrics_are_announced_as_such_outside_prod(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    application = create_app(settings_for(database_url))
    capsys.readouterr()
    async with application.router.lifespan_context(application):
        line = _exposure_line(capsys.readouterr().out)
    assert "open to anyone" in line and "warning" in line
