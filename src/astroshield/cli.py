"""``astroshield`` command line: serve, database administration, version."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from astroshield import __version__
from astroshield.config import get_settings

app = typer.Typer(
    help="AstroShield space domain awareness service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
db_app = typer.Typer(help="Database schema, demo data, backup and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True, soft_wrap=True)  # never break paths or messages mid-line


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (dev)")] = False,
) -> None:
    """Run the HTTP service (migrates the database first)."""
    import uvicorn

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    from astroshield.migrate import upgrade

    upgrade(settings)
    console.print(
        f"[bold green]AstroShield {__version__}[/] on http://{bind_host}:{bind_port} "
        f"(database: {settings.database_url.split('@')[-1]})\n"
        f"  API docs:  http://{bind_host}:{bind_port}/docs\n"
        f"  readiness: http://{bind_host}:{bind_port}/readyz   — Ctrl-C stops"
    )
    uvicorn.run(
        "astroshield.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        reload=reload,
        proxy_headers=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        log_config=None,
        access_log=settings.profile != "prod",
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from astroshield.migrate import upgrade

    upgrade(get_settings(), revision)
    console.print(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from astroshield.migrate import downgrade

    downgrade(get_settings(), revision)
    console.print(f"database downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the applied revision and the code's head revision."""
    from astroshield.db import create_unpooled_engine
    from astroshield.migrate import current_revision, head_revision

    settings = get_settings()

    async def read() -> str | None:
        engine = create_unpooled_engine(settings)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current, head = asyncio.run(read()), head_revision(settings)
    typer.echo(f"current: {current or '(empty database)'}\nhead:    {head}")
    if current != head:
        raise typer.Exit(code=1)


@db_app.command("seed")
def db_seed() -> None:
    """Load the demo organisations and spacecraft (idempotent; migrates first)."""
    from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
    from astroshield.migrate import upgrade
    from astroshield.seed import seed_demo_data

    settings = get_settings()
    upgrade(settings)

    async def run() -> int:
        engine = create_unpooled_engine(settings)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await seed_demo_data(session)
        finally:
            await engine.dispose()

    with console.status("seeding demo data"):
        created = asyncio.run(run())
    console.print(f"seeded {created} spacecraft")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="backup file to write")]) -> None:
    """Write a consistent backup of the database to PATH."""
    from astroshield.backup import BackupError, backup

    try:
        with console.status(f"backing up to {path}"):
            backup(get_settings(), path)
    except BackupError as exc:
        console.print(f"[red]backup failed:[/] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"backup written to {path}")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="backup file to restore")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the database contents with the backup at PATH."""
    from astroshield.backup import BackupError, restore

    if not yes:
        typer.confirm("This replaces every row in the database. Continue?", abort=True)
    try:
        with console.status(f"restoring from {path}"):
            restore(get_settings(), path)
    except BackupError as exc:
        console.print(f"[red]restore failed:[/] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"restored from {path}")


def main() -> None:
    app()
