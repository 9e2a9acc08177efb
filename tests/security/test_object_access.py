"""Object-level authorization (OWASP API1:2023) and mass assignment (API3:2023).

Two organisations with the same roles: everything one owns is invisible to the other on
every object route — 404, exactly as for an id that does not exist, never 403.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import Factory


@pytest.fixture
async def world(factory: Factory) -> dict[str, object]:
    ours, theirs = await factory.organisation(), await factory.organisation()
    their_craft = await factory.spacecraft(theirs, name="Their sat")
    their_user = await factory.user(theirs, role="viewer")
    return {
        "our_admin": await factory.login(ours, role="admin"),
        "their_admin": await factory.login(theirs, role="admin"),
        "their_craft": str(their_craft.id),
        "their_user": str(their_user.id),
        "their_org": str(theirs.id),
        "our_org": str(ours.id),
    }


def _object_requests(world: dict[str, object]) -> list[tuple[str, str, dict[str, object] | None]]:
    craft, user, org = world["their_craft"], world["their_user"], world["their_org"]
    now = datetime.now(UTC).isoformat()
    return [
        ("GET", f"/api/v1/spacecraft/{craft}", None),
        ("PATCH", f"/api/v1/spacecraft/{craft}", {"description": "pwned"}),
        ("DELETE", f"/api/v1/spacecraft/{craft}", None),
        ("GET", f"/api/v1/spacecraft/{craft}/status", None),
        (
            "POST",
            f"/api/v1/spacecraft/{craft}/status",
            {"reported_at": now, "mode": "safe_mode", "health": "critical"},
        ),
        ("GET", f"/api/v1/spacecraft/{craft}/status/history", None),
        ("GET", f"/api/v1/users/{user}", None),
        ("PATCH", f"/api/v1/users/{user}", {"role": "admin"}),
        ("DELETE", f"/api/v1/users/{user}", None),
        ("GET", f"/api/v1/organisations/{org}", None),
    ]


async def test_other_organisations_objects_are_not_found(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    headers = world["our_admin"]
    assert isinstance(headers, dict)
    for method, path, body in _object_requests(world):
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
        # Indistinguishable from an id that never existed.
        missing = (
            path.replace(str(world["their_craft"]), str(uuid.uuid4()))
            .replace(str(world["their_user"]), str(uuid.uuid4()))
            .replace(str(world["their_org"]), str(uuid.uuid4()))
        )
        control = await client.request(method, missing, json=body, headers=headers)
        assert control.status_code == 404
        assert response.json()["title"] == control.json()["title"]
    # Nothing of theirs changed, and it is all still visible to its owner.
    owner = world["their_admin"]
    assert isinstance(owner, dict)
    craft = await client.get(f"/api/v1/spacecraft/{world['their_craft']}", headers=owner)
    assert craft.status_code == 200 and craft.json()["description"] is None
    status = await client.get(f"/api/v1/spacecraft/{world['their_craft']}/status", headers=owner)
    assert status.json()["mode"] == "unknown"
    user = await client.get(f"/api/v1/users/{world['their_user']}", headers=owner)
    assert user.status_code == 200 and user.json()["role"] == "viewer"


async def test_lists_and_audit_show_only_own_organisation(
    client: httpx.AsyncClient, world: dict[str, object], factory: Factory
) -> None:
    theirs = world["their_admin"]
    ours = world["our_admin"]
    assert isinstance(theirs, dict) and isinstance(ours, dict)
    created = await client.post("/api/v1/spacecraft", json={"name": "Secret"}, headers=theirs)
    assert created.status_code == 201
    listed = await client.get("/api/v1/spacecraft", headers=ours)
    assert listed.json()["items"] == []
    searched = await client.get("/api/v1/spacecraft", params={"name": "Secret"}, headers=ours)
    assert searched.json()["items"] == []
    users = (await client.get("/api/v1/users", headers=ours)).json()["items"]
    assert all(u["organisation_id"] == world["our_org"] for u in users)
    audit = (await client.get("/api/v1/audit", headers=ours)).json()["items"]
    assert all(entry["organisation_id"] == world["our_org"] for entry in audit)
    their_audit = (await client.get("/api/v1/audit", headers=theirs)).json()["items"]
    assert any(entry["action"] == "spacecraft.created" for entry in their_audit)


async def test_status_cache_does_not_leak_across_organisations(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    owner, other = world["their_admin"], world["our_admin"]
    assert isinstance(owner, dict) and isinstance(other, dict)
    path = f"/api/v1/spacecraft/{world['their_craft']}/status"
    assert (await client.get(path, headers=owner)).status_code == 200  # now cached
    assert (await client.get(path, headers=other)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/api/v1/spacecraft",
            {"name": "x", "organisation_id": "{their_org}"},
            "organisation_id",
        ),
        ("POST", "/api/v1/spacecraft", {"name": "x", "mode": "operational"}, "mode"),
        ("POST", "/api/v1/spacecraft", {"name": "x", "id": "{uuid}"}, "id"),
        (
            "PATCH",
            "/api/v1/spacecraft/{our_craft}",
            {"organisation_id": "{their_org}"},
            "organisation_id",
        ),
        ("PATCH", "/api/v1/spacecraft/{our_craft}", {"health": "nominal"}, "health"),
        (
            "POST",
            "/api/v1/invitations",
            {"email": "a@example.org", "role": "admin", "is_platform_admin": True},
            "is_platform_admin",
        ),
        (
            "POST",
            "/api/v1/invitations",
            {"email": "b@example.org", "organisation_id": "{their_org}"},
            "organisation_id",
        ),
        (
            "PATCH",
            "/api/v1/users/{our_user}",
            {"organisation_id": "{their_org}"},
            "organisation_id",
        ),
        ("PATCH", "/api/v1/users/{our_user}", {"is_platform_admin": True}, "is_platform_admin"),
        ("PATCH", "/api/v1/users/{our_user}", {"email_index": "0" * 64}, "email_index"),
    ],
)
async def test_fields_a_client_may_not_set_are_refused(
    client: httpx.AsyncClient,
    factory: Factory,
    world: dict[str, object],
    method: str,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    headers = world["our_admin"]
    assert isinstance(headers, dict)
    our_org = await factory.organisation()
    craft = await factory.spacecraft(our_org)
    user = await factory.user(our_org, role="viewer")
    admin = await factory.login(our_org, role="admin")
    values = {
        "their_org": world["their_org"],
        "uuid": str(uuid.uuid4()),
        "our_craft": str(craft.id),
        "our_user": str(user.id),
    }
    filled = {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}
    response = await client.request(method, path.format(**values), json=filled, headers=admin)
    assert response.status_code == 422, response.text
    assert ["body", field] in [error["loc"] for error in response.json()["errors"]]


async def test_roles_are_enforced(client: httpx.AsyncClient, factory: Factory) -> None:
    organisation = await factory.organisation()
    craft = await factory.spacecraft(organisation)
    viewer = await factory.login(organisation, role="viewer")
    operator = await factory.login(organisation, role="operator")
    refused = [
        ("POST", "/api/v1/spacecraft", {"name": "v"}, viewer),
        ("DELETE", f"/api/v1/spacecraft/{craft.id}", None, viewer),
        ("GET", "/api/v1/users", None, operator),
        ("GET", "/api/v1/audit", None, operator),
        ("POST", "/api/v1/organisations", {"name": "n", "slug": "nn"}, operator),
    ]
    for method, path, body, headers in refused:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
    allowed = await client.post("/api/v1/spacecraft", json={"name": "ok"}, headers=operator)
    assert allowed.status_code == 201
    admin = await factory.login(organisation, role="admin")
    denied = (
        await client.get(
            "/api/v1/audit", params={"action": "auth.permission_denied"}, headers=admin
        )
    ).json()["items"]
    assert len(denied) == len(refused)
    assert {entry["details"]["scope"] for entry in denied} >= {"spacecraft:write", "users:admin"}


async def test_unauthenticated_requests_are_401(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/v1/spacecraft"),
        ("GET", f"/api/v1/spacecraft/{uuid.uuid4()}/status"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/users"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401, path
    bad_scheme = await client.get("/api/v1/spacecraft", headers={"Authorization": "Basic eDp5"})
    assert bad_scheme.status_code == 401
