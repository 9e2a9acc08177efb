"""Simulated red conjunctions and their optimal avoidance burns (StrategyGenerator, issue 18).

Each encounter is built by :func:`astroshield.astro.conjunction.pc.encounters.build_encounter`
(primary from classical elements, secondary crossing at an angle about the primary's radial
direction, miss vector perpendicular to the relative velocity so that t = 0 is the TCA,
covariances diagonal in each object's RTN frame), with numbers drawn per regime from the
ranges below (log-uniform where marked *log*), seeded per encounter
(``numpy.random.default_rng([seed, index])``) so a data set is a pure function of its seed:

- LEO (70 %): altitude 400-1200 km, e 0-0.005, inclination 0-100 deg, crossing angle
  15-165 deg, secondary radial Δv ±20 m/s; primary σ R / T / N 20-200 / 100-1500 / 20-200 m;
- MEO (10 %): a 26,460-26,660 km, e 0-0.01, inclination 50-60 deg, crossing 5-60 deg,
  radial Δv ±20 m/s; σ R / T / N 50-500 / 300-3000 / 50-500 m;
- GEO (20 %): a 42,114-42,214 km, e 0-0.0005, inclination 0-3 deg, crossing 3-20 deg,
  radial Δv ±5 m/s; σ R / T / N 100-1000 / 500-5000 / 100-1000 m;
- the position sigmas are *log*-uniform; the secondary's are the primary's times 1-4
  (*log*, per axis); velocity sigmas 1 cm/s (unused by the 2-D Pc).

Common to all: hard-body radius 5-20 m (uniform); time to TCA 2-48 h (*log*); the earliest
burn 0.5-2 h after now (command upload), the latest 0.25-3 h (*log*, at most half the
earliest lead) before TCA; red threshold Pc 1e-4 (the CARA red tier); Δv limit 1 m/s. The
miss vector is drawn as a standard normal in the combined encounter-plane covariance (so the
miss is typically one sigma) and the encounter kept only when its 2-D Pc is at least the
threshold (a red event: the trade has something to do).

Where the ranges come from: covariance sizes of CDMs one to two days before TCA are tens to
hundreds of metres radial and cross-track and hundreds of metres to kilometres along-track
in LEO, several times more at GEO (the along-track error dominating); the CARA Omitron case A
in ``../shared/fixtures/pc/public_cases.json`` (kilometre-level sigmas) marks the large end.
Relative speeds follow from the crossing angles: 2-15 km/s in LEO, 0.3-3 km/s in MEO and
0.15-1 km/s at GEO.

The label of each encounter is the numerical optimum of
:func:`astroshield.astro.conjunction.avoidance.optimal_burn` (burn time, RTN Δv).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.conjunction.avoidance import (
    AvoidanceConstraints,
    VectorBurn,
    encounter_frame,
    optimal_burn,
)
from astroshield.astro.conjunction.pc import pc_2d
from astroshield.astro.conjunction.pc.encounters import EncounterSpec, build_encounter
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.dynamics.orbit import ClassicalElements

F64 = NDArray[np.float64]
GENERATOR_VERSION = "1.1"  # 1.1: labels by optimal_burn with the direction refinement
RED_PC = 1e-4
MAX_DELTA_V_M_S = 1.0
REGIME_SHARES = {"LEO": 0.7, "MEO": 0.1, "GEO": 0.2}
ENCOUNTERS_FILE = "encounters.parquet"
CARD_JSON = "data_card.json"
CARD_MD = "DATA_CARD.md"


@dataclass(frozen=True)
class Conjunction:
    """Both states at TCA (km, km/s, one inertial frame), 3x3 or 6x6 covariances (km^2 ...),
    combined hard-body radius (km) and the time from now to TCA (s)."""

    r1: F64
    v1: F64
    cov1: F64
    r2: F64
    v2: F64
    cov2: F64
    hbr_km: float
    time_to_tca_s: float

    def pc(self) -> float:
        return pc_2d(
            self.r1, self.v1, self.cov1, self.r2, self.v2, self.cov2, self.hbr_km,
            miss_convention="projected",
        )  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    index: int
    regime: str
    conjunction: Conjunction
    constraints: AvoidanceConstraints
    pc_before: float
    optimum: VectorBurn | None  # None: nothing within the Δv limit clears it


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


_REGIMES: dict[str, dict[str, Any]] = {
    "LEO": {"a": (6778.0, 7578.0), "e": 0.005, "i": (0.0, 100.0), "cross": (15.0, 165.0),
            "dvr": 0.02, "sigma": ((0.02, 0.2), (0.1, 1.5), (0.02, 0.2))},
    "MEO": {"a": (26460.0, 26660.0), "e": 0.01, "i": (50.0, 60.0), "cross": (5.0, 60.0),
            "dvr": 0.02, "sigma": ((0.05, 0.5), (0.3, 3.0), (0.05, 0.5))},
    "GEO": {"a": (42114.0, 42214.0), "e": 0.0005, "i": (0.0, 3.0), "cross": (3.0, 20.0),
            "dvr": 0.005, "sigma": ((0.1, 1.0), (0.5, 5.0), (0.1, 1.0))},
}  # fmt: skip


def _draw(rng: np.random.Generator, regime: str) -> tuple[EncounterSpec, F64, float]:
    """A candidate spec (miss drawn in the plane), the combined plane covariance, the HBR."""
    p = _REGIMES[regime]
    a = float(rng.uniform(*p["a"]))
    e = float(rng.uniform(0.0, p["e"]))
    angles = rng.uniform(0.0, 360.0, 3)
    elements = ClassicalElements(
        a * (1 - e * e), a, e, float(rng.uniform(*p["i"])), *(float(x) for x in angles)
    )
    r_, t_, n_ = (_log_uniform(rng, *bounds) for bounds in p["sigma"])
    k_r, k_t, k_n = (_log_uniform(rng, 1.0, 4.0) for _ in range(3))
    velocity = 1e-5
    sigma1 = (r_, t_, n_, velocity, velocity, velocity)
    sigma2 = (r_ * k_r, t_ * k_t, n_ * k_n, velocity, velocity, velocity)
    crossing = float(rng.uniform(*p["cross"])) * float(rng.choice([-1.0, 1.0]))
    dv_rtn = (float(rng.uniform(-p["dvr"], p["dvr"])), 0.0, 0.0)
    hbr = float(rng.uniform(0.005, 0.02))
    spec = EncounterSpec(
        "sim", "", elements, miss_rtn=(0.0, 0.0, 0.0), dv_rtn=dv_rtn, crossing_deg=crossing,
        sigma1_rtn=sigma1, sigma2_rtn=sigma2, hbr_km=hbr,
    )  # fmt: skip
    centred = build_encounter(spec)
    basis, _, cov = encounter_frame(
        centred.r1, centred.v1, centred.cov1, centred.r2, centred.v2, centred.cov2
    )
    # A standard-normal miss in the combined plane covariance, put back in the primary's RTN.
    miss_plane = np.linalg.cholesky(cov) @ rng.standard_normal(2)
    miss_rtn = rtn_rotation(centred.r1, centred.v1) @ (basis.T @ miss_plane)
    spec = EncounterSpec(
        spec.name, spec.why, elements, miss_rtn=(float(miss_rtn[0]), float(miss_rtn[1]),
        float(miss_rtn[2])), dv_rtn=dv_rtn, crossing_deg=crossing, sigma1_rtn=spec.sigma1_rtn,
        sigma2_rtn=spec.sigma2_rtn, hbr_km=hbr,
    )  # fmt: skip
    return spec, cov, hbr


def draw_scenario(seed: int, index: int, *, solve: bool = True) -> Scenario:
    """Encounter ``index`` of the data set of ``seed``: redrawn until red, then solved."""
    rng = np.random.default_rng([seed, index])
    regimes = list(REGIME_SHARES)
    regime = str(rng.choice(regimes, p=[REGIME_SHARES[r] for r in regimes]))
    while True:
        spec, _, hbr = _draw(rng, regime)
        enc = build_encounter(spec)
        time_to_tca = _log_uniform(rng, 2 * 3600.0, 48 * 3600.0)
        max_lead = time_to_tca - float(rng.uniform(0.5, 2.0)) * 3600.0
        min_lead = min(_log_uniform(rng, 0.25 * 3600.0, 3 * 3600.0), 0.5 * max_lead)
        conjunction = Conjunction(
            enc.r1, enc.v1, enc.cov1[:3, :3], enc.r2, enc.v2, enc.cov2[:3, :3], hbr, time_to_tca
        )
        pc = conjunction.pc()
        if pc >= RED_PC:
            break
    constraints = AvoidanceConstraints(min_lead, max_lead, MAX_DELTA_V_M_S, RED_PC)
    optimum = solve_scenario(conjunction, constraints) if solve else None
    return Scenario(index, regime, conjunction, constraints, pc, optimum)


def solve_scenario(
    conjunction: Conjunction, constraints: AvoidanceConstraints
) -> VectorBurn | None:
    c = conjunction
    return optimal_burn(c.r1, c.v1, c.cov1, c.r2, c.v2, c.cov2, c.hbr_km, constraints)


def simulate_scenarios(
    seed: int, count: int, *, progress: Callable[[int], None] | None = None
) -> list[Scenario]:
    scenarios = []
    for index in range(count):
        scenarios.append(draw_scenario(seed, index))
        if progress is not None:
            progress(index + 1)
    return scenarios


# --- storage: one Parquet row per encounter, and the data card ------------------------------

_VECTORS = {"r1": 3, "v1": 3, "cov1": 9, "r2": 3, "v2": 3, "cov2": 9}
_SCALARS = ("hbr_km", "time_to_tca_s")
_CONSTRAINTS = ("min_lead_s", "max_lead_s", "max_delta_v_m_s", "red_pc")
_LABELS = ("feasible", "opt_lead_s", "opt_dv_r_m_s", "opt_dv_t_m_s", "opt_dv_n_m_s",
           "opt_delta_v_m_s", "pc_after")  # fmt: skip


def scenario_row(s: Scenario) -> dict[str, Any]:
    c = s.conjunction
    row: dict[str, Any] = {"index": s.index, "regime": s.regime, "pc_before": s.pc_before}
    for name in _VECTORS:
        row[name] = (
            np.asarray(getattr(c, name), dtype=float)[:3, :3].ravel().tolist()
            if (name.startswith("cov"))
            else np.asarray(getattr(c, name), dtype=float).tolist()
        )
    row.update({name: float(getattr(c, name)) for name in _SCALARS})
    row.update({name: float(getattr(s.constraints, name)) for name in _CONSTRAINTS})
    burn = s.optimum
    row["feasible"] = burn is not None
    row["opt_lead_s"] = burn.lead_time_s if burn else math.nan
    for k, axis in enumerate("rtn"):
        row[f"opt_dv_{axis}_m_s"] = burn.dv_rtn_m_s[k] if burn else math.nan
    row["opt_delta_v_m_s"] = burn.delta_v_m_s if burn else math.nan
    row["pc_after"] = burn.after.pc if burn else math.nan
    return row


def write_scenarios(directory: Path, scenarios: Sequence[Scenario], *, seed: int) -> dict[str, Any]:
    """``encounters.parquet`` plus the data card (JSON and markdown); returns the card."""
    import json

    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from astroshield.ml.onnx_model import file_sha256

    directory.mkdir(parents=True, exist_ok=True)
    rows = [scenario_row(s) for s in scenarios]
    table = pa.table({key: [row[key] for row in rows] for key in rows[0]})
    pq.write_table(table, directory / ENCOUNTERS_FILE)
    card = data_card(scenarios, seed=seed, sha256=file_sha256(directory / ENCOUNTERS_FILE))
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (directory / CARD_MD).write_text(card_markdown(card), encoding="utf-8")
    return card


def load_scenarios(directory: Path) -> list[Scenario]:
    """The scenarios written by :func:`write_scenarios` (Δv and Pc of the optimum; the
    optimum's ``before``/``after`` approaches carry the stored Pc only)."""
    import pyarrow.parquet as pq

    from astroshield.astro.conjunction.avoidance import Approach

    table = pq.read_table(directory / ENCOUNTERS_FILE).to_pylist()
    scenarios = []
    for row in table:
        arrays = {
            name: np.asarray(row[name], dtype=np.float64).reshape((3, 3) if size == 9 else (3,))
            for name, size in _VECTORS.items()
        }
        conjunction = Conjunction(
            **arrays, hbr_km=row["hbr_km"], time_to_tca_s=row["time_to_tca_s"]
        )
        constraints = AvoidanceConstraints(*(float(row[name]) for name in _CONSTRAINTS))
        optimum = None
        if row["feasible"]:
            before = Approach(0.0, math.nan, float(row["pc_before"]))
            optimum = VectorBurn(
                float(row["opt_lead_s"]),
                (row["opt_dv_r_m_s"], row["opt_dv_t_m_s"], row["opt_dv_n_m_s"]),
                before,
                Approach(math.nan, math.nan, float(row["pc_after"])),
            )
        scenarios.append(
            Scenario(
                row["index"], row["regime"], conjunction, constraints, row["pc_before"], optimum
            )
        )
    return scenarios


def data_card(scenarios: Sequence[Scenario], *, seed: int, sha256: str) -> dict[str, Any]:
    solved = [s for s in scenarios if s.optimum is not None]
    dv = np.array([s.optimum.delta_v_m_s for s in solved if s.optimum is not None])
    regimes: dict[str, int] = {}
    for s in scenarios:
        regimes[s.regime] = regimes.get(s.regime, 0) + 1
    return {
        "generator": "astroshield.ml.encounter_scenarios",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "encounters": len(scenarios),
        "by_regime": dict(sorted(regimes.items())),
        "solved_within_limit": len(solved),
        "beyond_delta_v_limit": len(scenarios) - len(solved),
        "red_pc": RED_PC,
        "max_delta_v_m_s": MAX_DELTA_V_M_S,
        "optimum_delta_v_m_s_quantiles": {
            str(q): float(np.quantile(dv, q)) for q in (0.05, 0.5, 0.95)
        } if len(dv) else {},
        "files": {ENCOUNTERS_FILE: sha256},
        "label": "opt_*: the smallest RTN Δv (and its burn time) that brings the 2-D Pc under "
        "red_pc, astroshield.astro.conjunction.avoidance.optimal_burn",
        "ranges": "see the astroshield.ml.encounter_scenarios module docstring",
    }  # fmt: skip


def card_markdown(card: dict[str, Any]) -> str:
    return "\n".join([
        "# Simulated red conjunctions and optimal avoidance burns (data card)",
        "",
        f"- Generator: `{card['generator']}` version {card['generator_version']}, "
        f"seed {card['seed']}",
        f"- Encounters: {card['encounters']} by regime `{card['by_regime']}`; solved within "
        f"{card['max_delta_v_m_s']} m/s: {card['solved_within_limit']}, beyond: "
        f"{card['beyond_delta_v_limit']}",
        f"- Red threshold: Pc {card['red_pc']}; optimum |Δv| quantiles (m/s): "
        f"`{card['optimum_delta_v_m_s_quantiles']}`",
        f"- Label: {card['label']}",
        f"- Ranges and their source: {card['ranges']}",
        f"- `{ENCOUNTERS_FILE}` sha256 `{card['files'][ENCOUNTERS_FILE]}`",
        "",
    ])  # fmt: skip
