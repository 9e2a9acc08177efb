"""PNG plots for collision-probability review.

Each plot draws on its own :class:`~matplotlib.figure.Figure` with an Agg canvas and returns
the PNG bytes: no pyplot state is shared, so plots render concurrently from worker threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse
from numpy.typing import ArrayLike

from astroshield.astro.conjunction.pc.planar import pc_encounter_plane_batch

__all__ = ["encounter_plane_plot", "pc_history_plot", "pc_vs_hbr_plot"]


def _figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def pc_vs_hbr_plot(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr_values: ArrayLike,
    *,
    unit: str = "km",
    title: str | None = None,
) -> bytes:
    """2-D Pc (Foster, circle) against the hard-body radius on log-log axes, as PNG bytes."""
    hbr = np.asarray(hbr_values, dtype=np.float64).reshape(-1)
    n = hbr.size
    miss = np.broadcast_to(np.asarray(miss_xy, dtype=np.float64), (n, 2))
    cov = np.broadcast_to(np.asarray(cov_2x2, dtype=np.float64), (n, 2, 2))
    pc = pc_encounter_plane_batch(miss, cov, hbr)
    fig, ax = _figure(6, 4)
    ax.loglog(hbr, np.maximum(pc, 1e-300), marker=".")
    for level in (1e-4, 1e-7):
        ax.axhline(level, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"hard-body radius [{unit}]")
    ax.set_ylabel("Pc (2-D Foster)")
    ax.set_title(title or "Pc vs HBR")
    ax.grid(True, which="both", alpha=0.3)
    return _png(fig)


def encounter_plane_plot(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    *,
    unit: str = "km",
    sigmas: tuple[float, ...] = (1.0, 2.0, 3.0),
    title: str | None = None,
) -> bytes:
    """Encounter-plane picture: covariance ellipses around the origin and the HBR disk at the miss.

    The ellipses are the combined covariance (density centred at the origin); the disk is the
    hard body centred at the miss point, the region whose probability mass is Pc.
    """
    miss = np.asarray(miss_xy, dtype=np.float64).reshape(2)
    cov = np.asarray(cov_2x2, dtype=np.float64).reshape(2, 2)
    w, q = np.linalg.eigh(0.5 * (cov + cov.T))
    w = np.clip(w, 0.0, None)
    angle = math.degrees(math.atan2(q[1, 1], q[0, 1]))
    fig, ax = _figure(5, 5)
    for k in sigmas:
        ax.add_patch(
            Ellipse(
                (0.0, 0.0),
                2 * k * math.sqrt(w[1]),
                2 * k * math.sqrt(w[0]),
                angle=angle,
                fill=False,
                lw=1.0,
                label=f"{k:g} sigma",
            )
        )
    ax.add_patch(Circle((float(miss[0]), float(miss[1])), hbr, color="red", alpha=0.5))
    ax.plot([0.0], [0.0], "k+")
    ax.plot([miss[0]], [miss[1]], "rx", label="miss")
    ext = max(max(sigmas) * math.sqrt(w[1]), float(np.hypot(*miss)) + hbr) * 1.1
    ax.set_xlim(-ext, ext)
    ax.set_ylim(-ext, ext)
    ax.set_aspect("equal")
    ax.set_xlabel(f"x [{unit}]")
    ax.set_ylabel(f"z [{unit}]")
    ax.set_title(title or "Encounter plane")
    ax.legend(loc="upper right", fontsize="small")
    return _png(fig)


def pc_history_plot(
    creation_dates: Sequence[datetime],
    pc_values: Sequence[float],
    *,
    red_pc: float = 1e-4,
    yellow_pc: float = 1e-5,
    floor: float = 1e-30,
    title: str | None = None,
) -> bytes:
    """Pc of successive CDMs of one event against their creation time, on a log axis, with
    the red and yellow tier thresholds (CARA's 1e-4 and 1e-5 by default).

    A Pc of 0 cannot be shown on a log axis; it is drawn at ``floor`` (as
    :func:`astroshield.astro.conjunction.risk.pc_trend` fits it).
    """
    if len(creation_dates) != len(pc_values):
        raise ValueError("creation_dates and pc_values must have the same length")
    if not 0 < yellow_pc <= red_pc < 1:
        raise ValueError("thresholds must satisfy 0 < yellow_pc <= red_pc < 1")
    pc = np.maximum(np.asarray(pc_values, dtype=np.float64), floor)
    fig, ax = _figure(7, 4)
    if len(pc):
        ax.semilogy(list(creation_dates), pc, marker="o", color="black", label="Pc")
    else:  # no CDM yet: an empty axis around the thresholds
        ax.set_yscale("log")
        ax.set_ylim(yellow_pc / 100, min(1.0, red_pc * 100))
    ax.axhline(red_pc, color="red", lw=1.0, ls="--", label=f"red {red_pc:.0e}")
    ax.axhline(yellow_pc, color="goldenrod", lw=1.0, ls="--", label=f"yellow {yellow_pc:.0e}")
    ax.set_xlabel("CDM creation time (UTC)")
    ax.set_ylabel("Pc (2-D Foster)")
    ax.set_title(title or "Pc history")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)
