"""Robust noise model of the jumps: sliding median and scale per jump component."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np

from astroshield.astro.ccdm.maneuvers.jumps import Jump
from astroshield.astro.ccdm.maneuvers.model import FloatArray

# MAD -> sigma for a normal distribution.
MAD_TO_SIGMA = 1.4826
# Noise floors at about the TLE field resolution (n: 1e-8 rev/day, i/RAAN: 1e-4 deg,
# e: 1e-7), so a window of identical rounded values cannot give a zero scale.
_FLOOR_A_REL = 1e-9
_FLOOR_ANGLE_RAD = math.radians(3e-5)
_FLOOR_E = 3e-8
_FLOOR_ALONG_KM = 0.01


def rolling_center_scale(
    values: FloatArray, window: int, floor: float | FloatArray, tail_quantile: float = 0.5
) -> tuple[FloatArray, FloatArray]:
    """Centred sliding median and robust scale (window clipped at the ends, never < floor)."""
    count = values.shape[0]
    if count == 0:
        return np.zeros(0), np.zeros(0)
    half = max(window // 2, 3)
    width = min(2 * half + 1, count)
    windows = np.lib.stride_tricks.sliding_window_view(values, width)
    # Window start for each sample: centred, shifted inwards at both ends.
    starts = np.clip(np.arange(count) - width // 2, 0, count - width)
    chunks = windows[starts]
    center = np.median(chunks, axis=1)
    deviation = np.abs(chunks - center[:, None])
    # max(MAD, tail-quantile) scale: equal for Gaussian scatter, but it widens for the
    # heavy-tailed scatter of GEO element sets, where MAD alone under-states the noise.
    scale = np.maximum(
        MAD_TO_SIGMA * np.median(deviation, axis=1),
        np.quantile(deviation, tail_quantile, axis=1) / _tail_z(tail_quantile),
    )
    return np.asarray(center, dtype=np.float64), np.maximum(scale, floor)


def _tail_z(quantile: float) -> float:
    """Standard-normal quantile of a two-sided |deviation| quantile (0.9 -> 1.645)."""
    return NormalDist().inv_cdf(0.5 + quantile / 2.0)


def _component_arrays(jumps: Sequence[Jump]) -> dict[str, FloatArray]:
    return {
        "a": np.array([j.da_km for j in jumps]),
        "ex": np.array([j.dex for j in jumps]),
        "ey": np.array([j.dey for j in jumps]),
        "i": np.array([j.dinc for j in jumps]),
        "node": np.array([j.dnode for j in jumps]),
        # Along-track residual per day of propagation: the drag/fit error grows with the gap.
        "along": np.array([j.along_km / max(j.dt_days, 0.05) for j in jumps]),
    }


def noise_model(
    jumps: Sequence[Jump], window: int, tail_quantile: float
) -> dict[str, tuple[FloatArray, FloatArray]]:
    comps = _component_arrays(jumps)
    a_ref = float(np.median([j.a_km for j in jumps]))
    floors = {
        "a": _FLOOR_A_REL * a_ref,
        "ex": _FLOOR_E,
        "ey": _FLOOR_E,
        "i": _FLOOR_ANGLE_RAD,
        "node": _FLOOR_ANGLE_RAD,
        "along": _FLOOR_ALONG_KM,
    }
    return {
        name: rolling_center_scale(values, window, floors[name], tail_quantile)
        for name, values in comps.items()
    }


def z_scores(
    jumps: Sequence[Jump], noise: Mapping[str, tuple[FloatArray, FloatArray]]
) -> dict[str, FloatArray]:
    comps = _component_arrays(jumps)
    return {name: (comps[name] - noise[name][0]) / noise[name][1] for name in comps}


def interp_noise(
    noise: Mapping[str, tuple[FloatArray, FloatArray]],
    source_days: FloatArray,
    target_days: FloatArray,
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Noise model re-sampled at other interval times (after outlier removal)."""
    return {
        name: (
            np.interp(target_days, source_days, center),
            np.interp(target_days, source_days, scale),
        )
        for name, (center, scale) in noise.items()
    }


def max_z(z: Mapping[str, FloatArray], index: int) -> float:
    return max(
        abs(float(z["a"][index])),
        math.hypot(float(z["ex"][index]), float(z["ey"][index])),
        math.hypot(float(z["i"][index]), float(z["node"][index])),
    )


def component_z(z: Mapping[str, FloatArray], name: str, index: int) -> float:
    if name == "e":
        return math.hypot(float(z["ex"][index]), float(z["ey"][index]))
    return math.hypot(float(z["i"][index]), float(z["node"][index]))
