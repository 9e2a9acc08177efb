"""Reading the files and options commands share: element-set files, catalog numbers, times.

A command reading an element-set file skips an unreadable set with one warning line naming
it and a summary count, unless ``--strict`` is given; a file with no readable set is an
error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from astroshield.cli.output import fail, reading, warn

if TYPE_CHECKING:
    from astroshield.astro.dynamics.elements import ElementSet
    from astroshield.astro.formats.element_files import ElementSetFile, InputProblem

SKIPPED_SHOWN = 50  # warning lines per file before the rest are only counted
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="refuse the file at its first unreadable element set (default: skip the set "
        "with a warning)",
    ),
]


def element_set_file(path: Path, *, strict: bool) -> ElementSetFile:
    """The readable sets of ``path``; each skipped set is a warning line, then a count."""
    from astroshield.astro.formats.element_files import read_element_set_file

    with reading(path):
        loaded = read_element_set_file(path, strict=strict)
    report_skipped(loaded.source, loaded.skipped, total=len(loaded.sets) + len(loaded.skipped))
    return loaded


def one_object_history(path: Path, *, strict: bool) -> list[ElementSet]:
    """The readable sets of ``path``, refused (one line naming the line) when a set is of a
    second object: a history is one object's."""
    from astroshield.astro.formats.element_files import InputProblem

    loaded = element_set_file(path, strict=strict)
    first = loaded.sets[0].catalog_number
    for item, line in zip(loaded.sets, loaded.lines, strict=True):
        if item.catalog_number != first:
            fail(
                InputProblem(
                    loaded.source,
                    line,
                    "catalog number",
                    f"{item.catalog_number} is a second object; the history must be of one "
                    f"object (the first set is of {first})",
                )
            )
    return loaded.sets


def report_skipped(source: str, skipped: list[InputProblem], *, total: int) -> None:
    for problem in skipped[:SKIPPED_SHOWN]:
        warn(f"{problem}; element set skipped")
    if len(skipped) > SKIPPED_SHOWN:
        warn(f"{source}: {len(skipped) - SKIPPED_SHOWN} more skipped sets not listed")
    if skipped:
        warn(
            f"{source}: {len(skipped)} of {total} element sets skipped "
            "(--strict refuses the file instead)"
        )


def catalog_number_option(value: str, option: str) -> str:
    from astroshield.astro.ids import IdentifierError, normalize_catalog_number

    try:
        return normalize_catalog_number(value)
    except IdentifierError as error:
        fail(f"{option}: {error}")


def parse_utc(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO 8601 time like 2024-11-01T00:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
