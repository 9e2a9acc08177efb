"""Fresh databases for a test run: a temporary SQLite file or a new PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def test_database_url() -> str:
    """The run's database: ``ASTROSHIELD_TEST_DATABASE_URL`` or SQLite."""
    return os.environ.get("ASTROSHIELD_TEST_DATABASE_URL", "sqlite")


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


async def _connect(url: str, connect_timeout_s: float) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        timeout=connect_timeout_s,
    )


async def postgres_reachable(url: str) -> bool:
    try:
        connection = await _connect(url, connect_timeout_s=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def _admin(url: str, statement: str) -> None:
    connection = await _connect(url, connect_timeout_s=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(base_url: str, tmp_dir: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty database that is dropped afterwards.

    On PostgreSQL a uniquely named database is created next to ``base_url``'s one, so
    concurrent runs on one server never see each other's rows.
    """
    if not is_postgres(base_url):
        path = tmp_dir / f"astroshield-{secrets.token_hex(4)}.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"astroshield_test_{secrets.token_hex(6)}"
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TcpProxy:
    """A TCP forwarder that a test can cut and restore, to make a server vanish for real."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
