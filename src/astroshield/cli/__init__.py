"""``astroshield`` command line: serve, database administration, keys, audit, analysis.

One module per command group; they share the output helpers (``output``: one-line errors,
exit 2 for bad input), the readers of element-set files and options (``inputs``) and the
database session (``session``). Usage errors are one line too (``usage``).
"""

from __future__ import annotations

import typer

from astroshield.cli import (
    audit,
    catalog,
    config,
    conjunctions,
    db,
    keys,
    maneuvers,
    ml,
    serve,
    trajectory,
    users,
)
from astroshield.cli.usage import OneLineUsageErrors

app = typer.Typer(
    cls=OneLineUsageErrors,
    help="AstroShield space domain awareness service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.command()(serve.version)
app.command()(serve.serve)
app.command()(conjunctions.screen)
app.command()(conjunctions.pc)
app.command("propagate")(trajectory.propagate)
app.command("passes")(trajectory.passes)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.retention_app, name="retention")
app.add_typer(maneuvers.app, name="maneuvers")
app.add_typer(catalog.app, name="catalog")
app.add_typer(config.app, name="config")
app.add_typer(ml.app, name="ml")


def main() -> None:
    app()


__all__ = ["app", "main"]
