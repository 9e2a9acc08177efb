"""Revocation reaches every access token of a login or user, on every replica.

Two replicas are two apps built by ``create_app`` on one database and (unless the test
says otherwise) one real Redis, each with its own in-process caches. They run with the
longest auth cache the settings allow (30 s), so a refusal inside the polling bound can
only come from the invalidation they share, not from a cache entry running out.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.audit.models import AuditEntry
from astroshield.users.models import User
from astroshield.users.service import unseal
from tests.conftest import DEFAULT_PASSWORD, Factory
from tests.security.test_token_attacks import _claims as claims
from tests.security.test_token_attacks import _sign as sign
from tests.support.replicas import bearer, eventually, replicas
from tests.support.replicas import log_in as support_log_in

NEW_PASSWORD = "violet comet harbour 1987 kestrel"


@asynccontextmanager
async def two(
    database_url: str, **kwargs: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with replicas(database_url, **kwargs) as (a, b):
        yield a.client, b.client


async def me_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code


async def refused_on(client: httpx.AsyncClient, token: str) -> bool:
    return await eventually(lambda: _is(client, token, 401))


async def _is(client: httpx.AsyncClient, token: str, status: int) -> bool:
    return await me_status(client, token) == status


async def log_in(client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    return await support_log_in(client, email, password)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def factory_email(user: User, factory: Factory) -> str:
    email = unseal(user, "email", factory.app.state.security.pii_keys)
    assert email is not None
    return email


async def audit_actions(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(AuditEntry.action))).scalars())


@pytest.mark.redis
async def test_logout_ends_every_access_token_of_the_login_on_every_replica(
    database_url: str, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    other = await factory.user(role="viewer")
    async with two(database_url) as (a, b):
        pair = await log_in(a, factory_email(user, factory))
        rotated = await refresh(a, pair["refresh_token"])
        assert rotated.status_code == 200
        newest = rotated.json()
        survivor = factory.token(other)
        # Both access tokens of the login are alive and cached as usable on both replicas.
        for client in (a, b):
            for token in (pair["access_token"], newest["access_token"], survivor):
                assert await me_status(client, token) == 200

        logout = await a.post("/api/v1/auth/logout", headers=bearer(newest["access_token"]))
        assert logout.status_code == 204

        for client in (a, b):
            # The earlier token of the same login was never presented to logout.
            assert await refused_on(client, pair["access_token"])
            assert await refused_on(client, newest["access_token"])
            assert await me_status(client, survivor) == 200  # another login is untouched


@pytest.mark.redis
async def test_refresh_token_reuse_revokes_the_logins_access_tokens_on_both_replicas(
    database_url: str, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    async with two(database_url) as (a, b):
        first = await log_in(a, factory_email(user, factory))
        second = (await refresh(b, first["refresh_token"])).json()
        for client in (a, b):
            assert await me_status(client, second["access_token"]) == 200
            assert await me_status(client, first["access_token"]) == 200

        replay = await refresh(a, first["refresh_token"])  # the thief's copy
        assert replay.status_code == 401

        for client in (a, b):
            assert await refused_on(client, second["access_token"])
            assert await refused_on(client, first["access_token"])
        assert (await refresh(b, second["refresh_token"])).status_code == 401
        assert "auth.refresh_reuse_detected" in await audit_actions(factory.app)


async def _create_spacecraft(client: httpx.AsyncClient, token: str) -> int:
    body = {"name": f"Probe {secrets.token_hex(4)}"}
    response = await client.post("/api/v1/spacecraft", json=body, headers=bearer(token))
    return response.status_code


@pytest.mark.redis
async def test_a_role_change_takes_write_access_from_existing_tokens_on_every_replica(
    database_url: str, factory: Factory
) -> None:
    organisation = await factory.organisation()
    operator = await factory.user(organisation, role="operator")
    admin = await factory.user(organisation, role="admin")
    token = factory.token(operator)  # minted while an operator: it says spacecraft:write
    async with two(database_url) as (a, b):
        for client in (a, b):
            assert await _create_spacecraft(client, token) == 201
        demoted = await a.patch(
            f"/api/v1/users/{operator.id}",
            json={"role": "viewer"},
            headers=bearer(factory.token(admin)),
        )
        assert demoted.status_code == 200, demoted.text

        for client in (a, b):
            assert await eventually(lambda client=client: _write_refused(client, token))
            # Reading is still what a viewer may do, if the token is still accepted at all.
            listed = await client.get("/api/v1/spacecraft", headers=bearer(token))
            assert listed.status_code in (200, 401)


@pytest.mark.redis
async def test_deactivation_refuses_old_tokens_everywhere_and_reactivation_keeps_them_dead(
    database_url: str, factory: Factory
) -> None:
    organisation = await factory.organisation()
    user = await factory.user(organisation, role="viewer")
    admin_token = factory.token(await factory.user(organisation, role="admin"))
    async with two(database_url) as (a, b):
        pair = await log_in(b, factory_email(user, factory))
        for client in (a, b):
            assert await me_status(client, pair["access_token"]) == 200
        off = await a.patch(
            f"/api/v1/users/{user.id}", json={"is_active": False}, headers=bearer(admin_token)
        )
        assert off.status_code == 200
        for client in (a, b):
            assert await refused_on(client, pair["access_token"])
        back = await a.patch(
            f"/api/v1/users/{user.id}", json={"is_active": True}, headers=bearer(admin_token)
        )
        assert back.status_code == 200
        for client in (a, b):
            assert await me_status(client, pair["access_token"]) == 401
        assert (await refresh(b, pair["refresh_token"])).status_code == 401
        # The account itself works again: a new login does.
        assert (
            await me_status(b, (await log_in(a, factory_email(user, factory)))["access_token"])
            == 200
        )


@pytest.mark.redis
async def test_erasure_refuses_existing_tokens_on_every_replica(
    database_url: str, factory: Factory
) -> None:
    organisation = await factory.organisation()
    user = await factory.user(organisation, role="viewer")
    admin_token = factory.token(await factory.user(organisation, role="admin"))
    async with two(database_url) as (a, b):
        pair = await log_in(a, factory_email(user, factory))
        assert await me_status(b, pair["access_token"]) == 200
        erased = await a.delete(f"/api/v1/users/{user.id}", headers=bearer(admin_token))
        assert erased.status_code == 204
        assert await refused_on(b, pair["access_token"])
        assert (await refresh(b, pair["refresh_token"])).status_code == 401


@pytest.mark.redis
async def test_password_change_ends_other_logins_and_every_current_access_token(
    database_url: str, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    email = factory_email(user, factory)
    async with two(database_url) as (a, b):
        here = await log_in(a, email)
        elsewhere = await log_in(b, email)
        for client in (a, b):
            for pair in (here, elsewhere):
                assert await me_status(client, pair["access_token"]) == 200

        changed = await a.post(
            "/api/v1/auth/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(here["access_token"]),
        )
        assert changed.status_code == 204, changed.text

        for client in (a, b):
            assert await refused_on(client, here["access_token"])
            assert await refused_on(client, elsewhere["access_token"])
        # The other login is over; this one continues through its refresh token.
        assert (await refresh(b, elsewhere["refresh_token"])).status_code == 401
        renewed = await refresh(b, here["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        assert await me_status(a, renewed.json()["access_token"]) == 200
        old = await a.post(
            "/api/v1/auth/token", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        assert old.status_code == 401
        await log_in(b, email, NEW_PASSWORD)
        assert "auth.password_changed" in await audit_actions(factory.app)


async def test_password_change_refusals_name_the_field(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    user = await factory.user(role="viewer")
    token = factory.token(user)

    async def change(current: str, new: str) -> httpx.Response:
        body = {"current_password": current, "new_password": new}
        return await client.post("/api/v1/auth/password", json=body, headers=bearer(token))

    wrong = await change("not my password", NEW_PASSWORD)
    assert wrong.status_code == 422
    assert [e["loc"] for e in wrong.json()["errors"]] == [["body", "current_password"]]
    weak = await change(DEFAULT_PASSWORD, "short")
    assert weak.status_code == 422
    assert {tuple(e["loc"]) for e in weak.json()["errors"]} == {("body", "new_password")}
    same = await change(DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert same.status_code == 422
    assert [e["loc"] for e in same.json()["errors"]] == [["body", "new_password"]]
    # Nothing changed: the token still works, the old password still logs in.
    assert await me_status(client, token) == 200
    assert "auth.password_change_failed" in await audit_actions(app)
    anonymous = await client.post(
        "/api/v1/auth/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert anonymous.status_code == 401


async def test_password_change_guesses_share_the_login_budget(
    database_url: str, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    token = factory.token(user)
    async with two(database_url, redis=False, rate_limit_login="3/minute") as (a, _):
        codes = [
            (
                await a.post(
                    "/api/v1/auth/password",
                    json={"current_password": f"guess {n}", "new_password": NEW_PASSWORD},
                    headers=bearer(token),
                )
            ).status_code
            for n in range(4)
        ]
    assert codes == [422, 422, 422, 429]


async def test_a_token_whose_organisation_is_not_the_users_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A token minted before the user moved organisation (signed with the app's key, so
    only the claim differs from the database)."""
    home, elsewhere = await factory.organisation(), await factory.organisation()
    user = await factory.user(home, role="viewer")
    await factory.spacecraft(elsewhere, name="Not yours")
    token = factory.token(user, organisation_id=str(elsewhere.id))
    listed = await client.get("/api/v1/spacecraft", headers=bearer(token))
    assert listed.status_code == 401, listed.text
    assert await me_status(client, factory.token(user)) == 200


async def test_a_token_of_an_unknown_user_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    ghost = User(id=uuid.uuid4(), organisation_id=organisation.id, role="admin")
    assert await me_status(client, factory.token(ghost)) == 401


async def test_platform_rights_come_from_the_account_not_the_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user(role="admin")  # an organisation admin, not a platform admin
    token = factory.token(user, scopes=["organisations:admin", "users:admin"])
    assert (await client.get("/api/v1/organisations", headers=bearer(token))).status_code == 403
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 200


async def test_a_token_keeps_no_more_than_it_was_granted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A narrowed token stays narrow: current rights limit it, they never widen it."""
    user = await factory.user(role="admin")
    token = factory.token(user, scopes=["spacecraft:read"])
    assert (await client.get("/api/v1/spacecraft", headers=bearer(token))).status_code == 200
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 403


async def test_without_redis_other_replicas_follow_within_the_cache_ttl(
    database_url: str, factory: Factory
) -> None:
    organisation = await factory.organisation()
    user = await factory.user(organisation, role="operator")
    admin_token = factory.token(await factory.user(organisation, role="admin"))
    async with two(database_url, redis=False, auth_cache_ttl_s=0.2) as (a, b):
        pair = await log_in(a, factory_email(user, factory))
        newest = (await refresh(a, pair["refresh_token"])).json()
        assert await me_status(b, pair["access_token"]) == 200
        assert await _create_spacecraft(b, newest["access_token"]) == 201

        demoted = await a.patch(
            f"/api/v1/users/{user.id}", json={"role": "viewer"}, headers=bearer(admin_token)
        )
        assert demoted.status_code == 200
        assert await eventually(lambda: _write_refused(b, newest["access_token"]))

        logout = await a.post("/api/v1/auth/logout", headers=bearer(newest["access_token"]))
        assert logout.status_code == 204
        assert await refused_on(b, pair["access_token"])


async def _write_refused(client: httpx.AsyncClient, token: str) -> bool:
    return await _create_spacecraft(client, token) in (401, 403)


@pytest.mark.redis
async def test_with_redis_unreachable_revocation_still_holds_on_the_replica_that_made_it(
    database_url: str, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    unreachable = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    async with two(database_url, redis=False, redis_url=unreachable) as (a, _):
        pair = await log_in(a, factory_email(user, factory))
        assert await me_status(a, pair["access_token"]) == 200
        logout = await a.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
        assert logout.status_code == 204
        assert await me_status(a, pair["access_token"]) == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"gen": "0"},
        {"gen": True},
        {"gen": 0.0},
        {"gen": None},
        {"gen": 1},  # a generation the account has not reached
        {"gen": -1},
        {"fam": 7},
        {"fam": "not-a-login-id"},
        {"sub": "not-a-user-id"},
        {"org": "not-an-organisation-id"},
    ],
)
async def test_malformed_generation_login_or_ids_are_refused(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, overrides: dict[str, Any]
) -> None:
    """Signed with the app's own key, so only the claim under test is wrong."""
    user = await factory.user(role="viewer")
    assert await me_status(client, sign(app, claims(app, user, **overrides))) == 401
    assert await me_status(client, sign(app, claims(app, user, gen=0))) == 200
