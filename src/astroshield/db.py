"""Async engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import ColumnElement, DateTime, MetaData, Select, event, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from astroshield.config import Settings

_log = structlog.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone type and hands back naive values; storing UTC and
    re-attaching the zone on the way out keeps comparisons in code correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern written with ``escape="\\"``: user input
    must not widen a search with its own ``%`` or ``_``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def uuid7() -> uuid.UUID:
    """RFC 9562 version-7 UUID: time ordered, so keyset pagination by id follows creation."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# The settings each engine was made from, so that code holding only a session can reach
# per-deployment material that must never be in the database (the audit chain's key).
_engine_settings: WeakKeyDictionary[Engine, Settings] = WeakKeyDictionary()


def _remember(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    _engine_settings[engine.sync_engine] = settings
    return engine


def settings_of(bind: Engine | Connection) -> Settings:
    """The settings the engine behind ``bind`` (``session.get_bind()``) was created from."""
    try:
        return _engine_settings[bind.engine]
    except KeyError:
        raise RuntimeError(
            "this engine was not made by astroshield.db.create_engine/create_unpooled_engine"
        ) from None


def create_engine(settings: Settings) -> AsyncEngine:
    return _remember(_create_engine(settings), settings)


def _create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if settings.is_sqlite:
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            pool_pre_ping=False,
            connect_args={"timeout": settings.db_connect_timeout_s},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    server_settings = {"application_name": settings.service_name}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": settings.db_command_timeout_s,
            "server_settings": server_settings,
        },
    )
    event.listen(engine.sync_engine, "handle_error", _timeout_is_disconnect)
    return engine


def _timeout_is_disconnect(context: ExceptionContext) -> DBAPIError | None:
    """A command that timed out on the client (the database went silent) leaves the
    connection in an unknown state: drop it, and raise what a lost connection raises (a
    DBAPIError marked invalidated), which the API answers with 503 and Retry-After."""
    if not isinstance(context.original_exception, TimeoutError):
        return None
    context.is_disconnect = True
    if isinstance(context.sqlalchemy_exception, DBAPIError):
        return None
    return DBAPIError(
        context.statement,
        context.parameters,
        context.original_exception,
        connection_invalidated=True,
    )


def create_unpooled_engine(settings: Settings) -> AsyncEngine:
    """An engine that holds no connection between uses (CLI commands, readiness probes)."""
    engine = create_async_engine(
        settings.database_url,
        poolclass=NullPool,
        connect_args={"timeout": settings.db_connect_timeout_s},
    )
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return _remember(engine, settings)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_AFTER_COMMIT_KEY = "astroshield.after_commit"


def after_commit_of(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the unit of work that owns ``session`` has committed (never
    after a rollback), for services that are handed a session rather than a request."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


class UnitOfWork:
    """A session opened on first use and finished exactly once.

    Work that never touches the database (a cache hit, a probe) costs no connection and
    no round trip.
    """

    __slots__ = ("_after_commit", "_session", "_sessionmaker")

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession] | None) -> None:
        # None before the app's lifespan ran: fine for work that needs no database
        # (a CORS preflight, a refusal), an error for work that does.
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the commit succeeded (never after a rollback): a
        notification must not announce a change that was not stored."""
        self._after_commit.append(callback)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            if self._sessionmaker is None:
                raise RuntimeError("no database: the application's lifespan has not started")
            self._session = self._sessionmaker()
        return self._session

    async def commit(self) -> None:
        if self._session is not None and self._session.in_transaction():
            await self._session.commit()
        callbacks, self._after_commit = self._after_commit, []
        if self._session is not None:
            callbacks += self._session.info.pop(_AFTER_COMMIT_KEY, [])
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the data is stored; a failed side effect must not undo the 2xx
                _log.exception("after_commit_failed")

    async def rollback(self) -> None:
        self._after_commit.clear()
        if self._session is not None:
            self._session.info.pop(_AFTER_COMMIT_KEY, None)
        if self._session is not None and self._session.in_transaction():
            try:
                await self._session.rollback()
            except DBAPIError as exc:
                # The connection is gone (killed, timed out): the server discards its open
                # transaction itself, nothing is left to undo. Raising here would turn the
                # answer of the request being unwound (often a 503) into a 500.
                _log.warning("rollback_failed", error=type(exc.orig).__name__)
                await self._session.invalidate()

    async def close(self) -> None:
        """Release the connection if one is still held (after commit or rollback none is)."""
        if self._session is not None:
            session, self._session = self._session, None
            if session.in_transaction():
                await session.close()


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request: commit when the body succeeds, roll back when
    it raises."""
    unit = UnitOfWork(sessionmaker)
    try:
        yield unit.session
        await unit.commit()
    except BaseException:
        await unit.rollback()
        raise
    finally:
        await unit.close()


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT for the session's database (both dialects share the API)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _is_postgres(executor: AsyncConnection | AsyncSession) -> bool:
    if isinstance(executor, AsyncSession):
        return executor.get_bind().dialect.name == "postgresql"
    return executor.dialect.name == "postgresql"


async def hold_transaction_lock(executor: AsyncConnection | AsyncSession, key: int) -> None:
    """Wait for PostgreSQL's advisory lock ``key`` and hold it until the transaction
    ends; SQLite serialises writers on its own."""
    if _is_postgres(executor):
        await executor.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def try_transaction_lock(executor: AsyncConnection | AsyncSession, key: int) -> bool:
    """Take PostgreSQL's advisory lock ``key`` until the transaction ends if nobody holds
    it: False when another replica does (it is doing this work now). Always True on
    SQLite, where one process owns the file."""
    if not _is_postgres(executor):
        return True
    result = await executor.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
    return bool(result.scalar())


async def lease_rows(
    session: AsyncSession,
    key: InstrumentedAttribute[Any],
    candidates: Select[Any],
    still_claimable: Sequence[ColumnElement[bool]],
    values: Mapping[str, Any],
    *,
    lock_key: int,
    locked: Any,
) -> None:
    """Lease the rows whose ``key`` ``candidates`` selects, in one conditional UPDATE that
    sets ``values`` where ``still_claimable`` holds. On PostgreSQL claimers take turns
    under the advisory lock ``lock_key`` and skip rows another transaction holds
    (``FOR UPDATE SKIP LOCKED OF locked``); on SQLite the statement holds the single
    writer's lock. The caller commits the lease before acting on the rows."""
    if _is_postgres(session):
        await hold_transaction_lock(session, lock_key)
        candidates = candidates.with_for_update(skip_locked=True, of=locked)
    await session.execute(
        update(key.class_)
        .where(key.in_(candidates.scalar_subquery()), *still_claimable)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
