"""Database backup and restore: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from astroshield.config import Settings


class BackupError(RuntimeError):
    pass


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies a consistent snapshot even while the service is writing.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _pg_command(settings: Settings, tool: str) -> tuple[list[str], dict[str, str]]:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not installed (it comes with the PostgreSQL client)")
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password  # kept off the command line, where ps would show it
    args = [executable, "--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _run(args: list[str], env: dict[str, str]) -> None:
    # Argument list from shutil.which and settings, never a shell string.
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[:2000]}")


def backup(settings: Settings, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        source = _sqlite_path(settings)
        if not source.exists():
            raise BackupError(f"database file {source} does not exist")
        target.unlink(missing_ok=True)
        _copy_sqlite(source, target)
        return
    args, env = _pg_command(settings, "pg_dump")
    database = make_url(settings.database_url).database or "postgres"
    _run([*args, "--format=custom", "--no-owner", "--file", str(target), database], env)


def restore(settings: Settings, source: Path) -> None:
    if not source.exists():
        raise BackupError(f"backup file {source} does not exist")
    if settings.is_sqlite:
        check = sqlite3.connect(source)
        try:
            intact = check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        except sqlite3.DatabaseError:
            intact = False
        finally:
            check.close()
        if not intact:
            raise BackupError(f"{source} is not an intact SQLite database")
        _copy_sqlite(source, _sqlite_path(settings))
        return
    args, env = _pg_command(settings, "pg_restore")
    database = make_url(settings.database_url).database or "postgres"
    _run(
        [
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            database,
            str(source),
        ],
        env,
    )
