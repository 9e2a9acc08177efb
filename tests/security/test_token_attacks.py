"""Every forged, stale or misused token is refused (RFC 8725 attack list).

Each attack is made with pyjwt directly, as an attacker would, and presented to the real
app; the control case (a genuine token) passes through the same path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.security.tokens import KeyRing, SigningKey, write_key_ring
from astroshield.users.models import User
from tests.conftest import DEFAULT_PASSWORD, Factory, settings_for


def _claims(app: FastAPI, user: User, **overrides: Any) -> dict[str, Any]:
    settings: Settings = app.state.settings
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "org": str(user.organisation_id),
        "role": user.role,
        "scope": "spacecraft:read",
    }
    claims.update(overrides)
    return claims


def _sign(app: FastAPI, claims: dict[str, Any], **headers: Any) -> str:
    key = app.state.security.tokens.ring.active
    header = {"kid": key.kid, "typ": "at+jwt", **headers}
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers=header)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def _refused(client: httpx.AsyncClient, token: str) -> None:
    response = await _me(client, token)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.fixture
async def user(factory: Factory) -> User:
    return await factory.user(role="viewer")


async def test_genuine_token_is_accepted(
    client: httpx.AsyncClient, app: FastAPI, user: User
) -> None:
    response = await _me(client, _sign(app, _claims(app, user)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(user.id)


async def test_alg_none(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": app.state.security.tokens.ring.active_kid}
    payload = json.dumps(_claims(app, user)).encode()
    token = f"{_b64(json.dumps(header).encode())}.{_b64(payload)}."
    await _refused(client, token)


async def test_hs256_signed_with_the_public_key(
    client: httpx.AsyncClient, app: FastAPI, user: User
) -> None:
    public_pem = app.state.security.tokens.ring.active.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": app.state.security.tokens.ring.active_kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(app, user)).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    await _refused(client, f"{signing_input}.{_b64(signature)}")


async def test_tampered_payload(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    token = _sign(app, _claims(app, user))
    header, _, signature = token.split(".")
    forged = _b64(json.dumps(_claims(app, user, role="admin", scope="users:admin")).encode())
    await _refused(client, f"{header}.{forged}.{signature}")


async def test_expired(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    past = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    await _refused(client, _sign(app, _claims(app, user, iat=past - 600, nbf=past - 600, exp=past)))


async def test_not_yet_valid(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    await _refused(client, _sign(app, _claims(app, user, nbf=future, exp=future + 600)))


async def test_wrong_audience(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    await _refused(client, _sign(app, _claims(app, user, aud="another-api")))
    await _refused(client, _sign(app, _claims(app, user, aud=["another-api"])))


async def test_issuer_that_only_contains_ours(
    client: httpx.AsyncClient, app: FastAPI, user: User
) -> None:
    issuer = app.state.settings.jwt_issuer
    for evil in (issuer + ".evil.example", "x" + issuer, issuer[:-1]):
        await _refused(client, _sign(app, _claims(app, user, iss=evil)))
    # pyjwt will not even encode a list issuer; sign one by hand.
    key = app.state.security.tokens.ring.active
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}."
        f"{_b64(json.dumps(_claims(app, user, iss=[issuer, 'evil'])).encode())}"
    )
    signature = key.private_key.sign(signing_input.encode())
    await _refused(client, f"{signing_input}.{_b64(signature)}")


@pytest.mark.parametrize(
    "kid", ["unknown-key", "../../../../etc/passwd", "' OR '1'='1", "dev; DROP TABLE users", ""]
)
async def test_unknown_or_malicious_kid(
    client: httpx.AsyncClient, app: FastAPI, user: User, kid: str
) -> None:
    await _refused(client, _sign(app, _claims(app, user), kid=kid))


async def test_missing_required_claims(client: httpx.AsyncClient, app: FastAPI, user: User) -> None:
    for claim in ("exp", "jti", "sub", "iat", "nbf"):
        claims = _claims(app, user)
        del claims[claim]
        await _refused(client, _sign(app, claims))


class _KeyServer(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _KeyServer.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"keys": []}).encode())

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def key_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _KeyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _KeyServer.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


async def test_jku_and_x5u_are_never_followed(
    client: httpx.AsyncClient, app: FastAPI, user: User, key_server: str
) -> None:
    attacker = Ed25519PrivateKey.generate()
    kid = app.state.security.tokens.ring.active_kid
    for header in ({"jku": key_server}, {"x5u": key_server}):
        token = jwt.encode(
            _claims(app, user),
            attacker,
            algorithm="EdDSA",
            headers={"kid": kid, "typ": "at+jwt", **header},
        )
        await _refused(client, token)
    # Our own, genuinely signed token with a jku header is judged by our key alone.
    genuine = _sign(app, _claims(app, user), jku=key_server)
    assert (await _me(client, genuine)).status_code == 200
    assert _KeyServer.hits == []


async def test_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user(role="viewer", email="refresh-as-access@example.org")
    login = await client.post(
        "/api/v1/auth/token",
        json={"email": "refresh-as-access@example.org", "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 200, login.text
    pair = login.json()
    await _refused(client, pair["refresh_token"])
    # ... and the reverse: an access token cannot be exchanged for new tokens.
    exchanged = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]}
    )
    assert exchanged.status_code == 401
    assert (await _me(client, pair["access_token"])).json()["id"] == str(user.id)


async def test_revoked_jti_after_logout(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.user(role="viewer", email="logout@example.org")
    pair = (
        await client.post(
            "/api/v1/auth/token", json={"email": "logout@example.org", "password": DEFAULT_PASSWORD}
        )
    ).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=bearer)).status_code == 204
    await _refused(client, pair["access_token"])
    # The login's refresh token died with it.
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_reused_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user(role="viewer", email="rotation@example.org")
    first = (
        await client.post(
            "/api/v1/auth/token",
            json={"email": "rotation@example.org", "password": DEFAULT_PASSWORD},
        )
    ).json()
    second = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200, second.text
    latest = second.json()
    # The thief replays the first refresh token...
    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    # ...and the whole login is gone, including the legitimate newest token.
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": latest["refresh_token"]}
    )
    assert after.status_code == 401


async def test_token_from_a_rotated_out_key(
    database_url: str, tmp_path: Path, factory: Factory
) -> None:
    now = datetime.now(UTC)
    old = Ed25519PrivateKey.generate()
    current = Ed25519PrivateKey.generate()
    keys = {
        "old-in-overlap": SigningKey(
            "old-in-overlap", old.public_key(), None, now + timedelta(minutes=5)
        ),
        "old-expired": SigningKey(
            "old-expired", old.public_key(), None, now - timedelta(seconds=1)
        ),
        "current": SigningKey("current", current.public_key(), current),
    }
    key_file = tmp_path / "jwt-keys.json"
    write_key_ring(KeyRing(keys, "current"), key_file)
    app = create_app(settings_for(database_url, jwt_keys_file=key_file))
    user = await factory.user(role="viewer")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            claims = _claims(app, user)
            within = jwt.encode(
                claims, old, algorithm="EdDSA", headers={"kid": "old-in-overlap", "typ": "at+jwt"}
            )
            after = jwt.encode(
                claims, old, algorithm="EdDSA", headers={"kid": "old-expired", "typ": "at+jwt"}
            )
            assert (await _me(client, within)).status_code == 200
            await _refused(client, after)


async def test_logout_reaches_other_replicas_within_the_cache_bound(
    database_url: str, factory: Factory
) -> None:
    """Replica A revokes; replica B (same database) refuses the token once its cached
    answer is older than auth_cache_ttl_s."""
    import asyncio

    await factory.user(role="viewer", email="two-replicas@example.org")
    settings = settings_for(database_url, auth_cache_ttl_s=0.3)
    one, two = create_app(settings), create_app(settings)
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=a, raise_app_exceptions=False),
                base_url="http://testserver",
            )
            for a in (one, two)
        ]
        async with clients[0] as a, clients[1] as b:
            pair = (
                await a.post(
                    "/api/v1/auth/token",
                    json={"email": "two-replicas@example.org", "password": DEFAULT_PASSWORD},
                )
            ).json()
            bearer = {"Authorization": f"Bearer {pair['access_token']}"}
            assert (await b.get("/api/v1/auth/me", headers=bearer)).status_code == 200
            assert (await a.post("/api/v1/auth/logout", headers=bearer)).status_code == 204
            assert (await a.get("/api/v1/auth/me", headers=bearer)).status_code == 401
            await asyncio.sleep(0.4)
            assert (await b.get("/api/v1/auth/me", headers=bearer)).status_code == 401
