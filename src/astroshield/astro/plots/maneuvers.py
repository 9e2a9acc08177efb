"""Element history of one object with its detected maneuvers marked, as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from astroshield.astro.ccdm.maneuvers import ManeuverDetection, element_history
from astroshield.astro.ccdm.maneuvers.model import FloatArray
from astroshield.astro.dynamics.elements import ElementSet

__all__ = ["maneuver_history_plot"]


def maneuver_history_plot(
    elements: Sequence[ElementSet],
    detections: Sequence[ManeuverDetection],
    *,
    truth: Sequence[datetime] = (),
    title: str | None = None,
) -> bytes:
    """PNG of a, i, e and RAAN residual (GEO: longitude and drift rate) with detections marked.

    Detections are red lines (their windows shaded); optional reference epochs are green ticks.
    """
    history = element_history(elements)
    times = list(history.epochs)
    panels: list[tuple[str, FloatArray]] = [
        ("a - median [km]", history.a_km - float(np.median(history.a_km))),
        ("inclination [deg]", history.inclination_deg),
        ("eccentricity", history.eccentricity),
    ]
    if history.is_geo:
        panels += [
            ("mean longitude [deg E]", history.geo_longitude_deg),
            ("drift [deg/day]", history.drift_deg_per_day),
        ]
    else:
        panels.append(("RAAN - linear fit [deg]", history.raan_residual_deg))
    figure = Figure(figsize=(11, 2.2 * len(panels)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axis, (label, values) in zip(axes, panels, strict=True):
        axis.plot(times, values, ".", markersize=2, color="0.2")
        axis.set_ylabel(label, fontsize=8)
        for detection in detections:
            axis.axvspan(detection.window_start, detection.window_end, color="red", alpha=0.12)
            axis.axvline(detection.epoch, color="red", linewidth=0.6)
        for moment in truth:
            axis.axvline(moment, color="green", linewidth=0.6, linestyle="--")
    axes[0].set_title(title or f"element history, {len(detections)} detections")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
