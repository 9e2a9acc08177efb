"""Database backup and restore: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from astroshield.config import Settings


class BackupError(RuntimeError):
    pass


class BackupFileError(BackupError):
    """The file given to restore is not a backup this database can read (the message says
    why, without the path)."""


# The first bytes of an SQLite database and of a pg_dump custom-format archive.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_CUSTOM_MAGIC = b"PGDMP"


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


def check_backup_file(settings: Settings, source: Path) -> None:
    """Refuse, before anything is touched, a path that is not a backup of this database's
    kind: missing, not a regular file, unreadable, or without the format's signature."""
    try:
        info = source.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise BackupFileError(f"is {kind}, not a backup file")
        with source.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupFileError("no such file") from None
    except OSError as exc:
        raise BackupFileError(f"cannot be read: {exc.strerror or exc}") from None
    if settings.is_sqlite and not head.startswith(_SQLITE_MAGIC):
        raise BackupFileError("is not an SQLite database (no SQLite header)")
    if not settings.is_sqlite and not head.startswith(_PG_CUSTOM_MAGIC):
        raise BackupFileError("is not a pg_dump custom-format archive (no PGDMP header)")


def restore(settings: Settings, source: Path) -> None:
    check_backup_file(settings, source)
    if settings.is_sqlite:
        check = sqlite3.connect(source)
        try:
            intact = check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        except sqlite3.DatabaseError:
            intact = False
        finally:
            check.close()
        if not intact:
            raise BackupFileError("is not an intact SQLite database")
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
