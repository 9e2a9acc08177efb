"""`astroshield db backup` then `db restore` gives back identical rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
from astroshield.migrate import upgrade_async
from astroshield.models import metadata
from astroshield.seed import seed_demo_data
from tests.conftest import settings_for


@pytest.fixture
def cli_env(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


async def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_unpooled_engine(settings_for(url))
    try:
        async with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(row) for row in await connection.execute(select(table))), key=repr
                )
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def _mutate(url: str) -> None:
    engine = create_unpooled_engine(settings_for(url))
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            from astroshield.spacecraft.models import Spacecraft

            for craft in (await session.execute(select(Spacecraft))).scalars():
                craft.name = craft.name + " (edited)"
    finally:
        await engine.dispose()


async def test_backup_then_restore_gives_identical_rows(cli_env: str, tmp_path: Path) -> None:
    settings = settings_for(cli_env)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    async with session_scope(create_sessionmaker(engine)) as session:
        assert await seed_demo_data(session) == 8
    await engine.dispose()
    before = await _dump(cli_env)
    assert len(before["spacecraft"]) == 8 and len(before["spacecraft_status_reports"]) == 8

    runner = CliRunner()
    target = tmp_path / "backup.dump"
    result = await asyncio.to_thread(runner.invoke, cli, ["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0

    await _mutate(cli_env)
    assert await _dump(cli_env) != before

    result = await asyncio.to_thread(runner.invoke, cli, ["db", "restore", "--yes", str(target)])
    assert result.exit_code == 0, result.output
    assert await _dump(cli_env) == before


async def test_restore_refuses_a_file_that_is_no_backup_in_one_line(
    cli_env: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    kind = "an SQLite database" if "sqlite" in cli_env else "a pg_dump custom-format archive"
    corrupt = tmp_path / "corrupt.dump"
    corrupt.write_bytes(b"this is not a backup" * 100)
    empty = tmp_path / "empty.dump"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.dump"
    folder.mkdir()
    cases = {
        tmp_path / "nope": "no such file",
        corrupt: f"is not {kind}",
        empty: f"is not {kind}",
        folder: "is a directory, not a backup file",
    }
    for path, reason in cases.items():
        # Without --yes: a file that is no backup is refused before any question is asked.
        result = await asyncio.to_thread(runner.invoke, cli, ["db", "restore", str(path)])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"astroshield: error: {path}: {reason}")
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
