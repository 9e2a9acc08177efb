"""Candidate steps: jumps scored against the noise model and tested for persistence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sgp4.api import Satrec

from astroshield.astro.ccdm.maneuvers.jumps import MINUTES_PER_DAY, Jump, element_jump
from astroshield.astro.ccdm.maneuvers.model import DetectionConfig, FloatArray
from astroshield.astro.ccdm.maneuvers.noise import interp_noise, noise_model, z_scores


@dataclass(frozen=True, slots=True)
class Candidate:
    """A significant step between kept sets ``before`` and ``after`` (positions in ``kept``)."""

    before: int
    after: int
    jump: Jump
    centers: dict[str, float]
    scales: dict[str, float]
    z_a: float
    z_e: float
    z_out: float

    @property
    def score(self) -> float:
        return max(self.z_a, self.z_e, self.z_out)


class Detector:
    """State shared by the detection passes over one object's cleaned history."""

    def __init__(
        self,
        satrecs: Sequence[Satrec],
        epochs: Sequence[datetime],
        kept: Sequence[int],
        cfg: DetectionConfig,
    ) -> None:
        self.satrecs = satrecs
        self.epochs = epochs
        self.kept = list(kept)
        self.cfg = cfg
        self._cache: dict[tuple[int, int], Jump | None] = {}
        self._noise: dict[int, tuple[FloatArray, dict[str, tuple[FloatArray, FloatArray]]]] = {}

    def leg(self, before: int, after: int) -> Jump | None:
        """Jump from kept set ``before`` to kept set ``after`` (positions in ``kept``)."""
        key = (before, after)
        if key not in self._cache:
            p, q = self.kept[before], self.kept[after]
            self._cache[key] = element_jump(
                self.satrecs[p], self.epochs[p], self.satrecs[q], self.epochs[q]
            )
        return self._cache[key]

    def days(self, position: int) -> float:
        return (self.epochs[self.kept[position]] - self.epochs[0]).total_seconds() / 86400.0

    def noise(self, span: int) -> tuple[FloatArray, dict[str, tuple[FloatArray, FloatArray]]]:
        """Robust noise model of all jumps spanning ``span`` kept sets, by end time."""
        if span not in self._noise:
            legs = [
                (self.days(k + span), leg)
                for k in range(len(self.kept) - span)
                if (leg := self.leg(k, k + span)) is not None
            ]
            days = np.array([d for d, _ in legs])
            # Multi-set jumps overlap (each step is seen by ``span`` of them), so a tail
            # quantile would be set by the steps themselves; they use the plain MAD.
            quantile = self.cfg.tail_quantile if span == 1 else self.cfg.slow_tail_quantile
            model = noise_model([leg for _, leg in legs], self.cfg.window, quantile)
            self._noise[span] = (days, model)
        return self._noise[span]

    def z_of(
        self, before: int, after: int, noise_span: int | None = None
    ) -> tuple[Jump, dict[str, float], dict[str, float], dict[str, float]] | None:
        leg = self.leg(before, after)
        if leg is None:
            return None
        days, model = self.noise(noise_span or (after - before))
        if days.shape[0] < 3:
            return None
        local = interp_noise(model, days, np.array([self.days(after)]))
        z = {name: float(values[0]) for name, values in z_scores([leg], local).items()}
        centers = {name: float(c[0]) for name, (c, _) in local.items()}
        scales = {name: float(sc[0]) for name, (_, sc) in local.items()}
        return leg, z, centers, scales

    def drift_consistent(self, candidate: Candidate) -> bool:
        """Whether the along-track drift after the step agrees with its semi-major-axis jump.

        After a real change Δa the pre-burn orbit and the post-burn sets separate along-track at
        3/2·n·Δa, so the pre-burn set propagated to successive post-burn epochs must drift
        apart at that rate (the separation growth used for timing by Patera 2008). A mean-
        motion jump from a poor fit has no such drift. Checked only where the expected drift
        over the next ``drift_sets`` sets is measurable (> ``drift_sigma`` along-track sigmas)
        and only for steps that rest on the semi-major axis alone.
        """
        cfg = self.cfg
        if candidate.z_a < cfg.threshold_sigma or max(candidate.z_e, candidate.z_out) >= (
            cfg.threshold_sigma
        ):
            return True
        last = min(candidate.after + cfg.drift_sets, len(self.kept) - 1)
        if last == candidate.after:
            return True
        near = self.leg(candidate.before, candidate.after)
        far = self.leg(candidate.before, last)
        if near is None or far is None:
            return True
        da_km = far.da_km - candidate.centers["a"]
        days = far.dt_days - near.dt_days
        expected = 1.5 * far.n_rad_min * MINUTES_PER_DAY * da_km * days
        # Normal along-track residual growth over that time, removed as in the noise model.
        observed = (far.along_km - near.along_km) - candidate.centers["along"] * days
        sigma = candidate.scales["along"] * max(days, 0.05)
        if abs(expected) < cfg.drift_sigma * sigma:
            return True
        return observed / expected >= cfg.drift_min_ratio

    def candidate(self, before: int, after: int) -> Candidate | None:
        """Step scores for kept sets ``before`` -> ``after`` that persist over nearby anchors.

        A maneuver is a *step*: it shows the same way from earlier anchors to later ones.
        A single bad set shows in only some combinations. Each component's score is the smallest
        projection, over anchors {before - d .. before} x {after .. after + d}, onto the
        direction of the main jump (0 if any disagrees in sign).
        """
        main = self.z_of(before, after)
        if main is None:
            return None
        leg, z, centers, scales = main
        scores = {
            "a": abs(z["a"]),
            "e": math.hypot(z["ex"], z["ey"]),
            "o": math.hypot(z["i"], z["node"]),
        }
        if (
            max(
                scores["a"],
                scores["e"] / self.cfg.secondary_factor,
                scores["o"] / self.cfg.secondary_factor,
            )
            < self.cfg.threshold_sigma
        ):
            return None
        unit = {
            "a": (math.copysign(1.0, z["a"]), 0.0),
            "e": (z["ex"] / (scores["e"] or 1.0), z["ey"] / (scores["e"] or 1.0)),
            "o": (z["i"] / (scores["o"] or 1.0), z["node"] / (scores["o"] or 1.0)),
        }
        depth = self.cfg.persistence_depth
        for b in range(max(before - depth, 0), before + 1):
            for a in range(after, min(after + depth, len(self.kept) - 1) + 1):
                if (b, a) == (before, after):
                    continue
                # Anchors are scored with the noise of the main jump: a step does not grow
                # with the number of sets it spans, the per-set fit noise dominates.
                other = self.z_of(b, a, noise_span=after - before)
                if other is None:
                    continue
                zl = other[1]
                projections = {
                    "a": unit["a"][0] * zl["a"],
                    "e": unit["e"][0] * zl["ex"] + unit["e"][1] * zl["ey"],
                    "o": unit["o"][0] * zl["i"] + unit["o"][1] * zl["node"],
                }
                for name, value in projections.items():
                    scores[name] = min(scores[name], max(value, 0.0))
        # The mean motion is the best-determined TLE element (fitted over many revolutions);
        # e, ω, i and Ω scatter with heavier tails, so a jump seen only in them must be
        # ``secondary_factor`` times larger to count (see DetectionConfig).
        return Candidate(
            before=before,
            after=after,
            jump=leg,
            centers=centers,
            scales=scales,
            z_a=scores["a"],
            z_e=scores["e"] / self.cfg.secondary_factor,
            z_out=scores["o"] / self.cfg.secondary_factor,
        )
