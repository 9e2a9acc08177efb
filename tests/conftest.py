"""Test utilities: one migrated database per run, per-test cleanup, the real app over
httpx, and factories.

The run's database comes from ``ASTROSHIELD_TEST_DATABASE_URL`` (``make test`` runs the
suite once on SQLite and once on PostgreSQL).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.db import session_scope, uuid7
from astroshield.invitations.models import Invitation
from astroshield.invitations.service import hash_token, seal_email
from astroshield.migrate import upgrade_async
from astroshield.models import metadata
from astroshield.organisations.models import Organisation
from astroshield.security import passwords, pii
from astroshield.security.scopes import scopes_for
from astroshield.spacecraft.models import Spacecraft
from astroshield.users.models import User
from astroshield.users.service import seal
from tests.support.databases import (
    fresh_database,
    is_postgres,
    postgres_reachable,
    test_database_url,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


# Budgets no test reaches by accident; the rate-limit tests set their own.
UNLIMITED = "1000000/minute"

# One local key file per test run, outside the repository: every app of the run (and the
# CLI commands and subprocesses it starts, through the environment) signs and encrypts
# with the same generated keys, as replicas of one deployment do.
_LOCAL_KEYS_DIR = Path(tempfile.mkdtemp(prefix="astroshield-test-keys-"))
atexit.register(shutil.rmtree, _LOCAL_KEYS_DIR, ignore_errors=True)
LOCAL_KEYS_FILE = _LOCAL_KEYS_DIR / "keys.json"
os.environ["ASTROSHIELD_LOCAL_KEYS_FILE"] = str(LOCAL_KEYS_FILE)

# Audit checkpoints of this test process, one file per database: outside the work tree,
# and never mixed between the databases (or parallel runs) whose chains they describe.
_CHECKPOINT_DIR = Path(tempfile.mkdtemp(prefix="astroshield-test-checkpoints-"))
atexit.register(shutil.rmtree, _CHECKPOINT_DIR, ignore_errors=True)


def checkpoint_file_for(database_url: str) -> Path:
    return _CHECKPOINT_DIR / f"{hashlib.sha256(database_url.encode()).hexdigest()[:16]}.jsonl"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "profile": "test",
        "database_url": database_url,
        "migrate_on_start": False,
        "rate_limit_client": UNLIMITED,
        "rate_limit_user": UNLIMITED,
        "rate_limit_login": UNLIMITED,
        # Plain-HTTP test client: cookies without the Secure flag and __Host- prefix.
        "session_cookie_secure": False,
        # Tests run the alert evaluator themselves, with controlled time.
        "alert_evaluation_interval_s": 0,
        "runtime_config_refresh_s": 0,
        "local_keys_file": LOCAL_KEYS_FILE,
        # Tests write audit checkpoints themselves (or through retention runs).
        "audit_checkpoint_interval_s": 0,
        "audit_checkpoint_file": checkpoint_file_for(database_url),
        # Tests run the outbox relay themselves (tests/events).
        "outbox_relay_interval_s": 0,
        "feeds_refresh_interval_s": 0,
        "feeds_cdm_poll_interval_s": 0,  # tests run feeds themselves
        "inbound_enabled": False,  # tests/events/test_inbound.py turns it on
        "webhook_dispatch_interval_s": 0,  # tests run the webhook dispatcher themselves
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
async def base_database_url() -> str:
    url = test_database_url()
    if is_postgres(url) and not await postgres_reachable(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {url} is unreachable and CI=true: not skipping")
        pytest.skip(f"PostgreSQL at {url} is unreachable")
    return url


@pytest.fixture(scope="session")
async def database_url(
    base_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with fresh_database(base_database_url, tmp_path_factory.mktemp("db")) as url:
        await upgrade_async(settings_for(url))
        yield url


@pytest.fixture
async def scratch_database_url(base_database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, unmigrated database of the run's kind, for one test."""
    async with fresh_database(base_database_url, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture(scope="session")
async def session_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def app(session_app: FastAPI) -> AsyncIterator[FastAPI]:
    """The running app; every table is emptied after the test (schema kept), and the
    audit checkpoints describing the emptied chain go with it."""
    yield session_app
    session_app.state.settings.audit_checkpoint_file.unlink(missing_ok=True)
    await empty_tables(session_app.state.engine)


async def empty_tables(engine: AsyncEngine) -> None:
    """Every row of every table deleted (schema kept)."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(delete(table))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


DEFAULT_PASSWORD = "correct horse battery staple 42"


@functools.cache
def _default_password_hash() -> str:
    # argon2id is slow on purpose; one hash serves every factory user.
    return passwords.hash_password(DEFAULT_PASSWORD)


class Factory:
    """Rows for tests, written through the app's own session factory, and real tokens
    signed by the app's own keys."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sessionmaker = app.state.sessionmaker
        self._counter = 0

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    async def organisation(self, **fields: Any) -> Organisation:
        n = self._next()
        values: dict[str, Any] = {"name": f"Org {n}", "slug": f"org-{n}-{uuid.uuid4().hex[:6]}"}
        values.update(fields)
        async with session_scope(self.sessionmaker) as session:
            organisation = Organisation(**values)
            session.add(organisation)
        return organisation

    async def spacecraft(
        self, organisation: Organisation | None = None, **fields: Any
    ) -> Spacecraft:
        organisation = organisation or await self.organisation()
        n = self._next()
        values: dict[str, Any] = {
            "organisation_id": organisation.id,
            "name": f"Sat {n}",
            "catalog_number": str(90000 + n),
            "created_at": datetime.now(UTC),
        }
        values.update(fields)
        async with session_scope(self.sessionmaker) as session:
            spacecraft = Spacecraft(**values)
            session.add(spacecraft)
        return spacecraft

    async def user(
        self,
        organisation: Organisation | None = None,
        *,
        role: str = "operator",
        email: str | None = None,
        platform_admin: bool = False,
        active: bool = True,
    ) -> User:
        organisation = organisation or await self.organisation()
        security = self.app.state.security
        email = email or f"user{self._next()}-{uuid.uuid4().hex[:6]}@example.org"
        async with session_scope(self.sessionmaker) as session:
            user = User(
                id=uuid7(),
                organisation_id=organisation.id,
                role=role,
                is_active=active,
                is_platform_admin=platform_admin,
                email_index=pii.blind_index(email, key=security.email_index_key),
                password_hash=_default_password_hash(),
                created_at=datetime.now(UTC),
            )
            seal(user, "email", email, security.pii_keys)
            session.add(user)
        return user

    async def invitation(
        self,
        organisation: Organisation | None = None,
        *,
        email: str = "invitee@example.org",
        role: str = "viewer",
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Invitation:
        """A pending invitation (its token: ``token`` or a random one, not kept)."""
        organisation = organisation or await self.organisation()
        security = self.app.state.security
        now = datetime.now(UTC)
        async with session_scope(self.sessionmaker) as session:
            invitation = Invitation(
                id=uuid7(),
                organisation_id=organisation.id,
                role=role,
                email_index=pii.blind_index(email, key=security.email_index_key),
                token_hash=hash_token(token or uuid.uuid4().hex),
                created_at=now,
                expires_at=expires_at or now + timedelta(days=1),
            )
            seal_email(invitation, email, security.pii_keys)
            session.add(invitation)
        return invitation

    def token(self, user: User, **overrides: Any) -> str:
        tokens = self.app.state.security.tokens
        fields: dict[str, Any] = {
            "subject": str(user.id),
            "organisation_id": str(user.organisation_id),
            "role": user.role,
            "scopes": sorted(scopes_for(user.role, platform_admin=user.is_platform_admin)),
            "family_id": str(uuid.uuid4()),
        }
        fields.update(overrides)
        token, _ = tokens.issue("access", **fields)
        return str(token)

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    async def login(
        self, organisation: Organisation | None = None, *, role: str = "operator", **kw: Any
    ) -> dict[str, str]:
        """Bearer headers of a new user with ``role``."""
        return self.headers(await self.user(organisation, role=role, **kw))


@pytest.fixture
def factory(app: FastAPI) -> Factory:
    return Factory(app)
