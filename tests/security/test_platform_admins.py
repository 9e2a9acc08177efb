"""Platform administrators: only platform administrators change their accounts, and the
last active one can be neither deactivated, demoted nor erased.

Without this an organisation administrator could demote, deactivate or erase a platform
administrator who happens to belong to their organisation, and a platform could be left
with nobody able to manage organisations.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.audit.models import AuditEntry
from astroshield.audit.service import Actor
from astroshield.errors import ConflictError, ForbiddenError
from astroshield.organisations.models import Organisation
from astroshield.security.principal import Principal
from astroshield.security.scopes import Role, scopes_for
from astroshield.users import service
from astroshield.users.models import User
from astroshield.users.schemas import UserUpdate
from tests.conftest import Factory
from tests.support import databases

CHANGES: list[tuple[str, dict[str, Any] | None]] = [
    ("PATCH", {"role": "viewer"}),
    ("PATCH", {"is_active": False}),
    ("PATCH", {"name": "Renamed by an organisation admin"}),
    ("DELETE", None),
]


async def _user_row(app: FastAPI, user: User) -> User:
    async with app.state.sessionmaker() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row


async def _audit(app: FastAPI, action: str, object_id: object) -> list[AuditEntry]:
    async with app.state.sessionmaker() as session:
        statement = select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.object_id == str(object_id)
        )
        return list((await session.execute(statement)).scalars().all())


async def _two_platform_admins(factory: Factory) -> tuple[Organisation, User, User]:
    organisation = await factory.organisation()
    first = await factory.user(organisation, role="admin", platform_admin=True)
    second = await factory.user(organisation, role="admin", platform_admin=True)
    return organisation, first, second


async def test_organisation_admin_cannot_change_a_platform_admin(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    organisation, platform_admin, _ = await _two_platform_admins(factory)
    org_admin = await factory.login(organisation, role="admin")
    for method, body in CHANGES:
        response = await client.request(
            method, f"/api/v1/users/{platform_admin.id}", json=body, headers=org_admin
        )
        assert response.status_code == 403, (method, body, response.text)
        assert response.json()["detail"] == (
            "only a platform administrator may change a platform administrator"
        )
    row = await _user_row(app, platform_admin)
    assert (row.role, row.is_active, row.is_platform_admin) == ("admin", True, True)
    assert row.email_ciphertext is not None and row.name_ciphertext is None
    denied = await _audit(app, "auth.permission_denied", platform_admin.id)
    assert len(denied) == len(CHANGES)
    assert {entry.details["reason"] for entry in denied} == {"target_is_platform_admin"}
    # Reading the account stays allowed: it is a member of the organisation.
    read = await client.get(f"/api/v1/users/{platform_admin.id}", headers=org_admin)
    assert read.status_code == 200 and read.json()["is_platform_admin"] is True


async def test_organisation_admin_cannot_create_a_platform_admin_or_grant_the_flag(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    organisation = await factory.organisation()
    org_admin_user = await factory.user(organisation, role="admin")
    org_admin = factory.headers(org_admin_user)
    platform_admin = factory.headers(
        await factory.user(organisation, role="admin", platform_admin=True)
    )
    member = await factory.user(organisation, role="viewer")
    account = {"email": "new.member@example.org", "password": "a long enough pass phrase 7"}

    # Direct creation answers 409 for an e-mail of any organisation: platform admins only.
    created = await client.post("/api/v1/users", json=account, headers=org_admin)
    assert created.status_code == 403, created.text
    flagged = {**account, "is_platform_admin": True}
    for headers, status in ((org_admin, 403), (platform_admin, 422)):
        refused = await client.post("/api/v1/users", json=flagged, headers=headers)
        assert refused.status_code == status, refused.text
        granted = await client.patch(
            f"/api/v1/users/{member.id}", json={"is_platform_admin": True}, headers=headers
        )
        assert granted.status_code == 422
        assert ["body", "is_platform_admin"] in [e["loc"] for e in granted.json()["errors"]]
    invited = await client.post(
        "/api/v1/invitations",
        json={"email": "x@example.org", "role": "admin", "is_platform_admin": True},
        headers=org_admin,
    )
    assert invited.status_code == 422
    assert ["body", "is_platform_admin"] in [e["loc"] for e in invited.json()["errors"]]
    assert not (await _user_row(app, member)).is_platform_admin
    denied = await _audit(app, "auth.permission_denied", "/api/v1/users")
    assert [entry.actor for entry in denied] == [str(org_admin_user.id)] * 2

    # A platform administrator still creates accounts directly (never platform admins).
    made = await client.post("/api/v1/users", json=account, headers=platform_admin)
    assert made.status_code == 201, made.text
    assert made.json()["is_platform_admin"] is False


async def test_platform_admin_manages_platform_admins(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    _, first, second = await _two_platform_admins(factory)
    headers = factory.headers(first)
    path = f"/api/v1/users/{second.id}"
    demoted = await client.patch(path, json={"role": "operator"}, headers=headers)
    assert demoted.status_code == 200 and demoted.json()["role"] == "operator"
    promoted = await client.patch(path, json={"role": "admin", "name": "Ops"}, headers=headers)
    assert promoted.status_code == 200 and promoted.json()["name"] == "Ops"
    deactivated = await client.patch(path, json={"is_active": False}, headers=headers)
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    erased = await client.delete(path, headers=headers)
    assert erased.status_code == 204
    row = await _user_row(app, second)
    assert row.pii_erased_at is not None and not row.is_active
    assert len(await _audit(app, "user.updated", second.id)) == 3
    assert len(await _audit(app, "user.erased", second.id)) == 1


async def test_last_active_platform_admin_cannot_be_removed_or_demoted(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    organisation, last, other = await _two_platform_admins(factory)
    headers = factory.headers(last)
    # A platform flag without the admin role, or on an inactive account, manages nothing.
    await factory.user(organisation, role="viewer", platform_admin=True)
    await factory.user(organisation, role="admin", platform_admin=True, active=False)
    retired = await client.patch(
        f"/api/v1/users/{other.id}", json={"is_active": False}, headers=headers
    )
    assert retired.status_code == 200

    path = f"/api/v1/users/{last.id}"
    for body, field in (
        ({"role": "analyst"}, "role"),
        ({"is_active": False}, "is_active"),
        ({"is_active": False, "role": "viewer"}, "is_active"),
    ):
        response = await client.patch(path, json=body, headers=headers)
        assert response.status_code == 409, (body, response.text)
        problem = response.json()
        assert problem["type"] == "/problems/conflict"
        assert "last active platform administrator" in problem["detail"]
        assert ["body", field] in [error["loc"] for error in problem["errors"]]
    erased = await client.delete(path, headers=headers)
    assert erased.status_code == 409
    row = await _user_row(app, last)
    assert (row.role, row.is_active, row.pii_erased_at) == ("admin", True, None)
    refused = await _audit(app, "user.change_refused", last.id)
    assert len(refused) == 3
    assert {entry.details["reason"] for entry in refused} == {"last_active_platform_admin"}

    # Changes that keep it a platform administrator are fine; so is bringing one back.
    renamed = await client.patch(
        path, json={"name": "Still here", "role": "admin"}, headers=headers
    )
    assert renamed.status_code == 200
    back = await client.patch(
        f"/api/v1/users/{other.id}", json={"is_active": True}, headers=headers
    )
    assert back.status_code == 200
    stepped_down = await client.patch(path, json={"role": "viewer"}, headers=headers)
    assert stepped_down.status_code == 200


def _principal(user: User) -> Principal:
    """The platform administrator ``user`` as authentication would establish them."""
    return Principal(
        user_id=user.id,
        organisation_id=user.organisation_id,
        role=user.role,
        scopes=scopes_for(user.role, platform_admin=user.is_platform_admin),
        token_id="test",
        token_expires_at=datetime.now(UTC) + timedelta(minutes=5),
        auth_method="bearer",
    )


@pytest.mark.skipif(
    not databases.is_postgres(databases.test_database_url()),
    reason="row locks (SELECT ... FOR UPDATE) are PostgreSQL's; SQLite has a single writer",
)
async def test_two_platform_admins_demoting_each_other_leave_one(
    factory: Factory, app: FastAPI
) -> None:
    """The first transaction holds its change uncommitted while the second one runs its
    check: without row locks both see two administrators, both commit, and none is left."""
    organisation, first, second = await _two_platform_admins(factory)
    security, sessionmaker = app.state.security, app.state.sessionmaker
    demote = UserUpdate(role=Role.VIEWER)

    async def change(session: Any, actor: User, target: User) -> None:
        await service.update_user(
            session,
            _principal(actor),
            target.id,
            demote,
            security=security,
            sessionmaker=sessionmaker,
            actor=Actor(str(actor.id), organisation.id),
        )

    async with sessionmaker() as one, sessionmaker() as two:
        await change(one, first, second)  # uncommitted: its locks are held
        racing = asyncio.create_task(change(two, second, first))
        await asyncio.sleep(0.5)  # let the second transaction reach its check
        await one.commit()
        with pytest.raises((ForbiddenError, ConflictError)):
            await racing
        await two.rollback()
    assert (await _user_row(app, first)).role == "admin"
    assert (await _user_row(app, second)).role == "viewer"
