"""``astroshield maneuvers``: maneuver detection in one object's element-set history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from astroshield.cli.inputs import StrictOption, one_object_history
from astroshield.cli.output import console, fail, writing

if TYPE_CHECKING:
    from astroshield.astro.dynamics.elements import ElementSet

app = typer.Typer(help="Maneuver detection.", no_args_is_help=True)


@app.command("detect")
def maneuvers_detect(
    history_file: Annotated[Path, typer.Argument(help="one object's TLE or OMM history")],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    plot: Annotated[Path | None, typer.Option(help="PNG of the element histories")] = None,
    strict: StrictOption = False,
) -> None:
    """Detect maneuvers in one object's TLE/OMM history.

    \b
    Example:
      astroshield maneuvers detect cryosat-2.tle --plot cryosat-2.png
    """
    import json

    from astroshield.astro.ccdm.maneuvers import detect_maneuvers, to_json_records
    from astroshield.astro.plots.maneuvers import maneuver_history_plot

    elements = _history(history_file, strict=strict)
    with console.status(f"analysing {len(elements)} element sets"):
        detections = detect_maneuvers(elements)
    if plot is not None:
        chosen_plot = plot
        writing(
            chosen_plot,
            lambda: chosen_plot.write_bytes(maneuver_history_plot(elements, detections)),
        )
        console.print(
            f"plot of {len(elements)} element sets and {len(detections)} maneuvers written "
            f"to {plot}",
            highlight=False,
        )
    records = to_json_records(detections)
    if json_output:
        typer.echo(json.dumps(records, indent=2))
        return
    for record in records:
        typer.echo(
            f"{record['epoch']}  {record['kind']:<13} dv={record['delta_v_m_s']:.4f} m/s "
            f"confidence={record['confidence']:.2f}"
        )
    console.print(f"{len(records)} maneuvers detected")


def _history(history_file: Path, *, strict: bool) -> list[ElementSet]:
    """The file's sets, all of one object and enough of them to detect anything."""
    from astroshield.astro.ccdm.maneuvers import MIN_HISTORY_SETS

    elements = one_object_history(history_file, strict=strict)
    if len(elements) < MIN_HISTORY_SETS:
        fail(
            f"{history_file}: {len(elements)} readable element sets; maneuver detection "
            f"needs at least {MIN_HISTORY_SETS}"
        )
    return elements
