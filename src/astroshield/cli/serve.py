"""``astroshield version`` and ``astroshield serve``: the service itself."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from astroshield import __version__
from astroshield.cli.output import console
from astroshield.config import get_settings


def version() -> None:
    """Print the version.

    \b
    Example:
      astroshield version
    """
    typer.echo(__version__)


def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (dev)")] = False,
    allow_generated_keys: Annotated[
        bool,
        typer.Option(
            "--allow-generated-keys",
            help="serve on a non-loopback address although keys are generated dev keys",
        ),
    ] = False,
) -> None:
    """Run the HTTP service (migrates the database first).

    \b
    Example:
      astroshield serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from astroshield.migrate import upgrade

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    _refuse_generated_keys_off_loopback(bind_host, allow=allow_generated_keys)
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


def _refuse_generated_keys_off_loopback(host: str, *, allow: bool) -> None:
    """Generated development keys are readable by anyone with this checkout: serving them
    beyond this machine needs an explicit yes."""
    from astroshield.security.context import generated_key_purposes

    settings = get_settings()
    generated = generated_key_purposes(settings) if settings.profile != "prod" else ()
    if generated and not _is_loopback(host) and not (allow or settings.allow_generated_keys):
        typer.echo(
            f"refusing to serve on {host}: the {', '.join(generated)} keys are generated "
            f"development keys ({settings.local_keys_file}); configure real keys, bind "
            "127.0.0.1, or pass --allow-generated-keys",
            err=True,
        )
        raise typer.Exit(code=2)


def _is_loopback(host: str) -> bool:
    """Only this machine can reach the address (a name other than localhost may resolve
    anywhere, so it counts as reachable from outside)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
