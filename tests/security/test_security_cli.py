"""The security CLI: first administrator, JWT key files and their rotation."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from astroshield.app import create_app
from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.security.tokens import load_key_ring
from tests.conftest import settings_for

PASSWORD = "quiet lunar tortoise orbits daily 7"


@pytest.fixture
def cli_env(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def _invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.output


async def test_first_admin_from_the_cli_can_log_in(cli_env: str) -> None:
    code, output = await asyncio.to_thread(
        _invoke,
        "user",
        "create",
        "--email",
        "first.admin@example.org",
        "--organisation",
        "mission-ops",
        "--platform-admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, output
    assert "in mission-ops" in output
    weak_code, weak_output = await asyncio.to_thread(
        _invoke,
        "user",
        "create",
        "--email",
        "weak@example.org",
        "--organisation",
        "mission-ops",
        "--password-stdin",
        stdin="password\n",
    )
    assert weak_code == 1 and "too short" in weak_output.lower()

    app = create_app(settings_for(cli_env))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            login = await client.post(
                "/api/v1/auth/token",
                json={"email": "first.admin@example.org", "password": PASSWORD},
            )
            assert login.status_code == 200, login.text
            scopes = login.json()["scope"].split()
            assert {"users:admin", "organisations:admin", "audit:read"} <= set(scopes)


async def test_jwt_key_file_generate_and_rotate(cli_env: str, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "jwt.json"
    code, output = await asyncio.to_thread(_invoke, "keys", "jwt-generate", str(key_file))
    assert code == 0, output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = load_key_ring(key_file)
    assert first.active.private_key is not None

    app = create_app(settings_for(cli_env, jwt_keys_file=key_file))
    token, _ = app.state.security.tokens.issue(
        "access", subject="s", organisation_id="o", role="viewer"
    )
    await asyncio.sleep(1.1)  # key ids carry the second they were made
    code, output = await asyncio.to_thread(_invoke, "keys", "jwt-rotate", str(key_file))
    assert code == 0, output
    rotated = load_key_ring(key_file)
    assert rotated.active_kid != first.active_kid
    retired = rotated.keys[first.active_kid]
    assert retired.private_key is None and retired.verify_until is not None
    assert retired.verify_until > datetime.now(UTC)
    # A token signed before the rotation still verifies against the rotated file.
    reloaded = create_app(settings_for(cli_env, jwt_keys_file=key_file))
    assert reloaded.state.security.tokens.verify(token, "access").subject == "s"
    document = json.loads(key_file.read_text())
    assert "private_key_pem" not in next(
        k for k in document["keys"] if k["kid"] == first.active_kid
    )


def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.json"
    assert _invoke("keys", "jwt-generate", str(key_file))[0] == 0
    key_file.chmod(0o640)
    with pytest.raises(ValueError, match="chmod 600"):
        load_key_ring(key_file)


async def test_cors_allows_only_configured_origins(database_url: str) -> None:
    app = create_app(settings_for(database_url, cors_origins=["https://console.example.org"]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        allowed = await client.options(
            "/api/v1/spacecraft",
            headers={
                "Origin": "https://console.example.org",
                "Access-Control-Request-Method": "POST",
            },
        )
        assert allowed.headers["access-control-allow-origin"] == "https://console.example.org"
        refused = await client.options(
            "/api/v1/spacecraft",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in refused.headers


def test_prod_refuses_to_start_without_keys(database_url: str) -> None:
    from astroshield.security.context import SecurityConfigError

    with pytest.raises(SecurityConfigError, match="PII keys are required"):
        create_app(settings_for(database_url, profile="prod", secret_key="s" * 40))
    from astroshield.security.keys import encode_key, generate_key

    pii = {
        "pii_keys": f"k1:{encode_key(generate_key())}",
        "pii_active_key": "k1",
        "pii_index_key": encode_key(generate_key()),
    }
    with pytest.raises(SecurityConfigError, match="JWT_KEYS_FILE"):
        create_app(settings_for(database_url, profile="prod", secret_key="s" * 40, **pii))
