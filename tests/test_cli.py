from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from astroshield import __version__
from astroshield.cli import app as cli
from astroshield.config import get_settings


@pytest.fixture
def cli_database(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def test_version() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0 and result.output.strip() == __version__


async def test_db_commands(cli_database: str) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args))
        return result.exit_code, result.output

    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 1 and "(empty database)" in output  # not at head: non-zero for scripts
    code, _ = await asyncio.to_thread(run, "db", "upgrade")
    assert code == 0
    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 0
    revisions = dict(
        line.split(":", 1) for line in output.splitlines() if line.startswith(("current:", "head:"))
    )
    current, head = revisions["current"].strip(), revisions["head"].strip()

    assert current == head
    code, output = await asyncio.to_thread(run, "db", "seed")
    assert code == 0 and "seeded 8 spacecraft" in output
    code, output = await asyncio.to_thread(run, "db", "seed")
    assert code == 0 and "seeded 0 spacecraft" in output  # idempotent
    code, _ = await asyncio.to_thread(run, "db", "downgrade", "base")
    assert code == 0
    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 1 and "(empty database)" in output
