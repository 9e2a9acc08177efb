"""Bus credentials: a machine's long-lived credential for publishing on the bus. Made and
revoked through the API (the token shown once, never another organisation's), and honoured
by the inbound consumer against the real NATS only while it is valid: a revoked one, or one
whose account was deactivated, is dead-lettered and nothing lands."""

from __future__ import annotations

import json
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from astroshield.db import session_scope
from astroshield.users.models import User
from tests.conftest import Factory
from tests.events.bus import require_shared_nats
from tests.events.test_inbound import (
    bound,
    dead_letters,
    problem_of,
    publish,
    settle,
    telemetry_subject,
)
from tests.telemetry.support import T0, make_archive, series, stored_counts

CREDENTIALS = "/api/v1/auth/bus-credentials"


async def _issue(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: object
) -> httpx.Response:
    body = {"name": "ground station", "scopes": ["telemetry:write"], **fields}
    return await client.post(CREDENTIALS, json=body, headers=headers)


async def test_a_credential_is_shown_once_and_holds_only_what_its_creator_holds(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    operator = await factory.login(organisation, role="operator")
    issued = await _issue(client, operator)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    assert token.startswith("asb_") and len(token) > 60
    listed = (await client.get(CREDENTIALS, headers=operator)).json()
    assert [item["id"] for item in listed] == [issued.json()["id"]]
    assert "token" not in listed[0] and token not in json.dumps(listed)

    # An operator cannot write conjunctions, so neither can its credential; nothing beyond
    # the bus's two write scopes at all.
    for scopes in (["conjunctions:write"], ["users:admin"], []):
        refused = await _issue(client, operator, scopes=scopes)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][:2] == ["body", "scopes"]
    assert len((await client.get(CREDENTIALS, headers=operator)).json()) == 1


async def test_another_organisation_can_neither_see_nor_revoke_a_credential(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine, theirs = await factory.organisation(), await factory.organisation()
    operator = await factory.login(mine, role="operator")
    credential = (await _issue(client, operator)).json()
    for role in ("admin", "operator"):
        other = await factory.login(theirs, role=role)
        assert (await client.get(CREDENTIALS, headers=other)).json() == []
        gone = await client.delete(f"{CREDENTIALS}/{credential['id']}", headers=other)
        assert gone.status_code == 404
    # A colleague who is not an administrator cannot revoke it either; an admin can.
    colleague = await factory.login(mine, role="operator")
    assert (
        await client.delete(f"{CREDENTIALS}/{credential['id']}", headers=colleague)
    ).status_code == 404
    admin = await factory.login(mine, role="admin")
    assert [c["id"] for c in (await client.get(CREDENTIALS, headers=admin)).json()] == [
        credential["id"]
    ]
    revoked = await client.delete(f"{CREDENTIALS}/{credential['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    unknown = await client.delete(f"{CREDENTIALS}/{uuid.uuid4()}", headers=admin)
    assert unknown.status_code == 404


async def test_a_credential_lands_telemetry_until_revoked_or_its_account_is_deactivated(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    url = require_shared_nats()
    archive = await make_archive(client, factory)
    token = (await _issue(client, archive.headers)).json()
    subject = telemetry_subject(archive.organisation, archive.spacecraft_id)

    def batch(sequence: int) -> bytes:
        samples = series("bus_voltage", T0.replace(hour=sequence), 10)
        return json.dumps({"source_id": "gs", "sequence": sequence, "samples": samples}).encode()

    headers = {"Authorization": f"Bearer {token['token']}", "Content-Type": "application/json"}
    async with bound(app, url, archive.organisation.slug) as consumer:
        await publish(url, subject, batch(1), headers)
        assert await settle(consumer, 1) == ["landed"]

        revoked = await client.delete(f"{CREDENTIALS}/{token['id']}", headers=archive.headers)
        assert revoked.status_code == 200
        await publish(url, subject, batch(2), headers)
        assert await settle(consumer, 1) == ["dead-lettered"]

        # A second credential of an account that is then deactivated stops at once too.
        second = (await _issue(client, archive.headers)).json()
        async with session_scope(app.state.sessionmaker) as session:
            await session.execute(
                update(User).where(User.id == uuid.UUID(second["user_id"])).values(is_active=False)
            )
        deactivated = {**headers, "Authorization": f"Bearer {second['token']}"}
        await publish(url, subject, batch(3), deactivated)
        assert await settle(consumer, 1) == ["dead-lettered"]
        forged = {**headers, "Authorization": f"Bearer {second['token'][:-4]}AAAA"}
        await publish(url, subject, batch(4), forged)
        assert await settle(consumer, 1) == ["dead-lettered"]

    assert await stored_counts(app) == (10, 1)  # the first batch only
    letters = await dead_letters(url, archive.organisation)
    assert [problem_of(m)["status"] for m in letters] == [401, 401, 401]
    assert all(token["token"] not in json.dumps(dict(m.headers)) for m in letters)
