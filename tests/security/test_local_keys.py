"""No shared keys out of the box: a dev/test install without configured keys signs and
encrypts with random keys kept in a private local file, never with keys derived from the
placeholder secret published in this repository."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI
from typer.testing import CliRunner

from astroshield.app import create_app
from astroshield.cli import app as cli
from astroshield.config import DEV_SECRET, get_settings
from astroshield.security import pii
from astroshield.security.keys import KeyRing as PiiKeyRing
from astroshield.security.local_keys import LocalKeyError
from astroshield.security.scopes import scopes_for
from astroshield.security.tokens import KeyRing as JwtKeyRing
from astroshield.security.tokens import SigningKey, TokenService
from astroshield.users.service import unseal
from tests.conftest import LOCAL_KEYS_FILE, REPO_ROOT, Factory, settings_for


def published_derivation(purpose: str) -> bytes:
    """How keys were made before: HKDF of the placeholder secret everyone can read."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"astroshield-dev", info=purpose.encode()
    ).derive(DEV_SECRET.encode())


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def test_the_test_run_keeps_its_keys_outside_the_repository() -> None:
    assert not LOCAL_KEYS_FILE.resolve().is_relative_to(REPO_ROOT)


async def test_first_start_creates_a_private_file_and_later_starts_reuse_it(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "state" / "keys.json"
    settings = settings_for(database_url, local_keys_file=key_file)
    capsys.readouterr()
    first = create_app(settings)
    announced = [line for line in capsys.readouterr().out.splitlines() if str(key_file) in line]
    assert len(announced) == 1 and "local_keys_created" in announced[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    stored = json.loads(key_file.read_text())["keys"]
    assert {"jwt-signing", "pii-kek", "pii-index", "csrf"} <= set(stored)
    assert len(set(stored.values())) == len(stored)  # one independent key per purpose

    second = create_app(settings)
    assert str(key_file) not in capsys.readouterr().out
    assert json.loads(key_file.read_text())["keys"] == stored

    token, _ = first.state.security.tokens.issue(
        "access", subject="s", organisation_id="o", role="viewer"
    )
    assert second.state.security.tokens.verify(token, "access").subject == "s"
    sealed = pii.encrypt("ada@example.org", aad=b"t", keyring=first.state.security.pii_keys)
    assert pii.decrypt(sealed, aad=b"t", keyring=second.state.security.pii_keys) == (
        "ada@example.org"
    )
    assert second.state.security.csrf_secret == first.state.security.csrf_secret


async def test_a_token_signed_with_the_published_placeholder_key_is_refused(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(role="admin", platform_admin=True)
    claims: dict[str, Any] = {
        "subject": str(admin.id),
        "organisation_id": str(admin.organisation_id),
        "role": "admin",
        "scopes": sorted(scopes_for("admin", platform_admin=True)),
    }
    genuine, _ = app.state.security.tokens.issue("access", **claims)
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {genuine}"})
    assert me.status_code == 200, me.text

    private = Ed25519PrivateKey.from_private_bytes(published_derivation("jwt-signing"))
    settings = app.state.settings
    # Under the key id the old install used, and under the id the app signs with now (so
    # that only the signature can refuse it).
    for kid in ("dev", app.state.security.tokens.ring.active_kid):
        forger = TokenService(
            ring=JwtKeyRing({kid: SigningKey(kid, private.public_key(), private)}, kid),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl=app.state.security.tokens.access_ttl,
            refresh_ttl=app.state.security.tokens.refresh_ttl,
        )
        forged, _ = forger.issue("access", **claims)
        for path in ("/api/v1/auth/me", "/api/v1/organisations"):
            response = await client.get(path, headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == 401, (kid, path, response.text)


async def test_pii_under_generated_keys_cannot_be_read_with_the_derived_key(
    app: FastAPI, factory: Factory
) -> None:
    ring = app.state.security.pii_keys
    user = await factory.user(email="grace@example.org")
    assert unseal(user, "email", ring) == "grace@example.org"
    assert user.email_ciphertext is not None
    derived = PiiKeyRing({ring.active: published_derivation("pii-kek")}, ring.active)
    with pytest.raises(pii.PiiDecryptionError):
        unseal(user, "email", derived)
    # Nor can the blind index be recomputed to confirm a guessed address.
    guessed = pii.blind_index("grace@example.org", key=published_derivation("pii-index"))
    assert guessed != user.email_index


def test_a_key_file_others_can_read_is_refused(database_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    create_app(settings_for(database_url, local_keys_file=key_file))
    key_file.chmod(0o644)
    with pytest.raises(LocalKeyError, match="chmod 600"):
        create_app(settings_for(database_url, local_keys_file=key_file))


_CONCURRENT_START = """
import sys
from pathlib import Path
from types import SimpleNamespace
from astroshield.security.local_keys import local_secret
settings = SimpleNamespace(local_keys_file=Path(sys.argv[1]))
print(local_secret(settings, "jwt-signing").hex(), local_secret(settings, sys.argv[2]).hex())
"""


@pytest.mark.slow
def test_processes_starting_at_once_agree_on_the_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_START, str(key_file), f"audit-{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for n in range(6)
    ]
    # The last line: the first start also logs that it created the file.
    outputs = [start.communicate(timeout=60)[0].splitlines()[-1].split() for start in starts]
    assert all(start.returncode == 0 for start in starts)
    assert len({signing for signing, _ in outputs}) == 1
    stored = json.loads(key_file.read_text())["keys"]
    # Every process's own purpose was kept: no writer lost another's addition.
    assert {f"audit-{n}" for n in range(6)} <= set(stored)
    for n, (_, own) in enumerate(outputs):
        assert stored[f"audit-{n}"]
        assert len(bytes.fromhex(own)) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.fixture
def serve_env(
    scratch_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[dict[str, Any]]]:
    """``serve`` up to the point where it would start uvicorn; the runs it would start are
    recorded instead."""
    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    get_settings.cache_clear()
    yield started
    get_settings.cache_clear()


ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the address under test, never bound here


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *args])
    return result.exit_code, result.output


async def test_serve_refuses_a_public_address_with_generated_keys(
    serve_env: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for host in (ALL_INTERFACES, "::", "192.0.2.10", "api.example.org"):
        code, output = await asyncio.to_thread(_serve, "--host", host)
        assert code == 2, output
        assert len(output.strip().splitlines()) == 1
        assert "--allow-generated-keys" in output and "jwt-signing" in output
    assert serve_env == []

    for args in (("--host", "127.0.0.1"), ("--host", "::1"), ("--host", "localhost")):
        code, output = await asyncio.to_thread(_serve, *args)
        assert code == 0, output
    code, output = await asyncio.to_thread(
        _serve, "--host", ALL_INTERFACES, "--allow-generated-keys"
    )
    assert code == 0, output
    monkeypatch.setenv("ASTROSHIELD_ALLOW_GENERATED_KEYS", "true")
    get_settings.cache_clear()
    code, output = await asyncio.to_thread(_serve, "--host", ALL_INTERFACES)
    assert code == 0, output
    assert [run["host"] for run in serve_env] == [
        "127.0.0.1",
        "::1",
        "localhost",
        ALL_INTERFACES,
        ALL_INTERFACES,
    ]
