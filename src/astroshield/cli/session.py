"""The database for commands: migrated first, one unpooled engine per command, disposed
when the command's work is done (a command is one short process; a pool would only keep
connections open after it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from astroshield.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

T = TypeVar("T")


def run_on_engine(work: Callable[[AsyncEngine], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run ``work`` with an engine on the configured database (migrated to head first
    unless ``migrate`` is false)."""
    from astroshield.db import create_unpooled_engine
    from astroshield.migrate import upgrade

    settings = get_settings()
    if migrate:
        upgrade(settings)

    async def run() -> T:
        engine = create_unpooled_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def run_with_sessionmaker(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run ``work`` with a session factory on a migrated database (for work made of
    several transactions)."""
    from astroshield.db import create_sessionmaker

    return run_on_engine(lambda engine: work(create_sessionmaker(engine)))


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a migrated database."""
    from astroshield.db import session_scope

    async def in_session(sessionmaker: async_sessionmaker[AsyncSession]) -> T:
        async with session_scope(sessionmaker) as session:
            return await work(session)

    return run_with_sessionmaker(in_session)
