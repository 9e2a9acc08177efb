"""``astroshield db``: schema migrations, demo data, backup and restore."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from astroshield.cli.output import console, fail, next_step
from astroshield.cli.session import run_in_session, run_on_engine
from astroshield.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Database schema, demo data, backup and restore.", no_args_is_help=True)

FIRST_ADMIN = (
    "astroshield user create --email admin@example.org --organisation acme --password-stdin"
)


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head).

    \b
    Example:
      astroshield db upgrade
    """
    from astroshield.migrate import upgrade

    upgrade(get_settings(), revision)
    console.print(f"database upgraded to {revision}")
    next_step(FIRST_ADMIN)


@app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION.

    \b
    Example:
      astroshield db downgrade -1
    """
    from astroshield.migrate import downgrade

    downgrade(get_settings(), revision)
    console.print(f"database downgraded to {revision}")


@app.command("current")
def db_current() -> None:
    """Print the applied revision and the code's head revision.

    \b
    Example:
      astroshield db current
    """
    from astroshield.migrate import current_revision, head_revision

    current = run_on_engine(current_revision, migrate=False)
    head = head_revision(get_settings())
    typer.echo(f"current: {current or '(empty database)'}\nhead:    {head}")
    if current != head:
        next_step("astroshield db upgrade")
        raise typer.Exit(code=1)


@app.command("seed")
def db_seed() -> None:
    """Load the demo organisations and spacecraft (idempotent; migrates first).

    \b
    Example:
      astroshield db seed
    """
    from astroshield.seed import seed_demo_data

    async def work(session: AsyncSession) -> int:
        return await seed_demo_data(session)

    with console.status("seeding demo data"):
        created = run_in_session(work)
    console.print(f"seeded {created} spacecraft")
    next_step("astroshield serve")


@app.command("backup")
def db_backup(
    path: Annotated[Path | None, typer.Argument(help="backup file to write (or use --dir)")] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="write DIR/astroshield-<UTC time>.backup instead of PATH (for schedules)",
        ),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            min=1,
            help="with --dir: then delete all but the KEEP newest timestamped backups there",
        ),
    ] = None,
) -> None:
    """Write a consistent backup of the database to PATH, or a timestamped one to DIR.

    \b
    Example:
      astroshield db backup backups/astroshield-2024-11-01.backup
    or, from a timer (keeps the 14 newest):
      astroshield db backup --dir /var/backups/astroshield --keep 14
    """
    from astroshield.backup import BackupError, backup, backup_to_directory

    if (path is None) == (directory is None):
        fail("give either PATH or --dir DIR")
    if keep is not None and directory is None:
        fail("--keep needs --dir")
    removed: list[Path] = []
    try:
        with console.status(f"backing up to {path or directory}"):
            if directory is None:
                target = path or Path()
                backup(get_settings(), target)
            else:
                target, removed = backup_to_directory(get_settings(), directory, keep)
    except BackupError as exc:
        console.print(f"[red]backup failed:[/] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"backup written to {target} ({target.stat().st_size} bytes)", highlight=False)
    for old in removed:
        console.print(f"pruned {old}", highlight=False)


@app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="backup file to restore")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the database contents with the backup at PATH.

    \b
    Example:
      astroshield db restore backups/astroshield-2024-11-01.backup --yes
    """
    from astroshield.backup import BackupError, BackupFileError, check_backup_file, restore

    settings = get_settings()
    try:
        check_backup_file(settings, path)  # before asking: a wrong file needs no confirmation
    except BackupFileError as exc:
        fail(f"{path}: {exc}")
    if not yes:
        typer.confirm("This replaces every row in the database. Continue?", abort=True)
    try:
        with console.status(f"restoring from {path}"):
            restore(settings, path)
    except BackupFileError as exc:
        fail(f"{path}: {exc}")
    except BackupError as exc:
        console.print(f"[red]restore failed:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(f"restored from {path}")
    next_step("astroshield db current")
