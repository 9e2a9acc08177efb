"""``astroshield screen`` (close approaches in a catalog file) and ``astroshield pc``
(collision probability of a CDM)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from astroshield.cli.inputs import (
    StrictOption,
    catalog_number_option,
    element_set_file,
    parse_utc,
    report_skipped,
)
from astroshield.cli.output import console, fail, reading, warn, writing

if TYPE_CHECKING:
    from astroshield.astro.dynamics.elements import ElementSet
    from astroshield.astro.formats.cdm import Cdm
    from astroshield.astro.formats.element_files import ElementSetFile


def newest_per_object(loaded: ElementSetFile, *, strict: bool) -> list[ElementSet]:
    """One set per catalog number, the newest; each other one is skipped with a warning."""
    from astroshield.astro.formats.element_files import InputProblem

    chosen: dict[str, int] = {}
    duplicates: list[InputProblem] = []
    for index, item in enumerate(loaded.sets):
        known = chosen.get(item.catalog_number)
        if known is None:
            chosen[item.catalog_number] = index
            continue
        known_epoch = loaded.sets[known].epoch
        keep, drop = (index, known) if item.epoch > known_epoch else (known, index)
        chosen[item.catalog_number] = keep
        which = "has the same epoch" if item.epoch == known_epoch else "whose epoch is newer"
        problem = InputProblem(
            loaded.source,
            loaded.lines[drop],
            "catalog number",
            f"{item.catalog_number} appears again at line {loaded.lines[keep]}, {which}",
        )
        if strict:
            fail(problem)
        duplicates.append(problem)
    report_skipped(loaded.source, duplicates, total=len(loaded.sets))
    return [loaded.sets[index] for index in sorted(chosen.values())]


def screen(
    catalog_file: Annotated[Path, typer.Argument(help="OMM CSV/JSON/XML/KVN or TLE file")],
    start: Annotated[str, typer.Option(help="window start, ISO 8601 UTC")],
    output: Annotated[Path, typer.Option(help="events file: .csv or .json")],
    days: Annotated[float, typer.Option(min=0.001, max=30)] = 1.0,
    threshold_km: Annotated[float, typer.Option(min=0.001, max=1000)] = 5.0,
    primary: Annotated[str | None, typer.Option(help="catalog number: one-vs-all")] = None,
    workers: Annotated[int | None, typer.Option(min=1)] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port) instead of local")
    ] = None,
    scheduler_timeout_s: Annotated[
        float, typer.Option(min=0.1, help="seconds to wait for the Dask scheduler")
    ] = 10.0,
    strict: StrictOption = False,
) -> None:
    """Screen a catalog for close approaches (all-vs-all, or one-vs-all with --primary).

    An object listed twice is screened with its newest set (the other is skipped with a
    warning, or refused with --strict). An approach cut off by the window (within the
    threshold at the end and still closing, or at the start and already receding) is written
    with edge "end"/"start" and the TCA and miss at that edge; the true minimum is outside.

    \b
    Example:
      astroshield screen catalog.csv --start 2024-11-01T00:00:00Z \\
        --output events.csv
    """
    from rich.markup import escape
    from rich.progress import Progress

    from astroshield.astro.conjunction.screening import (
        SchedulerUnreachableError,
        WorkUnitFailedError,
        screen_catalog,
        write_events_csv,
        write_events_json,
    )

    if output.suffix.lower() not in (".csv", ".json"):
        fail(f"--output: {output} must end in .csv or .json")
    if scheduler is not None and workers is not None:
        fail("--scheduler: cannot be combined with --workers")
    first = parse_utc(start, "--start")
    wanted = catalog_number_option(primary, "--primary") if primary is not None else None
    elements = _screenable(catalog_file, wanted, strict=strict)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"screening {len(elements)} objects", total=None)
        try:
            result = screen_catalog(
                elements,
                first,
                timedelta(days=days),
                threshold_km,
                primary=wanted,
                workers=workers,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                scheduler=scheduler,
                scheduler_timeout_s=scheduler_timeout_s,
            )
        except (SchedulerUnreachableError, WorkUnitFailedError) as exc:
            console.print(f"[red]screening failed:[/] {escape(str(exc))}")
            raise typer.Exit(code=1) from None
    writer = write_events_json if output.suffix.lower() == ".json" else write_events_csv
    writing(output, lambda: writer(result.events, output))
    console.print(
        f"{len(result.events)} conjunctions within {threshold_km} km written to {output} "
        f"({result.stats.edge_events} cut off by the window edge: TCA and miss at the edge); "
        f"{len(result.skipped)} objects skipped (SGP4 failure)",
        highlight=False,
    )


def _screenable(catalog_file: Path, primary: str | None, *, strict: bool) -> list[ElementSet]:
    """The newest set of every object in the file; the primary must be one of them."""
    elements = newest_per_object(element_set_file(catalog_file, strict=strict), strict=strict)
    if primary is not None and primary not in {item.catalog_number for item in elements}:
        fail(f"--primary: {primary} is not in {catalog_file}")
    if len(elements) < 2:
        fail(f"{catalog_file}: holds 1 object; screening needs at least 2")
    return elements


def pc(
    cdm_file: Annotated[Path, typer.Argument(help="CCSDS CDM, KVN or XML")],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    hbr_m: Annotated[
        float | None,
        typer.Option(help="combined hard-body radius (m); wins over the CDM's and the default"),
    ] = None,
    samples: Annotated[int, typer.Option(min=1000, help="Monte Carlo samples")] = 100_000,
    seed: Annotated[int, typer.Option(help="Monte Carlo seed")] = 0,
) -> None:
    """Collision probability of a CCSDS CDM (KVN or XML) by every method we have.

    The combined hard-body radius follows the API's rule: --hbr-m, else the CDM's (HBR or
    AREA_PC of both objects, else CARA's ``COMMENT HBR = ... [m]``), else the configured
    default (ASTROSHIELD_CONJUNCTION_DEFAULT_HBR_M, 20 m) with a warning. The command reads
    a file and no database, so the API's spacecraft step (a registered
    ``hard_body_radius_m``) is skipped: pass that radius with --hbr-m.

    Data-quality findings of the CDM (e.g. a covariance that is not positive definite) and
    of the computation (e.g. the default hard-body radius was used) are warning lines on
    stderr, and so is a covariance remediated by CARA eigenvalue clipping. A Pc that cannot
    be defined (a covariance that cannot be remediated) prints as "undefined" (null in JSON)
    with its reason on stderr; that is an answer, not an error (exit 0).

    \b
    Example:
      astroshield pc conjunction.cdm --hbr-m 20 --json
    """
    import json

    from astroshield.astro.conjunction.hard_body import MAX_COMBINED_HBR_M, HbrInputs
    from astroshield.astro.conjunction.report import pc_report
    from astroshield.config import get_settings

    if hbr_m is not None and not 0.0 < hbr_m <= MAX_COMBINED_HBR_M:
        fail(
            f"--hbr-m: {hbr_m} must be a positive number of metres, at most {MAX_COMBINED_HBR_M:g}"
        )
    source = str(cdm_file)
    cdm = _read_cdm(cdm_file)
    hbr = HbrInputs(requested_m=hbr_m, default_m=get_settings().conjunction_default_hbr_m)
    try:
        report = pc_report(cdm, hbr=hbr, mc_samples=samples, seed=seed).as_dict()
    except ValueError as exc:  # the CDM's numbers give no Pc (degenerate geometry ...)
        fail(f"{source}: {exc}")
    # The parser's findings were warned about above; the rest come from the computation
    # (the hard-body radius choice, a MISS_DISTANCE that disagrees with the states).
    for issue in report["issues"][len(cdm.issues) :]:
        warn(f"{source}: {issue}")
    _warn_remediation(source, report)
    if json_output:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    for key in ("tca", "miss_distance_m", "hbr_m", "hbr_source"):
        typer.echo(f"{key:>16}: {report[key]}")
    for key in ("pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d"):
        value = report[key]
        typer.echo(f"{key:>16}: {'undefined' if value is None else value}")
    mc = report["pc_mc"]
    mc_text = "undefined" if mc["value"] is None else f"{mc['value']} (95% CI {mc['ci95']})"
    typer.echo(f"{'pc_mc':>16}: {mc_text}")


def _read_cdm(cdm_file: Path) -> Cdm:
    """The CDM of the file; its data-quality findings are warning lines on stderr."""
    import warnings

    from astroshield.astro.formats.cdm import CdmWarning, loads
    from astroshield.astro.formats.element_files import InputProblem, read_text_file

    source = str(cdm_file)
    with reading(cdm_file), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CdmWarning)
        cdm = loads(read_text_file(cdm_file))
    for finding in caught:
        message = finding.message
        if isinstance(message, CdmWarning):
            reason = str(message).removeprefix(f"line {message.line}, ")
            reason = reason.removeprefix(f"{message.keyword}: ")
            warn(InputProblem(source, message.line, message.keyword, reason))
    return cdm


def _warn_remediation(source: str, report: dict[str, Any]) -> None:
    """One stderr line for a remediated covariance, one per undefined Pc."""
    summary = report["covariance_remediation"]
    if summary["status"] in ("remediated", "not_remediable"):
        warn(f"{source}: covariance {summary['status']}: {summary['reason']}")
    for method, reason in report["pc_undefined_reason"].items():
        warn(f"{source}: {method} undefined: {reason}")
