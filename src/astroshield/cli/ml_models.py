"""``astroshield ml models list|register FILE|activate NAME VERSION``: the model registry
in the configured database (migrated first), as the API's platform administrators see it.

An activation made here reaches running replicas at once through Redis when
``ASTROSHIELD_REDIS_URL`` is set, and otherwise within ``ASTROSHIELD_ML_REGISTRY_CHECK_S``.
Refusals (a file whose sha256 is not the expected one, an unknown version, a version
registered twice) are one line and exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from astroshield.cli.ml import app as ml_app
from astroshield.cli.output import console, fail, next_step
from astroshield.cli.session import run_in_session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from astroshield.mlops.schemas import ModelRead

T = TypeVar("T")
app = typer.Typer(help="The model registry in the database.", no_args_is_help=True)
ml_app.add_typer(app, name="models")
LISTED = 1000  # versions listed at most (the registry holds a handful per model)


def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one committed transaction; a refusal is the one-line error. The
    service's log lines go to stderr: stdout is the answer (plain JSON under --json).
    (Redirected, not reconfigured: structlog's configuration is the process's, and a CLI
    run inside another program, as in the tests, must leave it as it found it.)"""
    import contextlib
    import sys

    from astroshield.errors import DomainError

    try:
        with contextlib.redirect_stdout(sys.stderr):
            return run_in_session(work)
    except DomainError as error:
        fail(error.detail)


@app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array on stdout")] = False,
) -> None:
    """Every registered version (the shipped models registered first), active ones marked.

    \b
    Example:
      astroshield ml models list --json
    """
    from astroshield.mlops import service

    async def work(session: AsyncSession) -> list[ModelRead]:
        rows = await service.list_models(session, after_id=None, limit=LISTED)
        return [service.to_read(row) for row in rows]

    models = _in_session(work)
    if as_json:
        typer.echo(json.dumps([m.model_dump(mode="json") for m in models], indent=2))
        return
    for model in sorted(models, key=lambda m: (m.name, m.registered_at)):
        mark = "*" if model.active else " "
        typer.echo(
            f"{mark} {model.name} {model.version} sha256:{model.sha256[:12]} {model.file_path}"
        )


@app.command("register")
def register_model(
    file: Annotated[Path, typer.Argument(help="the ONNX file (its metadata JSON beside it)")],
    sha256: Annotated[
        str | None,
        typer.Option(help="the sha256 you expect the file to have (default: its metadata's)"),
    ] = None,
) -> None:
    """Register an ONNX file as a new, inactive version (name and version from its JSON).

    \b
    Example:
      astroshield ml models register /srv/models/adversary_encoder-0.2.0.onnx
    """
    from astroshield.audit.service import SYSTEM
    from astroshield.ml.onnx_model import ModelFileError, read_checked_metadata
    from astroshield.mlops import service

    path = file.resolve()
    if sha256 is None:
        try:
            sha256 = str(read_checked_metadata(path)["sha256"])
        except ModelFileError as error:
            fail(str(error))

    async def work(session: AsyncSession) -> ModelRead:
        return service.to_read(
            await service.register_model(session, str(path), sha256, actor=SYSTEM)
        )

    model = _in_session(work)
    console.print(f"registered {model.name} {model.version} (inactive)", markup=False)
    next_step(f"astroshield ml models activate {model.name} {model.version}")


@app.command("activate")
def activate_model(
    name: Annotated[str, typer.Argument(help="the model's name, e.g. adversary_encoder")],
    version: Annotated[str, typer.Argument(help="the registered version to serve")],
) -> None:
    """Serve this version from now on (its file is checked against the registry first).

    \b
    Example:
      astroshield ml models activate adversary_encoder 0.2.0
    """
    from astroshield.audit.service import SYSTEM
    from astroshield.mlops import service

    async def work(session: AsyncSession) -> ModelRead:
        return service.to_read(await service.activate_model(session, name, version, actor=SYSTEM))

    model = _in_session(work)
    _announce(name)
    console.print(f"active: {model.name} {model.version}", markup=False)


def _announce(name: str) -> None:
    """Tell running replicas at once (Redis configured); they re-check on their own anyway."""
    import asyncio

    from astroshield.config import get_settings
    from astroshield.mlops.serving import ModelServer

    settings = get_settings()
    if not settings.redis_url:
        return
    server = ModelServer.for_settings(settings, lambda: 0.0)

    async def announce() -> None:
        await server.start()
        try:
            await server.announce(name)
        finally:
            await server.stop()

    asyncio.run(announce())
