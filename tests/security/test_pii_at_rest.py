"""PII at rest: no plaintext in the database files or dumps; ciphertexts are bound to
their row and column; key rotation leaves every row readable with the new key only."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.invitations.models import Invitation
from astroshield.invitations.service import unseal_email
from astroshield.security import pii
from astroshield.security.keys import KeyRing, encode_key, generate_key
from astroshield.users.models import User
from astroshield.users.service import unseal
from tests.conftest import Factory

SECRET_EMAIL = "valentina.tereshkova.pii-probe@example.org"
SECRET_NAME = "Valentina Probe-Tereshkova"
SECRET_PHONE = "+7 495 555 0137"


async def _create_user(client: httpx.AsyncClient, factory: Factory) -> str:
    admin = await factory.login(role="admin", platform_admin=True)
    response = await client.post(
        "/api/v1/users",
        json={
            "email": SECRET_EMAIL,
            "password": "an unguessable pass phrase 9",
            "name": SECRET_NAME,
            "phone": SECRET_PHONE,
            "role": "operator",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == SECRET_EMAIL and body["name"] == SECRET_NAME
    return str(body["id"])


def _needles() -> list[bytes]:
    needles = []
    for value in (SECRET_EMAIL, SECRET_NAME, SECRET_PHONE, "tereshkova"):
        needles += [value.encode(), value.encode("utf-16-le"), value.lower().encode()]
    return needles


async def test_plaintext_is_nowhere_in_the_database(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    await _create_user(client, factory)
    if database_url.startswith("sqlite"):
        async with app.state.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(make_url(database_url).database or "")
        blobs = [p.read_bytes() for p in path.parent.glob(path.name + "*")]
    else:
        pg_dump = shutil.which("pg_dump")
        assert pg_dump is not None, "pg_dump is needed to check the PostgreSQL dump"
        url = make_url(database_url)
        dump = await asyncio.to_thread(
            subprocess.run,
            [
                pg_dump,
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "--data-only",
                url.database or "",
            ],
            capture_output=True,
            check=True,
        )
        blobs = [dump.stdout]
        assert b"COPY public.users" in dump.stdout  # the dump really has the users table
    for blob in blobs:
        for needle in _needles():
            assert needle not in blob, f"plaintext {needle!r} found at rest"


async def test_ciphertext_moved_to_another_row_or_flipped_fails(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    victim = await _create_user(client, factory)
    other = await factory.user(role="viewer")
    keys = app.state.security.pii_keys
    async with app.state.sessionmaker() as session:
        token = (
            await session.execute(select(User.email_ciphertext).where(User.id == other.id))
        ).scalar_one()
        victim_user = await session.get(User, uuid.UUID(victim))
        assert victim_user is not None
        victim_token = victim_user.email_ciphertext
        assert token is not None and victim_token is not None
        # Another row's ciphertext, copied into this row, does not open here.
        with pytest.raises(pii.PiiDecryptionError):
            pii.decrypt(token, aad=pii.associated_data("users", "email", victim), keyring=keys)
        # Nor does this row's e-mail ciphertext open as its name.
        with pytest.raises(pii.PiiDecryptionError):
            pii.decrypt(
                victim_token, aad=pii.associated_data("users", "name", victim), keyring=keys
            )
        # One flipped bit anywhere in the stored value breaks it.
        for position in (len(victim_token) // 3, len(victim_token) - 2):
            flipped = (
                victim_token[:position]
                + ("A" if victim_token[position] != "A" else "B")
                + victim_token[position + 1 :]
            )
            with pytest.raises(pii.PiiDecryptionError):
                pii.decrypt(
                    flipped, aad=pii.associated_data("users", "email", victim), keyring=keys
                )
        assert unseal(victim_user, "email", keys) == SECRET_EMAIL


async def test_key_rotation_rewraps_every_row(
    factory: Factory, scratch_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from astroshield.app import create_app
    from astroshield.migrate import upgrade_async
    from tests.conftest import settings_for

    k1, k2, index = generate_key(), generate_key(), generate_key()
    old_only = f"k1:{encode_key(k1)}"
    both = f"k1:{encode_key(k1)},k2:{encode_key(k2)}"
    await upgrade_async(settings_for(scratch_database_url))

    def env(keys: str, active: str) -> None:
        monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
        monkeypatch.setenv("ASTROSHIELD_PII_KEYS", keys)
        monkeypatch.setenv("ASTROSHIELD_PII_ACTIVE_KEY", active)
        monkeypatch.setenv("ASTROSHIELD_PII_INDEX_KEY", encode_key(index))
        get_settings.cache_clear()

    # Users created while k1 is the active key.
    app = create_app(
        settings_for(
            scratch_database_url,
            pii_keys=old_only,
            pii_active_key="k1",
            pii_index_key=encode_key(index),
        )
    )
    emails = [f"rotate{n}@example.org" for n in range(5)]
    async with app.router.lifespan_context(app):
        scratch = Factory(app)
        for email in emails:
            await scratch.user(email=email)
        # Invitation addresses are PII under the same keys.
        invited = await scratch.invitation(email="invited.rotate@example.org")

    env(both, "k2")
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["keys", "rotate"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "re-wrapped 6 values under k2" in result.output

    new_only = KeyRing({"k2": k2}, "k2")
    stale = KeyRing({"k1": k1}, "k1")
    async with app.router.lifespan_context(app), app.state.sessionmaker() as session:
        users = (await session.execute(select(User))).scalars().all()
        assert sorted(unseal(user, "email", new_only) or "" for user in users) == emails
        for user in users:
            assert pii.kek_version(user.email_ciphertext or "") == "k2"
            with pytest.raises(pii.PiiDecryptionError):
                unseal(user, "email", stale)
        # Login still finds them: the blind index did not change.
        assert all(user.email_index for user in users)
        invitation = await session.get(Invitation, invited.id)
        assert invitation is not None
        assert pii.kek_version(invitation.email_ciphertext or "") == "k2"
        assert unseal_email(invitation, new_only) == "invited.rotate@example.org"
