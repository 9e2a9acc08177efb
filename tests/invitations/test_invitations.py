"""Invitations: an organisation adds people and learns nothing about other organisations'
accounts. The invitation answers the same for every address, the token reaches only the
invitee's mailbox, and only the invitee learns that an address already has an account."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from astroshield.app import create_app
from astroshield.audit.models import AuditEntry
from astroshield.invitations.models import Invitation
from astroshield.invitations.service import hash_token, unseal_email
from astroshield.retention.service import run_retention
from astroshield.security import pii
from astroshield.users.models import User
from tests.conftest import DEFAULT_PASSWORD, Factory, settings_for
from tests.invitations.conftest import SENDER, delivered, token_in
from tests.support import databases
from tests.support.receivers import SmtpServer

PASSWORD = "seven green comets pass at dawn 4"
# Same length, so that even the response sizes can be compared.
TAKEN = "taken.address@example.org"
FRESH = "fresh.address@example.org"


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    seen: list[str] = []

    def remember(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def _without_generated(response: httpx.Response, email: str) -> bytes:
    body = response.json()
    raw = response.content
    for value in (body["id"], body["created_at"], body["expires_at"], email):
        raw = raw.replace(json.dumps(value).encode(), b'"<generated>"')
    return raw


async def _audit(app: FastAPI, **where: Any) -> list[AuditEntry]:
    async with app.state.sessionmaker() as session:
        statement = select(AuditEntry).order_by(AuditEntry.id)
        for column, value in where.items():
            statement = statement.where(getattr(AuditEntry, column) == value)
        return list((await session.execute(statement)).scalars().all())


async def test_invitation_answers_the_same_whether_or_not_the_address_has_an_account(
    mail_client: httpx.AsyncClient,
    mail_factory: Factory,
    mail_app: FastAPI,
    smtp: SmtpServer,
) -> None:
    ours, theirs = await mail_factory.organisation(), await mail_factory.organisation()
    their_user = await mail_factory.user(theirs, role="admin", email=TAKEN)
    admin = await mail_factory.login(ours, role="admin")

    answers: dict[str, httpx.Response] = {}
    for email in (TAKEN, FRESH):
        with statements(mail_app) as seen:
            answers[email] = await mail_client.post(
                "/api/v1/invitations", json={"email": email, "role": "operator"}, headers=admin
            )
        # The invitation never looks the address up among accounts.
        assert any("INSERT INTO invitations" in sql for sql in seen)
        assert not [sql for sql in seen if "users.email_index" in sql], seen
    taken, fresh = answers[TAKEN], answers[FRESH]
    assert taken.status_code == fresh.status_code == 202, taken.text
    assert _without_generated(taken, TAKEN) == _without_generated(fresh, FRESH)
    assert taken.headers["content-type"] == fresh.headers["content-type"]
    assert taken.headers["content-length"] == fresh.headers["content-length"]
    assert set(taken.headers) == set(fresh.headers)
    assert taken.json()["status"] == "pending" and taken.json()["email"] == TAKEN

    # Nothing of theirs is revealed: not in the answers, the list, nor our audit trail.
    listed = await mail_client.get("/api/v1/invitations", headers=admin)
    audit = await mail_client.get("/api/v1/audit", headers=admin)
    for text in (taken.text, fresh.text, listed.text, audit.text):
        assert str(their_user.id) not in text and str(theirs.id) not in text
    assert [item["status"] for item in listed.json()["items"]] == ["pending", "pending"]

    # Both addresses got the same kind of e-mail, each with its own token.
    await delivered(mail_app)
    assert sorted(message["To"] for message in smtp.messages) == sorted([TAKEN, FRESH])
    for message in smtp.messages:
        assert message["From"] == SENDER
        assert token_in(message.get_payload()) not in (taken.text + fresh.text)
    delivered_events = await _audit(mail_app, action="invitation.delivered")
    assert {entry.organisation_id for entry in delivered_events} == {ours.id}


async def test_invite_email_accept_and_log_in(
    mail_client: httpx.AsyncClient,
    mail_factory: Factory,
    mail_app: FastAPI,
    smtp: SmtpServer,
) -> None:
    organisation = await mail_factory.organisation(name="Orbital Ops")
    admin_user = await mail_factory.user(organisation, role="admin")
    admin = mail_factory.headers(admin_user)
    invited = await mail_client.post(
        "/api/v1/invitations",
        json={"email": "new.operator@example.org", "role": "analyst"},
        headers=admin,
    )
    assert invited.status_code == 202, invited.text
    await delivered(mail_app)
    [message] = smtp.messages
    assert message["To"] == "new.operator@example.org"
    assert message["Subject"] == "Invitation to Orbital Ops on AstroShield"
    assert message["X-AstroShield-Invitation"] == invited.json()["id"]
    token = token_in(message.get_payload())

    # The token is stored only as its hash; the address only encrypted.
    async with mail_app.state.sessionmaker() as session:
        row = await session.get(Invitation, uuid.UUID(invited.json()["id"]))
        assert row is not None
        assert row.token_hash == hash_token(token)
        stored = " ".join(str(value) for value in row.__dict__.values())
        assert token not in stored and "new.operator" not in stored
        assert unseal_email(row, mail_app.state.security.pii_keys) == "new.operator@example.org"

    accepted = await mail_client.post(
        "/api/v1/invitations/accept",
        json={"token": token, "name": "Nadia Operator", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    account = accepted.json()
    assert account["email"] == "new.operator@example.org"
    assert account["organisation_id"] == str(organisation.id)
    assert (account["role"], account["name"], account["is_platform_admin"]) == (
        "analyst",
        "Nadia Operator",
        False,
    )
    assert accepted.headers["cache-control"] == "no-store"

    login = await mail_client.post(
        "/api/v1/auth/token", json={"email": "new.operator@example.org", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    me = await mail_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["id"] == account["id"]

    # Single use.
    again = await mail_client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD + "x"}
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["loc"] == ["body", "token"]

    # The inviting organisation sees it accepted; the invitation no longer holds the address.
    [listed] = (await mail_client.get("/api/v1/invitations", headers=admin)).json()["items"]
    assert (listed["status"], listed["email"], listed["user_id"]) == (
        "accepted",
        None,
        account["id"],
    )
    actions = [entry.action for entry in await _audit(mail_app, organisation_id=organisation.id)]
    for action in ("invitation.created", "invitation.delivered", "user.created"):
        assert action in actions
    assert "invitation.accepted" in actions


async def test_an_address_with_an_account_is_told_only_to_the_invitee(
    mail_client: httpx.AsyncClient,
    mail_factory: Factory,
    mail_app: FastAPI,
    smtp: SmtpServer,
) -> None:
    ours, theirs = await mail_factory.organisation(), await mail_factory.organisation()
    their_user = await mail_factory.user(theirs, role="viewer", email=TAKEN)
    admin = await mail_factory.login(ours, role="admin")
    invited = await mail_client.post("/api/v1/invitations", json={"email": TAKEN}, headers=admin)
    assert invited.status_code == 202
    await delivered(mail_app)
    token = token_in(smtp.messages[0].get_payload())

    refused = await mail_client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert refused.status_code == 409, refused.text
    assert "already has an AstroShield account" in refused.json()["detail"]

    # No account in our organisation; theirs untouched and still able to log in.
    async with mail_app.state.sessionmaker() as session:
        ours_users = (
            (await session.execute(select(User).where(User.organisation_id == ours.id)))
            .scalars()
            .all()
        )
        assert len(ours_users) == 1  # the admin
    login = await mail_client.post(
        "/api/v1/auth/token", json={"email": TAKEN, "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    me = await mail_client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["id"] == str(their_user.id)

    # The inviting organisation sees a pending invitation, and nothing in its audit trail.
    [listed] = (await mail_client.get("/api/v1/invitations", headers=admin)).json()["items"]
    assert listed["status"] == "pending"
    audit = (await mail_client.get("/api/v1/audit", headers=admin)).json()["items"]
    assert "invitation.accept_failed" not in [entry["action"] for entry in audit]
    [kept] = await _audit(mail_app, action="invitation.accept_failed")
    assert kept.organisation_id is None and kept.details["reason"] == "address_has_account"


async def test_tokens_expire_are_revoked_replaced_and_guessed_in_vain(
    mail_client: httpx.AsyncClient,
    mail_factory: Factory,
    mail_app: FastAPI,
    smtp: SmtpServer,
) -> None:
    ours, theirs = await mail_factory.organisation(), await mail_factory.organisation()
    admin = await mail_factory.login(ours, role="admin")
    their_admin = await mail_factory.login(theirs, role="admin")

    async def invite(email: str) -> tuple[str, str]:
        smtp.messages.clear()
        response = await mail_client.post(
            "/api/v1/invitations", json={"email": email}, headers=admin
        )
        assert response.status_code == 202
        await delivered(mail_app)
        return response.json()["id"], token_in(smtp.messages[0].get_payload())

    async def accept(token: str) -> httpx.Response:
        return await mail_client.post(
            "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
        )

    expired_id, expired_token = await invite("late@example.org")
    async with mail_app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(expired_id))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    revoked_id, revoked_token = await invite("revoked@example.org")
    # Another organisation cannot revoke ours: not found, as for an id that does not exist.
    foreign = await mail_client.delete(f"/api/v1/invitations/{revoked_id}", headers=their_admin)
    missing = await mail_client.delete(f"/api/v1/invitations/{uuid.uuid4()}", headers=admin)
    assert foreign.status_code == missing.status_code == 404
    assert (
        await mail_client.delete(f"/api/v1/invitations/{revoked_id}", headers=admin)
    ).status_code == 204
    _, replaced_token = await invite("twice@example.org")
    _, current_token = await invite("twice@example.org")

    for token in (expired_token, revoked_token, replaced_token, "x" * 43):
        response = await accept(token)
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"loc": ["body", "token"], "msg": "unknown, expired, revoked or already used"}
        ]
    statuses = {
        item["id"]: item["status"]
        for item in (await mail_client.get("/api/v1/invitations", headers=admin)).json()["items"]
    }
    assert statuses[expired_id] == "expired" and statuses[revoked_id] == "revoked"
    assert sorted(statuses.values()) == ["expired", "pending", "revoked", "revoked"]
    assert (await accept(current_token)).status_code == 201
    failed = await _audit(mail_app, action="invitation.accept_failed")
    assert len(failed) == 4 and {entry.organisation_id for entry in failed} == {None}


async def test_weak_password_leaves_the_invitation_usable(
    mail_client: httpx.AsyncClient, mail_factory: Factory, mail_app: FastAPI, smtp: SmtpServer
) -> None:
    admin = await mail_factory.login(role="admin")
    await mail_client.post("/api/v1/invitations", json={"email": "weak@example.org"}, headers=admin)
    await delivered(mail_app)
    token = token_in(smtp.messages[0].get_payload())
    weak = await mail_client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": "password"}
    )
    assert weak.status_code == 422
    assert ["body", "password"] in [error["loc"] for error in weak.json()["errors"]]
    strong = await mail_client.post(
        "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert strong.status_code == 201, strong.text


async def test_without_e_mail_invitations_are_refused_alike_and_nothing_is_stored(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    ours, theirs = await factory.organisation(), await factory.organisation()
    await factory.user(theirs, email=TAKEN)
    admin = await factory.login(ours, role="admin")
    answers = [
        await client.post("/api/v1/invitations", json={"email": email}, headers=admin)
        for email in (TAKEN, FRESH)
    ]
    assert [answer.status_code for answer in answers] == [503, 503]
    assert answers[0].content == answers[1].content
    assert "ASTROSHIELD_SMTP_HOST" in answers[0].json()["detail"]
    async with app.state.sessionmaker() as session:
        assert (await session.execute(select(Invitation))).first() is None


async def test_invitation_addresses_are_not_stored_in_plaintext(
    mail_factory: Factory, mail_app: FastAPI
) -> None:
    invitation = await mail_factory.invitation(email="secret.invitee@example.org")
    keys = mail_app.state.security.pii_keys
    async with mail_app.state.sessionmaker() as session:
        row = await session.get(Invitation, invitation.id)
        assert row is not None and row.email_ciphertext is not None
        assert "secret.invitee" not in row.email_ciphertext
        # Bound to its row and table: it does not open as a user's e-mail of the same id.
        with pytest.raises(pii.PiiDecryptionError):
            pii.decrypt(
                row.email_ciphertext,
                aad=pii.associated_data("users", "email", row.id),
                keyring=keys,
            )
        assert unseal_email(row, keys) == "secret.invitee@example.org"


async def test_retention_deletes_invitations_long_expired(
    factory: Factory, app: FastAPI, database_url: str
) -> None:
    now = datetime.now(UTC)
    old = await factory.invitation(email="old@example.org", expires_at=now - timedelta(days=40))
    recent = await factory.invitation(
        email="recent@example.org", expires_at=now - timedelta(days=5)
    )
    pending = await factory.invitation(email="pending@example.org")
    settings = settings_for(database_url, retention_invitation_days=30)
    async with app.state.sessionmaker() as session, session.begin():
        dry = await run_retention(session, settings, dry_run=True, now=now)
    assert {r.data_class: r.affected for r in dry.classes}["invitations"] == 1
    async with app.state.sessionmaker() as session, session.begin():
        report = await run_retention(session, settings, dry_run=False, now=now)
    assert {r.data_class: r.affected for r in report.classes}["invitations"] == 1
    async with app.state.sessionmaker() as session:
        left = set((await session.execute(select(Invitation.id))).scalars().all())
    assert left == {recent.id, pending.id} and old.id not in left


async def test_a_failed_delivery_is_audited_for_the_inviting_organisation(
    app: FastAPI, database_url: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = create_app(
        settings_for(database_url, smtp_host="127.0.0.1", smtp_port=closed_port)
    )
    async with unreachable.router.lifespan_context(unreachable):
        factory = Factory(unreachable)
        organisation = await factory.organisation()
        admin = await factory.login(organisation, role="admin")
        transport = httpx.ASGITransport(app=unreachable, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            invited = await http.post("/api/v1/invitations", json={"email": FRESH}, headers=admin)
        assert invited.status_code == 202  # stored; the organisation may invite again
        await delivered(unreachable)
        [failed] = await _audit(unreachable, action="invitation.delivery_failed")
    assert failed.organisation_id == organisation.id
    assert failed.object_id == invited.json()["id"] and failed.details["reason"]


@pytest.mark.skipif(
    not databases.is_postgres(databases.test_database_url()),
    reason="concurrent writers: PostgreSQL row locks; SQLite has a single writer",
)
async def test_two_acceptances_at_once_create_one_account(
    mail_client: httpx.AsyncClient, mail_factory: Factory, mail_app: FastAPI, smtp: SmtpServer
) -> None:
    admin = await mail_factory.login(role="admin")
    await mail_client.post("/api/v1/invitations", json={"email": FRESH}, headers=admin)
    await delivered(mail_app)
    token = token_in(smtp.messages[0].get_payload())
    answers = await asyncio.gather(
        *(
            mail_client.post(
                "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD + str(n)}
            )
            for n in range(2)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201, 422]
    async with mail_app.state.sessionmaker() as session:
        index = pii.blind_index(FRESH, key=mail_app.state.security.email_index_key)
        accounts = (await session.execute(select(User).where(User.email_index == index))).all()
    assert len(accounts) == 1
