"""``astroshield propagate`` (an ephemeris file) and ``astroshield passes`` (over a ground
station), from an element-set file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from astroshield.cli.inputs import StrictOption, catalog_number_option, element_set_file, parse_utc
from astroshield.cli.output import console, fail, writing
from astroshield.config import get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from astroshield.astro.dynamics.elements import ElementSet
    from astroshield.astro.ground.passes import Pass
    from astroshield.errors import DomainError
    from astroshield.trajectory.schemas import Frame
    from astroshield.trajectory.service import States

_WINDOW_OPTIONS = {"start": "--start", "stop": "--stop", "step_s": "--step"}
_FRAMES: dict[str, Frame] = {"TEME": "TEME", "GCRF": "GCRF", "ITRF": "ITRF"}


def one_element_set(path: Path, catalog_number: str | None, *, strict: bool) -> ElementSet:
    """The newest set of ``catalog_number`` in the file, or of the file's first object."""
    sets = element_set_file(path, strict=strict).sets
    wanted = (
        catalog_number_option(catalog_number, "--catalog-number")
        if catalog_number is not None
        else sets[0].catalog_number
    )
    chosen = [item for item in sets if item.catalog_number == wanted]
    if not chosen:
        fail(f"--catalog-number: {wanted} is not in {path}")
    # A history file holds many sets of one object: the newest is the one to propagate.
    return max(chosen, key=lambda item: item.epoch)


def propagate(
    tle_file: Annotated[Path, typer.Argument(help="TLE or OMM")],
    start: Annotated[str, typer.Option(help="first epoch, ISO 8601 UTC")],
    stop: Annotated[str, typer.Option(help="last epoch, ISO 8601 UTC")],
    output: Annotated[Path, typer.Option(help="ephemeris file: .oem, .csv or .json")],
    step: Annotated[float, typer.Option(min=0.001, max=86_400, help="seconds")] = 60.0,
    frame: Annotated[str, typer.Option(help="TEME, GCRF or ITRF")] = "GCRF",
    catalog_number: Annotated[str | None, typer.Option(help="object to pick")] = None,
    strict: StrictOption = False,
) -> None:
    """Write an SGP4 ephemeris of one object (the newest set in the file) as OEM, CSV or JSON.

    \b
    Example:
      astroshield propagate iss.tle --start 2024-11-01T00:00:00Z \\
        --stop 2024-11-02T00:00:00Z --step 60 --output iss.oem
    """
    from astroshield.errors import DomainError

    suffix = output.suffix.lower()
    if suffix not in (".oem", ".csv", ".json"):
        fail(f"--output: {output} must end in .oem, .csv or .json")
    chosen = _FRAMES.get(frame.upper())
    if chosen is None:
        fail(f"--frame: {frame!r} must be TEME, GCRF or ITRF")
    first, last = parse_utc(start, "--start"), parse_utc(stop, "--stop")
    elements = one_element_set(tle_file, catalog_number, strict=strict)
    try:
        states, text = _ephemeris(elements, first, last, step, chosen, suffix)
    except DomainError as exc:
        _fail_window(exc, tle_file)
    if text is None:
        writing(output, lambda: _write_ephemeris_csv(output, states))
    else:
        written = text
        writing(output, lambda: output.write_text(written))
    failed = int((states.error_codes != 0).sum())
    console.print(
        f"{len(states.times) - failed} states of {elements.catalog_number} ({chosen}) written "
        f"to {output}" + (f"; SGP4 failed at {failed} epochs" if failed else ""),
        highlight=False,
    )


def _ephemeris(
    elements: ElementSet, first: datetime, last: datetime, step: float, frame: Frame, suffix: str
) -> tuple[States, str | None]:
    """The states, and the file's text for OEM and JSON (CSV is written row by row)."""
    from astroshield.trajectory import service

    settings = get_settings()
    service.check_window(
        first,
        last,
        step,
        max_days=settings.trajectory_max_days,
        max_points=settings.trajectory_max_points,
        location="option",
    )
    times = service.sample_times(first, last, step)
    states = service.propagate_elements(elements, times, frame)
    if suffix == ".oem":
        return states, service.ephemeris_oem(states, frame)
    if suffix == ".json":
        return states, service.ephemeris(states, frame).model_dump_json(indent=1)
    return states, None


def _fail_window(exc: DomainError, tle_file: Path) -> NoReturn:
    """A window the service refuses, named by the options that set it."""
    problems = [
        f"{_WINDOW_OPTIONS.get(str(error['loc'][-1]), str(error['loc'][-1]))}: {error['msg']}"
        for error in exc.errors
    ]
    fail("; ".join(problems) or f"{tle_file}: {exc.detail}")


def _write_ephemeris_csv(path: Path, states: States) -> None:
    import csv

    import numpy as np

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["epoch", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "sgp4_error"]
        )
        for time, r, v, code in zip(
            states.times, states.r_km, states.v_km_s, states.error_codes, strict=True
        ):
            values = ["" if code else repr(float(x)) for x in (*r, *v)]
            writer.writerow([np.datetime_as_string(time, "us") + "Z", *values, int(code)])


def passes(
    tle_file: Annotated[Path, typer.Argument(help="TLE or OMM")],
    lat: Annotated[float, typer.Option(min=-90, max=90, help="station latitude, deg")],
    lon: Annotated[float, typer.Option(min=-180, max=360, help="station longitude, deg")],
    start: Annotated[str, typer.Option(help="window start, ISO 8601 UTC")],
    alt_km: Annotated[float, typer.Option(min=-1, max=100, help="station height, km")] = 0.0,
    days: Annotated[float, typer.Option(min=0.001, max=31)] = 1.0,
    min_el: Annotated[float, typer.Option(min=-5, max=89, help="elevation mask, deg")] = 0.0,
    catalog_number: Annotated[str | None, typer.Option(help="object to pick")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    strict: StrictOption = False,
) -> None:
    """Passes of one object over a ground station (rise, culmination, set).

    \b
    Example:
      astroshield passes iss.tle --lat 50.11 --lon 8.68 \\
        --start 2024-11-01T00:00:00Z --min-el 10
    """
    import json

    from astroshield.astro.ground.passes import GroundStation
    from astroshield.astro.ground.passes import passes as find_passes

    first = parse_utc(start, "--start")
    elements = one_element_set(tle_file, catalog_number, strict=strict)
    found = find_passes(
        elements,
        GroundStation(lat, lon, alt_km),
        first,
        first + timedelta(days=days),
        min_elevation_deg=min_el,
    )
    if json_output:
        rows = [_pass_record(item) for item in found]
        typer.echo(json.dumps({"catalog_number": elements.catalog_number, "passes": rows}))
        return
    _print_passes(elements, found)


def _pass_record(item: Pass) -> dict[str, object]:
    return {
        "rise": item.rise.isoformat(),
        "culmination": item.culmination.isoformat(),
        "set": item.set.isoformat(),
        "duration_s": round(item.duration_s, 1),
        "max_elevation_deg": round(item.max_elevation_deg, 3),
        "rise_azimuth_deg": round(item.rise_azimuth_deg, 2),
        "culmination_azimuth_deg": round(item.culmination_azimuth_deg, 2),
        "set_azimuth_deg": round(item.set_azimuth_deg, 2),
        "starts_before_window": item.starts_before_window,
        "ends_after_window": item.ends_after_window,
    }


def _print_passes(elements: ElementSet, found: list[Pass]) -> None:
    from rich.table import Table

    table = Table(title=f"passes of {elements.object_name or elements.catalog_number}")
    for column in ("rise (UTC)", "culmination", "set", "max el (deg)", "az rise/max/set"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item.rise.strftime("%Y-%m-%d %H:%M:%S") + ("*" if item.starts_before_window else ""),
            item.culmination.strftime("%H:%M:%S"),
            item.set.strftime("%H:%M:%S") + ("*" if item.ends_after_window else ""),
            f"{item.max_elevation_deg:.1f}",
            f"{item.rise_azimuth_deg:.0f}/{item.culmination_azimuth_deg:.0f}/"
            f"{item.set_azimuth_deg:.0f}",
        )
    Console(width=120).print(table)
