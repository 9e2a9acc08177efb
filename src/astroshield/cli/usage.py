"""Usage errors (an unknown option, a missing argument, a value out of range) as one line.

Click answers them with the usage, a hint and a boxed panel; a script reading stderr gets
one line ``astroshield: error: <what click says> (try '<command> --help')`` and exit 2, like
any other bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from astroshield.cli.output import one_line


@contextmanager
def _usage_errors_as_one_line() -> Iterator[None]:
    # Typer vendors click and publishes only the base of click's exceptions; the usage
    # errors are the ones that carry the context of the command they concern.
    try:
        yield
    except typer.TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            raise  # a bare group prints its help: that is the answer, not an error
        context = getattr(error, "ctx", None)
        hint = f" (try '{context.command_path} --help')" if context is not None else ""
        typer.echo(f"astroshield: error: {one_line(error.format_message())}{hint}", err=True)
        raise typer.Exit(error.exit_code) from None


class OneLineUsageErrors(TyperGroup):
    """The root command. Subcommands parse their arguments inside the root's ``invoke``,
    so catching there (and in the root's own parsing) covers every level."""

    # Any: the context classes are those of typer's vendored click, which it does not export.
    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        with _usage_errors_as_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_as_one_line():
            return super().invoke(ctx)
