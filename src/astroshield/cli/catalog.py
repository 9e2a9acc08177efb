"""``astroshield catalog``: import element sets into the public catalog, show an object."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer
from rich.console import Console

from astroshield.cli.inputs import (
    StrictOption,
    catalog_number_option,
    element_set_file,
    report_skipped,
)
from astroshield.cli.output import console, fail, next_step, warn
from astroshield.cli.session import run_in_session, run_with_sessionmaker

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from astroshield.astro.dynamics.elements import ElementSet
    from astroshield.catalog.service import ImportResult, ObjectDetail, Origin
    from astroshield.feeds.service import RefreshReport

app = typer.Typer(help="The space-object catalog (element-set history).", no_args_is_help=True)


class _Readable(NamedTuple):
    """A file's sets that can be stored, and how many of its sets cannot."""

    path: Path
    sets: list[ElementSet]
    skipped: int


class _Imported(NamedTuple):
    path: Path
    result: ImportResult
    skipped: int


@app.command("import")
def catalog_import(
    files: Annotated[list[Path], typer.Argument(help="OMM CSV/JSON/XML/KVN or TLE files")],
    source: Annotated[
        str | None, typer.Option(help="source recorded per set (default: the file name)")
    ] = None,
    feed: Annotated[
        bool,
        typer.Option(
            "--feed", help="record the sets as from a trusted automated feed, not a platform import"
        ),
    ] = False,
    strict: StrictOption = False,
) -> None:
    """Import element sets into the public catalog (provenance platform, or feed with
    --feed; uploaded by cli); sets already stored (same object and epoch) are skipped.

    Every file is read before anything is stored, so a file that cannot be used stores
    nothing (exit 2). Each file is then one transaction. Unreadable sets are skipped with a
    warning (with --strict they refuse their file, and so the import).

    \b
    Example:
      astroshield catalog import active.csv --source celestrak
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from astroshield.catalog.models import Provenance
    from astroshield.catalog.service import Origin

    readable = [_readable(path, strict=strict) for path in files]
    origin = Origin.public(Provenance.FEED if feed else Provenance.PLATFORM, "cli")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as progress:

        async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> list[_Imported]:
            return await _import(sessionmaker, readable, source, origin, progress)

        imported = run_with_sessionmaker(work)
    _print_import_report(imported)
    next_step(_next_command(readable[0]))


def _readable(path: Path, *, strict: bool) -> _Readable:
    """The sets of ``path`` the catalog can store; the others are warnings (or, with
    ``strict``, the one-line error), and a file with none is the error."""
    from astroshield.astro.formats.element_files import InputProblem
    from astroshield.catalog.service import storage_problem

    parsed = element_set_file(path, strict=strict)
    storable: list[ElementSet] = []
    refused: list[InputProblem] = []
    for item, line in zip(parsed.sets, parsed.lines, strict=True):
        problem = storage_problem(item)
        if problem is None:
            storable.append(item)
            continue
        located = InputProblem(parsed.source, line, None, problem)
        if strict:
            fail(located)
        refused.append(located)
    report_skipped(parsed.source, refused, total=len(parsed.sets))
    if not storable:
        fail(f"{path}: holds no element set that can be stored")
    return _Readable(path, storable, len(parsed.skipped) + len(refused))


async def _import(
    sessionmaker: async_sessionmaker[AsyncSession],
    readable: list[_Readable],
    source: str | None,
    origin: Origin,
    progress: Progress,
) -> list[_Imported]:
    """Store each file in a transaction of its own, a progress bar per file."""
    from rich.progress import TaskID

    from astroshield.catalog.service import import_element_sets
    from astroshield.db import session_scope

    imported: list[_Imported] = []
    for path, sets, skipped in readable:
        task = progress.add_task(f"importing {path.name}", total=len(sets))

        def advance(done: int, task: TaskID = task) -> None:
            progress.advance(task, done)

        async with session_scope(sessionmaker) as session:
            result = await import_element_sets(
                session, sets, source or path.name, origin, progress=advance
            )
        imported.append(_Imported(path, result, skipped))
    return imported


def _next_command(first: _Readable) -> str:
    """Screening the file just imported from the day of its newest set; a file of one
    object (a history) has nothing to screen against, so: look at the object."""
    import shlex

    numbers = {item.catalog_number for item in first.sets}
    if len(numbers) == 1:
        return f"astroshield catalog show {numbers.pop()}"
    newest = max(item.epoch for item in first.sets)
    return (
        f"astroshield screen {shlex.quote(str(first.path))} "
        f"--start {newest:%Y-%m-%dT00:00:00Z} --output events.csv"
    )


def _print_import_report(imported: list[_Imported]) -> None:
    from rich.table import Table

    table = Table(title="catalog import")
    for column in ("file", "inserted", "already present", "skipped"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for path, result, skipped in imported:
        table.add_row(
            path.name,
            str(result.inserted),
            str(result.already_present),
            str(skipped + len(result.rejected)),
        )
        for rejection in result.rejected:  # refused while storing
            warn(f"{rejection.where}: {rejection.reason}; element set skipped")
    Console().print(table)


class FeedSource(StrEnum):
    celestrak = "celestrak"
    spacetrack = "spacetrack"


@app.command("refresh")
def catalog_refresh(
    source: Annotated[FeedSource, typer.Option(help="the provider to fetch from")],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="CelesTrak GP group (default: ASTROSHIELD_CELESTRAK_GROUPS)"),
    ] = None,
    catalog_number: Annotated[
        list[str] | None,
        typer.Option(
            "--catalog-number",
            help="object to fetch (Space-Track default: every registered spacecraft's)",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Space-Track: every element set since this date (gp_history)"),
    ] = None,
) -> None:
    """Fetch element sets from CelesTrak or Space-Track into the public catalog history
    (provenance feed, source e.g. celestrak:active or space-track:gp), obeying the
    providers' usage rules (docs/feeds.md); then run the post-import follow-ups.

    \b
    Example:
      astroshield catalog refresh --source celestrak --group stations
      astroshield catalog refresh --source spacetrack --catalog-number 25544
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from astroshield.config import get_settings
    from astroshield.feeds.followups import default_followups
    from astroshield.feeds.service import RefreshRequest, recorded_refresh

    numbers = [catalog_number_option(n, "--catalog-number") for n in catalog_number or []]
    if since is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
        fail(f"--since: {since!r} is not a date (YYYY-MM-DD)")
    request = RefreshRequest(source.value, tuple(group or ()), tuple(numbers), since)
    settings = get_settings()
    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"refreshing from {source.value}")

        def advance(what: str) -> None:
            progress.update(task, description=f"{source.value}: fetched {what}")

        async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> RefreshReport:
            return await recorded_refresh(
                sessionmaker,
                settings,
                request,
                trigger="cli",
                followups=default_followups(settings),
                progress=advance,
            )

        report = run_with_sessionmaker(work)
    _print_refresh_report(source.value, report)
    if report.error:
        fail(report.error)


def _print_refresh_report(source: str, report: RefreshReport) -> None:
    from rich.table import Table

    table = Table(title=f"catalog refresh from {source}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("element sets fetched", report.fetched),
        ("inserted", report.inserted),
        ("already present", report.already_present),
        ("skipped malformed", report.skipped),
        ("requests made", report.requests),
        ("queries not repeated (unchanged or within the interval)", report.unchanged_queries),
        ("objects with new element sets", len(report.new_catalog_numbers)),
    ):
        table.add_row(label, str(value))
    Console().print(table)
    for reason in report.reasons:
        warn(f"{reason}; element set skipped")
    for problem in report.followup_errors:
        warn(f"follow-up failed: {problem}")


@app.command("show")
def catalog_show(
    catalog_number: Annotated[str, typer.Argument(help="NORAD number or Alpha-5, e.g. A0001")],
) -> None:
    """Print a public catalog object, its newest public element set and the size of its
    public history (organisations' unpublished uploads are not shown).

    \b
    Example:
      astroshield catalog show 25544
    """
    from astroshield.catalog.service import public_object_detail
    from astroshield.errors import NotFoundError

    number = catalog_number_option(catalog_number, "CATALOG_NUMBER")

    async def work(session: AsyncSession) -> ObjectDetail:
        return await public_object_detail(session, number)

    try:
        detail = run_in_session(work)
    except NotFoundError:
        console.print(f"[red]catalog object {number} not found[/]")
        raise typer.Exit(code=1) from None
    _print_object(detail)


def _print_object(detail: ObjectDetail) -> None:
    from rich.table import Table

    from astroshield.catalog.service import tle_of, to_element_set

    found = detail.catalog_object
    table = Table(title=f"catalog object {found.catalog_number}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    rows = {
        "name": found.name or "-",
        "COSPAR id": found.object_id or "-",
        "object type": found.object_type or "-",
        "regime": found.regime,
        "perigee altitude (km)": f"{found.perigee_altitude_km:.1f}",
        "apogee altitude (km)": f"{found.apogee_altitude_km:.1f}",
        "inclination (deg)": f"{found.inclination_deg:.4f}",
        "period (min)": f"{found.period_min:.2f}",
        "element sets stored": str(detail.element_set_count),
    }
    newest = detail.latest
    if newest is not None:
        rows["latest epoch (UTC)"] = newest.epoch.isoformat()
        rows["latest source"] = f"{newest.source} ({newest.provenance})"
        tle = tle_of(to_element_set(newest))
        if tle is not None:
            rows["TLE line 1"] = tle.line1
            rows["TLE line 2"] = tle.line2
    for field, value in rows.items():
        table.add_row(field, value)
    Console(width=120).print(table)
