"""Database backup and restore: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from datetime import UTC, datetime
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
    _restore_postgres(settings, source)


# The restore replaces every object of these schemas in one transaction. (pg_restore --clean
# cannot: it drops a partition's inherited constraints one by one, which PostgreSQL refuses.)
_REPLACED_SCHEMAS_SQL = """\
DROP SCHEMA IF EXISTS telemetry_partitions CASCADE;
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
"""


def _restore_postgres(settings: Settings, source: Path) -> None:
    """The archive as SQL (pg_restore), run by psql after the drop of the schemas it
    replaces, all in one transaction: a failure anywhere leaves the database as it was."""
    restore_args, env = _pg_command(settings, "pg_restore")
    script = subprocess.run(  # noqa: S603 (argument list, never a shell string)
        [*restore_args[:1], "--no-owner", "--file", "-", str(source)],
        env=env,
        capture_output=True,
        check=False,
    )
    if script.returncode != 0:
        stderr = script.stderr.decode(errors="replace").strip()[:2000]
        raise BackupError(f"pg_restore failed: {stderr}")
    psql_args, env = _pg_command(settings, "psql")
    database = make_url(settings.database_url).database or "postgres"
    result = subprocess.run(  # noqa: S603
        [
            *psql_args,
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            "--dbname",
            database,
            "--file",
            "-",
        ],
        input=_REPLACED_SCHEMAS_SQL.encode() + script.stdout,
        env=env,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()[:2000]
        raise BackupError(f"restore failed: {stderr}")


# Scheduled backups: `astroshield db backup --dir D --keep N` (a systemd timer runs it, see
# deploy/ and docs/operations.md). Names sort by time, so pruning needs no file dates, and
# only files with this exact shape are ever pruned: nothing else in the folder is touched.
BACKUP_PREFIX = "astroshield-"
BACKUP_SUFFIX = ".backup"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP_LENGTH = len("20261207T130501Z")


def backup_name(when: datetime) -> str:
    return f"{BACKUP_PREFIX}{when.astimezone(UTC).strftime(_STAMP_FORMAT)}{BACKUP_SUFFIX}"


def _is_scheduled_backup(path: Path) -> bool:
    name = path.name
    if not (name.startswith(BACKUP_PREFIX) and name.endswith(BACKUP_SUFFIX)):
        return False
    stamp = name[len(BACKUP_PREFIX) : -len(BACKUP_SUFFIX)]
    if len(stamp) != _STAMP_LENGTH:
        return False
    try:
        datetime.strptime(stamp, _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return False
    return path.is_file()


def scheduled_backups(directory: Path) -> list[Path]:
    """The timestamped backups in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if _is_scheduled_backup(path))


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest timestamped backups; returns the deleted paths."""
    if keep < 1:
        raise ValueError("keep must be at least 1: the newest backup is never deleted")
    backups = scheduled_backups(directory)
    removed = backups[: max(0, len(backups) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def backup_to_directory(
    settings: Settings, directory: Path, keep: int | None, now: datetime | None = None
) -> tuple[Path, list[Path]]:
    """Write ``directory/astroshield-<UTC time>.backup``, then prune beyond ``keep`` (None:
    prune nothing).

    The backup is written under a temporary name and renamed when complete, so a failed or
    interrupted run never leaves a file that looks like a backup, and never prunes.
    """
    if keep is not None and keep < 1:
        raise ValueError("keep must be at least 1: the newest backup is never deleted")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / backup_name(now or datetime.now(UTC))
    if target.exists():
        raise BackupError(f"{target.name} already exists (one backup per second at most)")
    partial = directory / f".{target.name}.partial"
    try:
        backup(settings, partial)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target, [] if keep is None else prune_backups(directory, keep)
