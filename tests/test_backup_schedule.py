"""`astroshield db backup --dir D --keep N`: timestamped backups, the oldest pruned."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from astroshield.backup import backup_name, prune_backups, scheduled_backups
from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.migrate import upgrade_async
from tests.conftest import settings_for


@pytest.fixture
def cli_env(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def _old_backups(folder: Path, count: int) -> list[Path]:
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    paths = [folder / backup_name(start + timedelta(days=day)) for day in range(count)]
    for path in paths:
        path.write_bytes(b"an older backup")
    return paths


def test_keep_prunes_the_oldest_timestamped_backups_only(tmp_path: Path) -> None:
    old = _old_backups(tmp_path, 5)
    bystanders = [
        tmp_path / "astroshield-manual.backup",  # not timestamped: never pruned
        tmp_path / "astroshield-20250101T000000Z.backup.sha256",
        tmp_path / "notes.txt",
    ]
    for path in bystanders:
        path.write_text("keep me")
    assert prune_backups(tmp_path, 2) == old[:3]
    assert scheduled_backups(tmp_path) == old[3:]
    assert all(path.exists() for path in bystanders)
    with pytest.raises(ValueError, match="at least 1"):
        prune_backups(tmp_path, 0)


async def test_cli_writes_a_timestamped_backup_then_prunes_beyond_keep(
    cli_env: str, tmp_path: Path
) -> None:
    await upgrade_async(settings_for(cli_env))
    folder = tmp_path / "backups"
    folder.mkdir()
    old = _old_backups(folder, 3)
    runner = CliRunner()
    args = ["db", "backup", "--dir", str(folder), "--keep", "2"]
    result = await asyncio.to_thread(runner.invoke, cli, args)
    assert result.exit_code == 0, result.output
    kept = scheduled_backups(folder)
    assert len(kept) == 2 and kept[0] == old[-1]
    newest = kept[-1]
    assert newest.stat().st_size > 0 and newest.name.startswith("astroshield-2")
    assert f"backup written to {newest}" in result.output
    assert all(f"pruned {path}" in result.output for path in old[:2])
    assert not any(path.name.endswith(".partial") for path in folder.iterdir())
    # The new file is a real backup: restore accepts it.
    result = await asyncio.to_thread(runner.invoke, cli, ["db", "restore", "--yes", str(newest)])
    assert result.exit_code == 0, result.output


def test_cli_refuses_keep_without_dir_and_path_with_dir(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "backup", str(tmp_path / "x"), "--keep", "3"])
    assert result.exit_code == 2 and "--keep needs --dir" in result.stderr
    result = runner.invoke(cli, ["db", "backup", str(tmp_path / "x"), "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "either PATH or --dir" in result.stderr
    result = runner.invoke(cli, ["db", "backup", "--dir", str(tmp_path), "--keep", "0"])
    assert result.exit_code == 2
