"""``astro.plots.encounter`` (pure library, no database)."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import numpy as np
import pytest

from astroshield.astro.plots.encounter import encounter_plane_plot, pc_history_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from the PNG's IHDR chunk, which comes first."""
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_history_plot_is_a_png() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = [t0 + timedelta(hours=8 * k) for k in range(4)]
    png = pc_history_plot(times, [3e-7, 0.0, 2e-5, 1.5e-4])
    assert png.startswith(PNG_SIGNATURE)


def test_history_plot_of_no_cdm_still_shows_thresholds() -> None:
    png = pc_history_plot([], [])
    assert png.startswith(PNG_SIGNATURE)


def test_history_plot_refuses_inconsistent_input() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="same length"):
        pc_history_plot([t0], [1e-5, 2e-5])
    with pytest.raises(ValueError, match="thresholds"):
        pc_history_plot([t0], [1e-5], red_pc=1e-6, yellow_pc=1e-5)


def test_plots_render_concurrently_from_threads() -> None:
    # Each plot owns its figure and canvas: two threads drawing at once must not mix them.
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = [t0 + timedelta(hours=8 * k) for k in range(4)]
    start = Barrier(2)

    def history() -> bytes:
        start.wait()
        return pc_history_plot(times, [3e-7, 1e-6, 2e-5, 1.5e-4], title="history")

    def plane() -> bytes:
        start.wait()
        cov = np.array([[400.0, 30.0], [30.0, 25.0]])
        return encounter_plane_plot([12.0, -4.0], cov, 5.0, unit="m", title="plane")

    with ThreadPoolExecutor(max_workers=2) as pool:
        history_png, plane_png = pool.submit(history), pool.submit(plane)
        assert _png_size(history_png.result()) == (700, 400)
        assert _png_size(plane_png.result()) == (500, 500)
