"""Shared pieces of the ML tests: a fixed noise model, the real slice and its logged rows."""

from __future__ import annotations

from pathlib import Path

from astroshield.ml.noise_estimate import SPACING_QUANTILES, RegimeNoise

REPO_ROOT = Path(__file__).resolve().parents[2]
# 200 consecutive Sentinel-3A TLEs (2021-07-16 onwards), lines 3901-4300 of
# ../shared/data/maneuvers/processed_files/Sentinel-3A.tle (Shorten et al. 2023 benchmark,
# Space-Track gp_history), and the rows of manoeuvres_utc.csv that start inside that span.
SLICE_TLE = REPO_ROOT / "tests" / "data" / "ml-sentinel-3a-slice.tle"
SLICE_MANOEUVRES = REPO_ROOT / "tests" / "data" / "ml-sentinel-3a-manoeuvres.csv"


def fixed_noise(regime: str, scale: float = 1.0) -> RegimeNoise:
    """A noise model of the size estimated from the real histories (daily cadence)."""
    spacing = tuple(0.8 + 0.4 * q for q in SPACING_QUANTILES)
    if regime == "LEO":
        return RegimeNoise(
            "LEO", ("fixed",), 0.17e-3 * scale, 4.6e-6 * scale, 1.8e-6 * scale,
            2.4e-6 * scale, 0.075 * scale, 0.0, 5.0, spacing,
        )  # fmt: skip
    return RegimeNoise(
        "GEO", ("fixed",), 12.7e-3 * scale, 2.7e-6 * scale, 2.9e-6 * scale,
        6.3e-6 * scale, 1.2 * scale, 0.0, 5.0, spacing,
    )  # fmt: skip


NOISE = {"LEO": fixed_noise("LEO"), "GEO": fixed_noise("GEO")}
