"""StrategyGenerator served with onnxruntime: avoidance burns for a red conjunction.

The network (trained in :mod:`astroshield.ml.training.strategy_generator` by imitating the
numerical optimum of :func:`astroshield.astro.conjunction.avoidance.optimal_burn` over
simulated encounters, :mod:`astroshield.ml.encounter_scenarios`) reads
:data:`FEATURE_NAMES`, numbers of the encounter in its own frame (miss and covariance in the
encounter plane, the plane's axes in the primary's RTN frame, the burn window in orbital
periods), and answers *when* to burn (a fraction of the burn window) and *where to push the
miss* (a shift of the miss vector in the encounter plane, in combined sigmas along the
covariance's principal axes, signed so that the nominal miss has non-negative components).
The physics turns that into a burn: the minimum-norm RTN Δv that produces the shift through
the two-body Jacobian at the chosen burn time (:func:`delta_v_jacobians`).

Each candidate (the network's burn times a few scale factors, the smallest of which is the
safety margin calibrated on validation encounters, in the metadata) is then re-checked with
the physics: the burnt orbit is propagated, the closest approach found and Pc recomputed with
``pc_2d`` (never the network's estimate); a candidate whose Pc is not under the threshold,
whose |Δv| exceeds the limit or whose burn time falls outside the window is infeasible and
dropped by :meth:`StrategyGenerator.propose` (and counted).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.conjunction.avoidance import (
    AvoidanceConstraints,
    approach_after_vector_burn,
    burn_time_grid,
    delta_v_jacobians,
    encounter_frame,
)
from astroshield.astro.conjunction.pc import MU_EARTH_KM3_S2
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.ml.encounter_scenarios import Conjunction
from astroshield.ml.onnx_model import (
    ModelFileError,
    inference_session,
    read_checked_metadata,
    shipped_path,
)

MODEL_NAME = "strategy_generator"
MODEL_VERSION = "0.1.0"
INPUT_NAME = "features"
OUTPUT_NAMES = ("lead_fraction", "miss_shift")
# The network's burns (see StrategyGenerator.network_burns): its shift at the cheapest burn
# time, its shift at its own burn time, its shift's size along the strongest lever arm.
BURN_SOURCES = ("shift_at_cheapest_time", "shift_at_network_time", "size_along_lever")
FEATURE_NAMES = (
    "miss_major_sigmas", "miss_minor_sigmas", "log_aspect", "log_hbr_minor", "log_hbr_major",
    "log_red_pc", "log_pc_before", "log_a", "eccentricity_x100", "relative_speed_ratio",
    "major_r", "major_t", "major_n", "minor_r", "minor_t", "minor_n",
    "velocity_r", "velocity_t", "velocity_n",
    "log1p_min_lead_orbits", "log1p_max_lead_orbits",
    "sin_min_lead", "cos_min_lead", "sin_max_lead", "cos_max_lead",
    "best_lever_cos2", "best_lever_sin2", "best_lever_log_ratio", "best_lever_fraction",
    "earliest_lever_cos2", "earliest_lever_sin2", "earliest_lever_log_ratio",
)  # fmt: skip
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PlaneFrame:
    """The encounter plane of a conjunction: canonical principal axes (2, 3) in inertial
    coordinates (major first, signed so the miss has non-negative components), their
    sigmas (km), the nominal miss in that frame (km) and the 2-D Pc before any burn."""

    axes: F64
    sigmas: F64
    miss: F64
    pc_before: float


def plane_frame(conjunction: Conjunction) -> PlaneFrame:
    c = conjunction
    basis, miss, cov = encounter_frame(c.r1, c.v1, c.cov1, c.r2, c.v2, c.cov2)
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = [1, 0]
    principal = vectors[:, order].T  # rows: major, minor (plane coordinates)
    signs = np.where(principal @ miss < 0.0, -1.0, 1.0)
    principal = principal * signs[:, None]
    return PlaneFrame(
        principal @ basis,
        np.sqrt(np.maximum(values[order], 1e-30)),
        principal @ miss,
        c.pc(),
    )


def _period_s(r: F64, v: F64) -> float:
    a = 1.0 / (2.0 / float(np.linalg.norm(r)) - float(v @ v) / MU_EARTH_KM3_S2)
    return 2 * math.pi * math.sqrt(a**3 / MU_EARTH_KM3_S2)


def lever_arms(conjunction: Conjunction, frame: PlaneFrame, leads: F64) -> F64:
    """``A[k]`` (K, 2, 3): the miss shift (km, canonical axes) per m/s of RTN Δv of a burn
    ``leads[k]`` before TCA (two-body Jacobian projected on the encounter plane)."""
    jac = delta_v_jacobians(conjunction.r1, conjunction.v1, leads)
    return np.asarray(np.einsum("ij,kjl->kil", frame.axes, jac), dtype=np.float64)


def _lever_summary(arm: F64) -> tuple[float, float, float, float]:
    """(cos 2φ, sin 2φ of the plane direction a unit Δv moves the miss most, log10 of the
    two singular values' ratio, the largest singular value)."""
    left, values, _ = np.linalg.svd(arm)
    angle = math.atan2(float(left[1, 0]), float(left[0, 0]))
    ratio = math.log10(max(float(values[0]), 1e-300) / max(float(values[1]), 1e-12 * values[0]))
    return math.cos(2 * angle), math.sin(2 * angle), ratio, float(values[0])


def strategy_features(
    conjunction: Conjunction, constraints: AvoidanceConstraints, frame: PlaneFrame | None = None
) -> npt.NDArray[np.float32]:
    """The network's input row (:data:`FEATURE_NAMES`): the encounter in its own frame, the
    burn window in orbits, and how burns move the miss (the burn time with the longest
    lever arm, and the earliest burn)."""
    c = conjunction
    frame = frame or plane_frame(c)
    leads = burn_time_grid(c.r1, c.v1, constraints)
    arms = lever_arms(c, frame, leads)
    strongest = np.linalg.norm(arms, ord=2, axis=(1, 2))
    best = int(np.argmax(strongest))
    width = max(constraints.max_lead_s - constraints.min_lead_s, 1e-9)
    best_lever = _lever_summary(arms[best])[:3]
    earliest_lever = _lever_summary(arms[-1])[:3]
    r1, v1 = np.asarray(c.r1, dtype=np.float64), np.asarray(c.v1, dtype=np.float64)
    rtn = rtn_rotation(r1, v1)
    rel = v1 - np.asarray(c.v2, dtype=np.float64)
    speed = float(np.linalg.norm(v1))
    a = 1.0 / (2.0 / float(np.linalg.norm(r1)) - speed**2 / MU_EARTH_KM3_S2)
    h = np.cross(r1, v1)
    e_vec = np.cross(v1, h) / MU_EARTH_KM3_S2 - r1 / float(np.linalg.norm(r1))
    period = _period_s(r1, v1)
    s1, s2 = float(frame.sigmas[0]), float(frame.sigmas[1])
    lo, hi = constraints.min_lead_s / period, constraints.max_lead_s / period
    row = [
        frame.miss[0] / s1, frame.miss[1] / s2, math.log10(s2 / s1),
        math.log10(c.hbr_km / s2), math.log10(c.hbr_km / s1),
        math.log10(constraints.red_pc), math.log10(max(frame.pc_before, 1e-300)),
        math.log10(a / 6378.137), 100.0 * float(np.linalg.norm(e_vec)),
        float(np.linalg.norm(rel)) / speed,
        *(rtn @ frame.axes[0]), *(rtn @ frame.axes[1]), *(rtn @ rel / np.linalg.norm(rel)),
        math.log1p(lo), math.log1p(hi),
        math.sin(2 * math.pi * lo), math.cos(2 * math.pi * lo),
        math.sin(2 * math.pi * hi), math.cos(2 * math.pi * hi),
        *best_lever, (float(leads[best]) - constraints.min_lead_s) / width, *earliest_lever,
    ]  # fmt: skip
    return np.asarray(row, dtype=np.float32)


def burn_for_shift(
    conjunction: Conjunction, frame: PlaneFrame, lead_s: float, shift_sigmas: Sequence[float]
) -> F64:
    """The minimum-norm RTN Δv (m/s) a burn ``lead_s`` before TCA needs to move the miss by
    ``shift_sigmas`` (canonical principal axes, combined sigmas), two-body Jacobian."""
    jac = delta_v_jacobians(conjunction.r1, conjunction.v1, [lead_s])[0]  # km per m/s
    shift_km = np.asarray(shift_sigmas, dtype=np.float64) * frame.sigmas
    return np.asarray(np.linalg.pinv(frame.axes @ jac) @ shift_km, dtype=np.float64)


def shift_for_burn(
    conjunction: Conjunction, frame: PlaneFrame, lead_s: float, dv_rtn_m_s: Sequence[float]
) -> F64:
    """Inverse of :func:`burn_for_shift`: the miss shift (canonical axes, sigmas) a burn
    makes to first order (the training target built from the optimum)."""
    jac = delta_v_jacobians(conjunction.r1, conjunction.v1, [lead_s])[0]
    shift_km = frame.axes @ jac @ np.asarray(dv_rtn_m_s, dtype=np.float64)
    return np.asarray(shift_km / frame.sigmas, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One avoidance burn and what the physics says of it (the network's own numbers are
    not used: Pc and miss come from propagating the burnt orbit)."""

    burn_time_before_tca_s: float
    dv_rtn_m_s: tuple[float, float, float]
    delta_v_m_s: float
    pc_after: float
    miss_after_km: float
    tca_shift_s: float
    feasible: bool
    scale: float  # the factor applied to the network's burn
    source: str = "network"  # which of :data:`BURN_SOURCES` the burn came from


def check_burn(
    conjunction: Conjunction,
    constraints: AvoidanceConstraints,
    lead_s: float,
    dv_rtn_m_s: F64,
    scale: float = 1.0,
    source: str = "network",
) -> Proposal:
    """Propagate the burnt orbit, recompute the Pc with pc_2d, and judge feasibility."""
    c = conjunction
    after = approach_after_vector_burn(
        c.r1, c.v1, c.cov1, c.r2, c.v2, c.cov2, c.hbr_km, dv_rtn_m_s=dv_rtn_m_s, lead_time_s=lead_s
    )
    norm = float(np.linalg.norm(dv_rtn_m_s))
    feasible = (
        after.pc < constraints.red_pc
        and norm <= constraints.max_delta_v_m_s
        and constraints.min_lead_s <= lead_s <= constraints.max_lead_s
        and lead_s <= c.time_to_tca_s
    )
    return Proposal(
        lead_s,
        (float(dv_rtn_m_s[0]), float(dv_rtn_m_s[1]), float(dv_rtn_m_s[2])),
        norm,
        after.pc,
        after.miss_distance_km,
        after.time_offset_s,
        bool(feasible),
        scale,
        source,
    )


def shipped_model_path(version: str = MODEL_VERSION) -> Path:
    return shipped_path(MODEL_NAME, version)


class StrategyGenerator:
    """An ONNX StrategyGenerator and its metadata; proposes physics-checked burns."""

    def __init__(self, onnx_path: Path, metadata: dict[str, Any]) -> None:
        self.path = onnx_path
        self.metadata = metadata
        self.scales = tuple(float(s) for s in metadata["candidate_scales"])
        self._session = inference_session(onnx_path)

    @classmethod
    def load(
        cls, path: Path | None = None, expected_sha256: str | None = None
    ) -> StrategyGenerator:
        """The model at ``path`` (default: the one shipped in the package), after checking
        its sha256 against its metadata JSON (and a registry's record, when given)."""
        onnx_path = path or shipped_model_path()
        metadata = read_checked_metadata(onnx_path, expected_sha256)
        if list(metadata.get("feature_names", [])) != list(FEATURE_NAMES):
            raise ModelFileError(f"{onnx_path}: features {metadata.get('feature_names')} differ")
        if not metadata.get("candidate_scales"):
            raise ModelFileError(f"{onnx_path}: no candidate_scales in its metadata")
        return cls(onnx_path, metadata)

    def run(self, features: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], ...]:
        """(lead_fraction (n, 1), miss_shift (n, 2)) of a ``(n, features)`` float32 array."""
        outputs = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: features})
        return tuple(np.asarray(item, dtype=np.float32) for item in outputs)

    def network_burns(
        self, conjunction: Conjunction, constraints: AvoidanceConstraints
    ) -> list[tuple[float, F64]]:
        """The network's burns before any scaling, (seconds before TCA, RTN Δv in m/s):
        the miss shift it predicts made at the burn time where it costs least (two-body
        lever arms over the window), and made at the burn time it predicts."""
        c = conjunction
        frame = plane_frame(c)
        features = strategy_features(c, constraints, frame)[None, :]
        fraction, shift = self.run(features)
        shift_km = shift[0].astype(np.float64) * frame.sigmas
        leads = burn_time_grid(c.r1, c.v1, constraints)
        arms = lever_arms(c, frame, leads)
        burns = np.einsum("kij,j->ki", np.linalg.pinv(arms), shift_km)
        cheapest = int(np.argmin(np.linalg.norm(burns, axis=1)))
        lead = constraints.min_lead_s + float(np.clip(fraction[0, 0], 0.0, 1.0)) * (
            constraints.max_lead_s - constraints.min_lead_s
        )
        # Third: the same size of shift along the plane direction the strongest burn time
        # moves the miss most (its sense agreeing with the network's shift).
        strongest = int(np.argmax(np.linalg.norm(arms, ord=2, axis=(1, 2))))
        left, values, right = np.linalg.svd(arms[strongest])
        sense = 1.0 if float(left[:, 0] @ shift_km) >= 0.0 else -1.0
        along_lever = right[0] * sense * float(np.linalg.norm(shift_km)) / float(values[0])
        return [
            (float(leads[cheapest]), burns[cheapest]),
            (lead, burn_for_shift(c, frame, lead, shift[0].astype(np.float64))),
            (float(leads[strongest]), np.asarray(along_lever, dtype=np.float64)),
        ]

    def candidates(
        self, conjunction: Conjunction, constraints: AvoidanceConstraints
    ) -> list[Proposal]:
        """Every candidate (each network burn times each scale), each re-checked."""
        burns = self.network_burns(conjunction, constraints)
        return [
            check_burn(conjunction, constraints, lead, dv * k, k, source)
            for source, (lead, dv) in zip(BURN_SOURCES, burns, strict=True)
            for k in self.scales
        ]

    def propose(self, conjunction: Conjunction, constraints: AvoidanceConstraints) -> Proposals:
        """The feasible candidates, cheapest first, and how many infeasible ones were
        dropped. No feasible proposal means no candidate cleared the threshold. (A result,
        not a counter on the model: one loaded model serves concurrent requests.)"""
        everything = self.candidates(conjunction, constraints)
        kept = sorted((p for p in everything if p.feasible), key=lambda p: p.delta_v_m_s)
        return Proposals(tuple(kept), len(everything) - len(kept))


@dataclass(frozen=True, slots=True)
class Proposals:
    feasible: tuple[Proposal, ...]  # cheapest first
    dropped: int  # candidates the physics found infeasible


@dataclass(frozen=True, slots=True)
class Outcome:
    """One held-out encounter: the optimum's |Δv|, the cheapest feasible proposal's (NaN
    when none), the unscaled network burn's and whether it alone was feasible."""

    optimum_m_s: float
    best_m_s: float
    network_m_s: float
    network_feasible: bool
    candidates: int
    feasible_candidates: int
    winner: str  # source of the cheapest feasible proposal ("" when none)
    optimum_lead_fraction: float
    network_lead_fraction: float


def evaluate_scenarios(
    generator: StrategyGenerator,
    scenarios: Sequence[Any],
    progress: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """Every candidate of ``generator`` on each scenario
    (:class:`astroshield.ml.encounter_scenarios.Scenario`) whose optimum exists, re-checked
    with the physics, beside the optimum."""
    outcomes = []
    for done, s in enumerate(scenarios, start=1):
        if s.optimum is not None:
            c = s.constraints
            width = max(c.max_lead_s - c.min_lead_s, 1e-9)
            everything = generator.candidates(s.conjunction, c)
            feasible = [p.delta_v_m_s for p in everything if p.feasible]
            kept = sorted((p for p in everything if p.feasible), key=lambda p: p.delta_v_m_s)
            unit = everything[0]  # the cheapest-time burn at the smallest scale
            raw = check_burn(
                s.conjunction,
                c,
                unit.burn_time_before_tca_s,
                np.asarray(unit.dv_rtn_m_s) / unit.scale,
            )
            outcomes.append(
                Outcome(
                    s.optimum.delta_v_m_s,
                    min(feasible) if feasible else math.nan,
                    raw.delta_v_m_s,
                    raw.feasible,
                    len(everything),
                    len(feasible),
                    kept[0].source if kept else "",
                    (s.optimum.lead_time_s - c.min_lead_s) / width,
                    (unit.burn_time_before_tca_s - c.min_lead_s) / width,
                )
            )
        if progress is not None:
            progress(done)
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Feasibility shares and the Δv ratio to the optimum (median, p90)."""
    best = np.array([o.best_m_s for o in outcomes])
    optimum = np.array([o.optimum_m_s for o in outcomes])
    ratio = best / optimum
    found = np.isfinite(ratio)
    candidates = sum(o.candidates for o in outcomes)
    network_ratio = np.array([o.network_m_s / o.optimum_m_s for o in outcomes])
    return {
        "encounters": len(outcomes),
        "with_a_feasible_proposal": float(found.mean()) if len(found) else math.nan,
        "candidates": candidates,
        "feasible_candidates": sum(o.feasible_candidates for o in outcomes),
        "candidate_feasible_share": sum(o.feasible_candidates for o in outcomes)
        / max(candidates, 1),
        "network_unscaled_feasible": float(np.mean([o.network_feasible for o in outcomes])),
        "delta_v_ratio_median": float(np.median(ratio[found])) if found.any() else math.nan,
        "delta_v_ratio_p90": float(np.quantile(ratio[found], 0.9)) if found.any() else math.nan,
        "network_unscaled_ratio_median": float(np.median(network_ratio)),
        "lead_fraction_mae": float(
            np.mean([abs(o.network_lead_fraction - o.optimum_lead_fraction) for o in outcomes])
        ),
        "optimum_delta_v_m_s_median": float(np.median(optimum)),
        "cheapest_feasible_by_source": {
            source: sum(o.winner == source for o in outcomes) for source in BURN_SOURCES
        },
    }
