"""TLE noise and cadence per orbit regime, estimated from real element-set histories.

The simulator adds this noise to its true mean elements, so that a simulated history scatters
like the catalogue's. From each real history: the consecutive-set jumps (SGP4 propagation of
the previous set, :func:`astroshield.ml.features.consecutive_jumps`); the robust scatter
(1.4826·MAD, which manoeuvres barely move) of each jump component; divided by √2, because a
jump is the difference of two independently noisy sets. The along-track component is the
residual of the propagated previous set, so it holds the propagation error (drag mis-modelled
over the gap) as well as the fit noise; it is used per set as mean-anomaly noise. The tail
weight is the share of jumps beyond 5 robust sigmas in any component (catalogue fits that are
off, common on GEO), simulated as that share of sets with 5× the noise. The cadence is the
empirical distribution of epoch spacings (quantiles). Histories are grouped by regime (LEO:
mean motion above 5 rev/day; GEO: 0.9-1.1 rev/day) and the per-history figures are combined
by their median.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.element_files import read_element_set_file
from astroshield.ml.features import consecutive_jumps, usable_sets

Regime = Literal["LEO", "GEO"]
_MAD_TO_SIGMA = 1.4826
_OUTLIER_SIGMA = 5.0
# Quantiles of the epoch spacing kept in the model (the simulator interpolates between them).
SPACING_QUANTILES = tuple(float(q) for q in np.linspace(0.0, 1.0, 21))


@dataclass(frozen=True, slots=True)
class RegimeNoise:
    """Per-set noise (1 sigma) and cadence of one regime."""

    regime: str
    histories: tuple[str, ...]
    sigma_a_km: float
    sigma_e: float  # each component of the eccentricity vector
    sigma_inclination_rad: float
    sigma_node_rad: float  # sin(i)·ΔΩ
    sigma_along_km: float  # along-track (mean-anomaly) noise of one set, km
    outlier_fraction: float
    outlier_factor: float
    spacing_days_quantiles: tuple[float, ...]  # at SPACING_QUANTILES

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def regime_of(elements: Sequence[ElementSet]) -> Regime | None:
    n = float(np.median([item.mean_motion_rev_per_day for item in elements]))
    if n > 5.0:
        return "LEO"
    if 0.9 < n < 1.1:
        return "GEO"
    return None


def history_noise(name: str, elements: Sequence[ElementSet]) -> RegimeNoise:
    """The noise model of one history (its regime from its median mean motion)."""
    ordered = usable_sets(elements)
    regime = regime_of(ordered)
    if regime is None:
        raise ValueError(f"{name}: neither LEO nor GEO; no noise model for its regime")
    jumps = [j for _, j in consecutive_jumps(ordered)]
    if len(jumps) < 10:
        raise ValueError(f"{name}: {len(jumps)} consecutive jumps; need at least 10")
    columns = {
        "a": np.array([j.da_km for j in jumps]),
        "ex": np.array([j.dex for j in jumps]),
        "ey": np.array([j.dey for j in jumps]),
        "i": np.array([j.dinc for j in jumps]),
        "node": np.array([j.dnode for j in jumps]),
        "along": np.array([j.along_km for j in jumps]),
    }
    scales = {}
    beyond = np.zeros(len(jumps), dtype=bool)
    for key, values in columns.items():
        center = float(np.median(values))
        scale = max(_MAD_TO_SIGMA * float(np.median(np.abs(values - center))), 1e-12)
        scales[key] = scale
        beyond |= np.abs(values - center) > _OUTLIER_SIGMA * scale
    spacing = np.diff([item.epoch.timestamp() for item in ordered]) / 86400.0
    root2 = math.sqrt(2.0)
    return RegimeNoise(
        regime=regime,
        histories=(name,),
        sigma_a_km=scales["a"] / root2,
        sigma_e=0.5 * (scales["ex"] + scales["ey"]) / root2,
        sigma_inclination_rad=scales["i"] / root2,
        sigma_node_rad=scales["node"] / root2,
        sigma_along_km=scales["along"] / root2,
        outlier_fraction=float(np.mean(beyond)),
        outlier_factor=_OUTLIER_SIGMA,
        spacing_days_quantiles=tuple(float(q) for q in np.quantile(spacing, SPACING_QUANTILES)),
    )


def combine(models: Sequence[RegimeNoise]) -> RegimeNoise:
    """Median of the per-history figures of one regime."""
    if not models:
        raise ValueError("no history to combine")

    def median(values: Sequence[float]) -> float:
        return float(np.median(values))

    return RegimeNoise(
        regime=models[0].regime,
        histories=tuple(name for model in models for name in model.histories),
        sigma_a_km=median([m.sigma_a_km for m in models]),
        sigma_e=median([m.sigma_e for m in models]),
        sigma_inclination_rad=median([m.sigma_inclination_rad for m in models]),
        sigma_node_rad=median([m.sigma_node_rad for m in models]),
        sigma_along_km=median([m.sigma_along_km for m in models]),
        outlier_fraction=median([m.outlier_fraction for m in models]),
        outlier_factor=models[0].outlier_factor,
        spacing_days_quantiles=tuple(
            float(v)
            for v in np.median(np.array([m.spacing_days_quantiles for m in models]), axis=0)
        ),
    )


def estimate_from_files(paths: Sequence[Path]) -> dict[str, RegimeNoise]:
    """Noise model per regime from TLE/OMM history files (one object per file)."""
    by_regime: dict[str, list[RegimeNoise]] = {}
    for path in sorted(paths):
        model = history_noise(path.stem, read_element_set_file(path).sets)
        by_regime.setdefault(model.regime, []).append(model)
    return {regime: combine(models) for regime, models in sorted(by_regime.items())}


def from_dict(data: Mapping[str, Any]) -> RegimeNoise:
    """The inverse of :meth:`RegimeNoise.as_dict` (as stored in a data card)."""
    return RegimeNoise(
        regime=str(data["regime"]),
        histories=tuple(str(name) for name in data["histories"]),
        sigma_a_km=float(data["sigma_a_km"]),
        sigma_e=float(data["sigma_e"]),
        sigma_inclination_rad=float(data["sigma_inclination_rad"]),
        sigma_node_rad=float(data["sigma_node_rad"]),
        sigma_along_km=float(data["sigma_along_km"]),
        outlier_fraction=float(data["outlier_fraction"]),
        outlier_factor=float(data["outlier_factor"]),
        spacing_days_quantiles=tuple(float(v) for v in data["spacing_days_quantiles"]),
    )
