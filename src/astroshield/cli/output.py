"""What every command prints when something is wrong, in one place.

Bad input never prints a traceback: a command that cannot use a file (or an option) prints
one line ``astroshield: error: FILE:LINE: FIELD: message`` on stderr and exits 2; a problem
it can live with is one line ``astroshield: warning: ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from astroshield.astro.formats.element_files import InputProblem

console = Console(stderr=True, soft_wrap=True)  # never break paths or messages mid-line
INPUT_ERROR_EXIT = 2  # bad input (a file, an option): the caller must change something


def one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def fail(message: str | InputProblem) -> NoReturn:
    """Print ``astroshield: error: <message>`` as one line on stderr and exit 2."""
    typer.echo(f"astroshield: error: {one_line(str(message))}", err=True)
    raise typer.Exit(code=INPUT_ERROR_EXIT)


def warn(message: str | InputProblem) -> None:
    typer.echo(f"astroshield: warning: {one_line(str(message))}", err=True)


@contextmanager
def reading(source: Path | str) -> Iterator[None]:
    """Turn any error raised while parsing ``source`` into the one-line error (exit 2).

    Parsers report bad input as ValueError subclasses that locate it; anything else a
    parser raises on odd input is still the input's fault, and still not a traceback.
    """
    from astroshield.astro.formats.element_files import ElementFileError, problem_of

    try:
        yield
    except typer.Exit:
        raise
    except ElementFileError as error:
        fail(str(error))
    except ValueError as error:
        fail(problem_of(error, str(source)))
    except Exception as error:  # a parser bug on odd input: the input's problem all the same
        fail(f"{source}: cannot be read ({type(error).__name__}: {error})")


def writing(path: Path, write: Callable[[], object]) -> None:
    """Write an output file; a path that cannot be written is the one-line error."""
    try:
        write()
    except OSError as error:
        fail(f"{path}: cannot be written: {error.strerror or error}")


def next_step(command: str) -> None:
    """One ``next: <command>`` line on stderr: the command that naturally follows.

    Stderr, so that stdout stays the command's answer (plain JSON under --json).
    """
    console.print(f"next: {command}", markup=False, highlight=False)
