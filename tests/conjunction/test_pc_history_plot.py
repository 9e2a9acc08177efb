"""``astro.pc_plots.pc_history_plot`` (pure library, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from astroshield.astro.plots.encounter import pc_history_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_history_plot_writes_a_png(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = [t0 + timedelta(hours=8 * k) for k in range(4)]
    out = pc_history_plot(times, [3e-7, 0.0, 2e-5, 1.5e-4], tmp_path / "history.png")
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_history_plot_of_no_cdm_still_shows_thresholds(tmp_path: Path) -> None:
    out = pc_history_plot([], [], tmp_path / "empty.png")
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_history_plot_refuses_inconsistent_input(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="same length"):
        pc_history_plot([t0], [1e-5, 2e-5], tmp_path / "x.png")
    with pytest.raises(ValueError, match="thresholds"):
        pc_history_plot([t0], [1e-5], tmp_path / "x.png", red_pc=1e-6, yellow_pc=1e-5)
