"""Maneuver detection from the element-set (TLE/OMM) history of one object (issue 9).

Method (a residual/step detector in the family of Kelecy et al. 2007, "Satellite Maneuver
Detection Using Two-line Element (TLE) Data", AMOS, and Lemmens & Krag 2014, "Two-Line-Elements-
Based Maneuver Detection Methods for Satellites in Low Earth Orbit", JGCD 37(3)):

1. Every element set is initialised in SGP4 (:func:`astroshield.astro.dynamics.elements.to_satrec`)
   and
   the previous set is propagated to the epoch of the next one. The *jumps* are the next set's
   SGP4 mean elements minus the propagated mean elements of the previous one (``Satrec.nm``,
   ``em``, ``im``, ``Om``, ``om`` after the call): semi-major axis from the (un-Kozai'd, Brouwer)
   mean motion of both sides, so the Kozai/Brouwer convention cancels; inclination; the
   eccentricity vector referred to the longitude of perigee (well defined at GEO); and the
   orbit-normal change split into Δi and sin(i)·ΔΩ. SGP4 propagation already removes the J2
   (and, for deep-space orbits, luni-solar) secular node and perigee drift and the BSTAR drag
   decay, so the RAAN jump is drift-corrected. The position residual of the propagated previous
   set against the next set is resolved in RTN
   (:func:`astroshield.astro.dynamics.frames.rtn_rotation`).
2. Isolated bad element sets (a set inconsistent with both neighbours while the neighbours agree
   with each other, common just after a maneuver and on GEO) are removed before scoring, in the
   spirit of the outlier screening of Lemmens & Krag 2014. A set issued mid-maneuver can be
   bad in e or the orbit normal alone while a real step passes under it; it is recognised by
   the detour the path through it makes in that element (|in| + |out| well above |skip|).
3. Each jump component is normalised by the object's own robust scatter over a centred sliding
   window of intervals: centre = median, scale = max(1.4826·MAD, q90(|dev|)/1.645). The two agree
   for Gaussian scatter; the tail term widens the scale where the scatter is heavy-tailed (GEO
   element sets), where the MAD alone under-states it. Normal TLE noise and unmodelled drag thus
   set the scale per object and per epoch; one global threshold in these robust sigmas is used
   for every object and regime. The mean motion is the best-determined TLE element; jumps seen
   only in e or in the orbit normal must pass ``secondary_factor`` times the threshold.
4. A maneuver is a *step*: the jump must persist when the anchors move to neighbouring sets
   (all pairs from the ``persistence_depth`` sets before to the ``persistence_depth`` sets after);
   the score is the smallest same-direction projection over those pairs, so one bad set cannot
   make (or hide) a step. Small burns are often absorbed by the catalogue over 2-4 successive
   fits, so steps are also searched across ``slow_span`` sets, and jumps of neighbouring
   intervals that are one burn (much smaller same-sign follow-up, or burn-time estimates within
   ``merge_hours``) are joined.
5. The maneuver time comes from the along-track residual. After an impulsive change Δa at t_m
   the new orbit drifts along-track at -3/2·n·Δa relative to the old one, so the pre-burn set,
   propagated to a post-burn epoch t₁, is ahead by T ≈ 3/2·n·Δa·(t₁ - t_m) (the separation-growth
   argument used for timing e.g. by Patera 2008, "Space Event Detection Method", JSR 45(3)).
   With ``two_sided_timing`` the post-burn set is also propagated back to the pre-burn epoch,
   and the burn time is the zero of that separation, a line in time through both values. An
   estimate far outside the interval (the first post-burn fit often still leans on pre-burn
   tracking) falls back to the interval midpoint instead of being clipped to an end. The same
   relation checks that a semi-major-axis jump is physical: the drift must continue over the
   following sets. The drift line ignores the periodic part of the relative motion (amplitude
   4Δv/n along-track, Clohessy-Wiltshire), which shifts its zero by up to ~5 h at GEO. Where the
   eccentricity jump is significant, the burn's place on the orbit is read from its direction
   instead (a tangential burn moves the eccentricity vector towards the burn point, Gauss
   equations), which gives the time modulo one period; the period is the one where the pre-
   and post-burn sets are at the same place (position is continuous through an impulsive burn).
6. Δv follows the Gauss variational equations for near-circular orbits: Δv_T = v·Δa/(2a),
   |Δe| = 2Δv_T/v or Δv_R/v in-plane, and Δv_N = 2v·sin(Δθ/2) for an orbit-normal rotation Δθ
   (Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., §9.6).

Everything here is pure numpy/sgp4 (no web or database imports), usable from a notebook.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt
from sgp4.api import Satrec

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.frames import rtn_rotation

__all__ = [
    "MIN_HISTORY_SETS",
    "DetectionConfig",
    "ElementHistory",
    "ManeuverDetection",
    "ManeuverKind",
    "MatchResult",
    "detect_maneuvers",
    "element_history",
    "load_truth_csv",
    "match_events",
    "plot_history",
    "to_json_records",
]

FloatArray = npt.NDArray[np.float64]
ManeuverKind = Literal["in_plane", "out_of_plane", "both"]

# Fewer sets than this give no noise model to judge a jump against: nothing is detected.
MIN_HISTORY_SETS = 8
_MINUTES_PER_DAY = 1440.0
_EARTH_ROTATION_RAD_PER_DAY = 2.0 * math.pi * 1.00273781191135448
# MAD -> sigma for a normal distribution.
_MAD_TO_SIGMA = 1.4826
# Noise floors at about the TLE field resolution (n: 1e-8 rev/day, i/RAAN: 1e-4 deg,
# e: 1e-7), so a window of identical rounded values cannot give a zero scale.
_FLOOR_A_REL = 1e-9
_FLOOR_ANGLE_RAD = math.radians(3e-5)
_FLOOR_E = 3e-8
_FLOOR_ALONG_KM = 0.01


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Global settings of the detector; the defaults are used for every object and regime.

    The defaults of ``threshold_sigma``, ``tail_quantile``, ``slow_span``, ``timing_extension``,
    ``secondary_factor``, ``persistence_depth``, ``gradual_ratio``, ``settle_sets``,
    ``two_sided_timing``, ``merge_untimed`` and ``unconfirmed_factor`` were chosen by a grid
    search on the first half of the CryoSat-2 history only (``benchmarks/maneuver_detection.py
    --tune``); the other values are physical or numerical choices (``phase_dv_ratio`` = 2 admits
    a radial part that turns the eccentricity jump by up to 60 degrees). Nothing is set per
    satellite.
    """

    # Detection threshold, in robust sigmas of the object's own jump scatter.
    threshold_sigma: float = 6.0
    # Intervals in the centred sliding window of the robust noise model (~2 months of daily sets).
    window: int = 61
    # Passes of isolated-bad-set removal; a set is dropped when the skip jump over it is below
    # ``outlier_skip_ratio`` of both jumps into and out of it.
    outlier_passes: int = 3
    outlier_skip_ratio: float = 0.35
    # Two-sided tail quantile of |deviation| used with the MAD for the scale (0.5 = MAD only);
    # multi-set jumps overlap each other's steps, so they use ``slow_tail_quantile``.
    tail_quantile: float = 0.9
    slow_tail_quantile: float = 0.5
    # Anchor sets on each side over which a step must persist.
    persistence_depth: int = 2
    # Factor on the threshold for steps seen only in e or in the orbit normal.
    secondary_factor: float = 3.0
    # Sets spanned by the second (slow-absorption) pass; 1 disables it.
    slow_span: int = 3
    # Joining of jumps that are one burn: a same-sign follow-up smaller than ``gradual_ratio``
    # of its neighbour within ``settle_sets`` sets, or in the next interval with burn times
    # within ``merge_hours`` or (``merge_untimed``) with no along-track support of its own.
    gradual_ratio: float = 0.5
    settle_sets: int = 0
    merge_hours: float = 24.0
    merge_untimed: bool = True
    # Semi-major-axis-only steps that the along-track drift cannot time (untimed) must reach
    # ``unconfirmed_factor`` x the threshold (chosen in a second tuning stage, same protocol).
    unconfirmed_factor: float = 2.0
    # Burn timing: half-width of the window in timing sigmas plus a floor; extra sets after the
    # step used for the along-track lever arm; two-sided (zero-crossing) estimate first, moved
    # ``timing_blend`` of the way to the one-sided estimate when both are valid.
    timing_sigma: float = 3.0
    timing_floor_hours: float = 1.0
    timing_extension: int = 0
    two_sided_timing: bool = True
    timing_blend: float = 0.0
    # Burn time of day from the direction of a significant eccentricity jump (``_phase_timing``)
    # when its size is at most ``phase_dv_ratio`` x that of a purely tangential burn.
    phase_timing: bool = True
    phase_dv_ratio: float = 2.0
    # Drift check of semi-major-axis-only steps over the next ``drift_sets`` sets: rejected when
    # the expected drift exceeds ``drift_sigma`` sigmas and less than ``drift_min_ratio`` of it
    # is seen.
    drift_sets: int = 2
    drift_sigma: float = 3.0
    drift_min_ratio: float = 0.5


@dataclass(frozen=True, slots=True)
class ManeuverDetection:
    """One detected maneuver between element sets ``before_index`` and ``after_index``.

    The indices refer to the input sorted by epoch with repeated epochs dropped.

    ``epoch`` is the best estimate (the direction of a significant eccentricity jump, else the
    along-track timing when the semi-major axis changed enough to time it, else the interval
    midpoint); ``window_start``/``window_end`` bound it. ``timed`` says whether the along-track
    drift timed (and so confirmed) the step.
    ``delta_v_m_s`` is the Gauss-equation estimate (a lower bound for multi-burn maneuvers).
    ``score`` is the largest jump in robust sigmas, ``confidence`` maps it into [0, 1].
    """

    epoch: datetime
    window_start: datetime
    window_end: datetime
    delta_v_m_s: float
    kind: ManeuverKind
    confidence: float
    score: float
    before_index: int
    after_index: int
    delta_a_km: float
    delta_e: float
    delta_inclination_deg: float
    normal_rotation_deg: float
    delta_v_in_plane_m_s: float
    delta_v_out_of_plane_m_s: float
    timed: bool
    component_scores: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_json_record(self) -> dict[str, object]:
        """The exchange record: ISO UTC epochs, Δv in m/s, kind and confidence."""
        return {
            "epoch": _iso(self.epoch),
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "delta_v_m_s": self.delta_v_m_s,
            "kind": self.kind,
            "confidence": self.confidence,
        }


def to_json_records(detections: Sequence[ManeuverDetection]) -> list[dict[str, object]]:
    """JSON-ready records ``{"epoch", "window_start", "window_end", "delta_v_m_s", "kind",
    "confidence"}`` in detection order."""
    return [detection.to_json_record() for detection in detections]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------- mean elements


@dataclass(frozen=True, slots=True)
class _Mean:
    """SGP4 mean elements (after a propagation call) plus the osculating TEME state."""

    a_km: float
    n_rad_min: float
    e: float
    inc: float
    raan: float
    argp: float
    mean_anomaly: float
    r_km: FloatArray
    v_km_s: FloatArray


def _mean_at(satrec: Satrec, minutes: float) -> _Mean | None:
    error, r, v = satrec.sgp4_tsince(minutes)
    if error != 0:
        return None
    n = float(satrec.nm)
    a_km = (float(satrec.xke) / n) ** (2.0 / 3.0) * float(satrec.radiusearthkm)
    return _Mean(
        a_km=a_km,
        n_rad_min=n,
        e=float(satrec.em),
        inc=float(satrec.im),
        raan=float(satrec.Om),
        argp=float(satrec.om),
        mean_anomaly=float(satrec.mm),
        r_km=np.asarray(r, dtype=np.float64),
        v_km_s=np.asarray(v, dtype=np.float64),
    )


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@dataclass(frozen=True, slots=True)
class _Jump:
    """Next set minus previous set propagated to the next epoch."""

    dt_days: float
    da_km: float
    dex: float
    dey: float
    dinc: float
    dnode: float  # sin(i) * ΔΩ: the other orbit-normal component
    along_km: float  # previous minus next, along-track (T of the next set's RTN)
    radial_km: float
    cross_km: float
    a_km: float
    n_rad_min: float
    inc: float
    speed_km_s: float


def _jump(prev: Satrec, prev_epoch: datetime, nxt: Satrec, nxt_epoch: datetime) -> _Jump | None:
    dt_min = (nxt_epoch - prev_epoch).total_seconds() / 60.0
    predicted = _mean_at(prev, dt_min)
    actual = _mean_at(nxt, 0.0)
    if predicted is None or actual is None:
        return None
    # Eccentricity vector referred to the longitude of perigee, defined at any inclination.
    lp_pred = predicted.raan + predicted.argp
    lp_act = actual.raan + actual.argp
    dex = actual.e * math.cos(lp_act) - predicted.e * math.cos(lp_pred)
    dey = actual.e * math.sin(lp_act) - predicted.e * math.sin(lp_pred)
    inc = 0.5 * (actual.inc + predicted.inc)
    rtn = rtn_rotation(actual.r_km, actual.v_km_s)
    residual = rtn @ (predicted.r_km - actual.r_km)
    return _Jump(
        dt_days=dt_min / _MINUTES_PER_DAY,
        da_km=actual.a_km - predicted.a_km,
        dex=dex,
        dey=dey,
        dinc=actual.inc - predicted.inc,
        dnode=math.sin(inc) * _wrap(actual.raan - predicted.raan),
        along_km=float(residual[1]),
        radial_km=float(residual[0]),
        cross_km=float(residual[2]),
        a_km=actual.a_km,
        n_rad_min=actual.n_rad_min,
        inc=inc,
        speed_km_s=float(np.linalg.norm(actual.v_km_s)),
    )


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class ElementHistory:
    """Mean-element time series of one object (one row per element set, sorted by epoch).

    ``raan_residual_deg`` is the RAAN minus a linear fit (the J2 secular drift and a constant),
    ``geo_longitude_deg`` the mean longitude east of Greenwich (only meaningful near GEO) and
    ``drift_deg_per_day`` the mean-longitude drift rate n - ω⊕.
    """

    epochs: tuple[datetime, ...]
    a_km: FloatArray
    inclination_deg: FloatArray
    eccentricity: FloatArray
    raan_residual_deg: FloatArray
    geo_longitude_deg: FloatArray
    drift_deg_per_day: FloatArray
    is_geo: bool


def _sorted_unique(elements: Sequence[ElementSet]) -> list[ElementSet]:
    by_epoch: dict[datetime, ElementSet] = {}
    for item in elements:
        by_epoch.setdefault(item.epoch, item)
    return [by_epoch[key] for key in sorted(by_epoch)]


def _gmst_rad(moment: datetime) -> float:
    # IAU 1982 GMST, the sidereal angle SGP4's TEME is tied to (Vallado's gstime).
    jd = (moment - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400.0
    t = jd / 36525.0
    seconds = (
        67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t * t - 6.2e-6 * t**3
    )
    return math.radians((seconds % 86400.0) / 240.0)


def element_history(elements: Sequence[ElementSet]) -> ElementHistory:
    """SGP4 mean elements at each epoch (sorted, duplicate epochs dropped), for plots/analysis."""
    ordered = _sorted_unique(elements)
    means = []
    epochs = []
    for item in ordered:
        satrec = to_satrec(item)
        mean = _mean_at(satrec, 0.0)
        if mean is not None:
            means.append((mean, item))
            epochs.append(item.epoch)
    if not means:
        raise ValueError("no element set could be initialised in SGP4")
    a = np.array([m.a_km for m, _ in means])
    inc = np.degrees([m.inc for m, _ in means])
    ecc = np.array([m.e for m, _ in means])
    raan = np.unwrap(np.array([m.raan for m, _ in means]))
    days = np.array([(e - epochs[0]).total_seconds() / 86400.0 for e in epochs])
    if len(days) >= 2 and days[-1] > days[0]:
        coeffs = np.polyfit(days, raan, 1)
        raan_res = np.degrees(raan - np.polyval(coeffs, days))
    else:
        raan_res = np.zeros_like(raan)
    n_rad_day = np.array([m.n_rad_min for m, _ in means]) * _MINUTES_PER_DAY
    drift = np.degrees(n_rad_day - _EARTH_ROTATION_RAD_PER_DAY)
    lon = np.array(
        [
            math.degrees(
                _wrap(math.radians(item.mean_anomaly_deg) + m.argp + m.raan - _gmst_rad(item.epoch))
            )
            for m, item in means
        ]
    )
    is_geo = bool(np.median(n_rad_day) / (2.0 * math.pi) < 1.5)
    return ElementHistory(
        epochs=tuple(epochs),
        a_km=a,
        inclination_deg=np.asarray(inc, dtype=np.float64),
        eccentricity=ecc,
        raan_residual_deg=np.asarray(raan_res, dtype=np.float64),
        geo_longitude_deg=lon,
        drift_deg_per_day=np.asarray(drift, dtype=np.float64),
        is_geo=is_geo,
    )


# ----------------------------------------------------------------------------- robust noise


def _rolling_center_scale(
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
        _MAD_TO_SIGMA * np.median(deviation, axis=1),
        np.quantile(deviation, tail_quantile, axis=1) / _tail_z(tail_quantile),
    )
    return np.asarray(center, dtype=np.float64), np.maximum(scale, floor)


def _tail_z(quantile: float) -> float:
    """Standard-normal quantile of a two-sided |deviation| quantile (0.9 -> 1.645)."""
    return NormalDist().inv_cdf(0.5 + quantile / 2.0)


def _component_arrays(jumps: Sequence[_Jump]) -> dict[str, FloatArray]:
    return {
        "a": np.array([j.da_km for j in jumps]),
        "ex": np.array([j.dex for j in jumps]),
        "ey": np.array([j.dey for j in jumps]),
        "i": np.array([j.dinc for j in jumps]),
        "node": np.array([j.dnode for j in jumps]),
        # Along-track residual per day of propagation: the drag/fit error grows with the gap.
        "along": np.array([j.along_km / max(j.dt_days, 0.05) for j in jumps]),
    }


def _noise_model(
    jumps: Sequence[_Jump], window: int, tail_quantile: float
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
        name: _rolling_center_scale(values, window, floors[name], tail_quantile)
        for name, values in comps.items()
    }


def _z_scores(
    jumps: Sequence[_Jump], noise: Mapping[str, tuple[FloatArray, FloatArray]]
) -> dict[str, FloatArray]:
    comps = _component_arrays(jumps)
    return {name: (comps[name] - noise[name][0]) / noise[name][1] for name in comps}


def _interp_noise(
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


def _max_z(z: Mapping[str, FloatArray], index: int) -> float:
    return max(
        abs(float(z["a"][index])),
        math.hypot(float(z["ex"][index]), float(z["ey"][index])),
        math.hypot(float(z["i"][index]), float(z["node"][index])),
    )


# ----------------------------------------------------------------------------- detection


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A significant step between kept sets ``before`` and ``after`` (positions in ``kept``)."""

    before: int
    after: int
    jump: _Jump
    centers: dict[str, float]
    scales: dict[str, float]
    z_a: float
    z_e: float
    z_out: float

    @property
    def score(self) -> float:
        return max(self.z_a, self.z_e, self.z_out)


class _Detector:
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
        self._cache: dict[tuple[int, int], _Jump | None] = {}
        self._noise: dict[int, tuple[FloatArray, dict[str, tuple[FloatArray, FloatArray]]]] = {}

    def leg(self, before: int, after: int) -> _Jump | None:
        """Jump from kept set ``before`` to kept set ``after`` (positions in ``kept``)."""
        key = (before, after)
        if key not in self._cache:
            p, q = self.kept[before], self.kept[after]
            self._cache[key] = _jump(
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
            model = _noise_model([leg for _, leg in legs], self.cfg.window, quantile)
            self._noise[span] = (days, model)
        return self._noise[span]

    def z_of(
        self, before: int, after: int, noise_span: int | None = None
    ) -> tuple[_Jump, dict[str, float], dict[str, float], dict[str, float]] | None:
        leg = self.leg(before, after)
        if leg is None:
            return None
        days, model = self.noise(noise_span or (after - before))
        if days.shape[0] < 3:
            return None
        local = _interp_noise(model, days, np.array([self.days(after)]))
        z = {name: float(values[0]) for name, values in _z_scores([leg], local).items()}
        centers = {name: float(c[0]) for name, (c, _) in local.items()}
        scales = {name: float(sc[0]) for name, (_, sc) in local.items()}
        return leg, z, centers, scales

    def drift_consistent(self, candidate: _Candidate) -> bool:
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
        expected = 1.5 * far.n_rad_min * _MINUTES_PER_DAY * da_km * days
        # Normal along-track residual growth over that time, removed as in the noise model.
        observed = (far.along_km - near.along_km) - candidate.centers["along"] * days
        sigma = candidate.scales["along"] * max(days, 0.05)
        if abs(expected) < cfg.drift_sigma * sigma:
            return True
        return observed / expected >= cfg.drift_min_ratio

    def candidate(self, before: int, after: int) -> _Candidate | None:
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
        return _Candidate(
            before=before,
            after=after,
            jump=leg,
            centers=centers,
            scales=scales,
            z_a=scores["a"],
            z_e=scores["e"] / self.cfg.secondary_factor,
            z_out=scores["o"] / self.cfg.secondary_factor,
        )


def detect_maneuvers(
    elements: Sequence[ElementSet], *, config: DetectionConfig | None = None
) -> list[ManeuverDetection]:
    """Detect maneuvers in the element-set history of one object.

    ``elements`` may be in any order (sorted by epoch here; repeated epochs keep the first).
    Returns detections sorted by epoch. See the module docstring for the method.
    """
    cfg = config or DetectionConfig()
    if len({item.catalog_number for item in elements}) > 1:
        raise ValueError("element sets of more than one object; pass one object's history")
    ordered = _sorted_unique(elements)
    satrecs = [to_satrec(item) for item in ordered]
    epochs = [item.epoch for item in ordered]
    kept = [index for index, s in enumerate(satrecs) if _mean_at(s, 0.0) is not None]
    if len(kept) < MIN_HISTORY_SETS:
        return []

    # Noise model from the raw consecutive jumps (median/MAD shrug off the outliers), kept
    # fixed while isolated bad sets are removed.
    raw = _Detector(satrecs, epochs, kept, cfg)
    base_days, noise = raw.noise(1)
    if base_days.shape[0] < MIN_HISTORY_SETS:
        return []
    for _ in range(cfg.outlier_passes):
        kept, removed = _remove_outliers(kept, satrecs, epochs, noise, base_days, cfg)
        if not removed:
            break
    if len(kept) < MIN_HISTORY_SETS:
        return []

    detector = _Detector(satrecs, epochs, kept, cfg)
    # Pass 1: sharp steps between consecutive sets.
    found: list[_Candidate] = []
    for k in range(len(kept) - 1):
        candidate = detector.candidate(k, k + 1)
        if (
            candidate is not None
            and candidate.score >= cfg.threshold_sigma
            and detector.drift_consistent(candidate)
        ):
            found.append(candidate)
    found = _merge_gradual(found, cfg)
    found = _merge_close(found, detector, cfg)
    # Pass 2: steps that the catalogue absorbed over several sets (small burns are often
    # spread over 3-4 successive TLE fits), seen as a jump across ``slow_span`` sets.
    covered = [(c.before, c.after) for c in found]
    span = cfg.slow_span
    slow: list[_Candidate] = []
    if span > 1:
        for k in range(len(kept) - span):
            if any(b < k + span and a > k for b, a in covered):
                continue
            candidate = detector.candidate(k, k + span)
            if (
                candidate is None
                or candidate.z_a < cfg.threshold_sigma
                or not detector.drift_consistent(candidate)
            ):
                continue
            if slow and slow[-1].after > k:
                # Overlapping spans see the same step: keep the strongest.
                if candidate.score > slow[-1].score:
                    slow[-1] = candidate
                continue
            slow.append(candidate)
    steps = sorted(found + slow, key=lambda c: c.before)
    detections = [
        _build_detection(
            candidate,
            detector,
            cfg,
            limit=steps[index + 1].before if index + 1 < len(steps) else len(kept) - 1,
        )
        for index, candidate in enumerate(steps)
    ]
    # A semi-major-axis step should leave an along-track drift that times it; a step the drift
    # cannot time rests on the mean motion alone and must be ``unconfirmed_factor`` times
    # stronger (two signatures agreeing vs one).
    detections = [
        d
        for d in detections
        if d.timed
        or d.kind != "in_plane"
        or d.component_scores[1] >= cfg.threshold_sigma
        or d.score >= cfg.unconfirmed_factor * cfg.threshold_sigma
    ]
    return _merge(detections, cfg)


def _merge_gradual(found: list[_Candidate], cfg: DetectionConfig) -> list[_Candidate]:
    """Join jumps that are one burn absorbed over several fits.

    Two same-sign semi-major-axis jumps at most ``settle_sets`` sets apart, where one is less
    than ``gradual_ratio`` of the other, are treated as one step spread over several sets
    (the catalogue fit converging after the burn); comparable jumps on successive days stay
    separate (maneuver sequences).
    """
    merged: list[_Candidate] = []
    for item in found:
        if merged:
            last = merged[-1]
            if (
                item.before - last.after <= cfg.settle_sets
                and last.jump.da_km * item.jump.da_km > 0.0
                and min(abs(last.jump.da_km), abs(item.jump.da_km))
                < cfg.gradual_ratio * max(abs(last.jump.da_km), abs(item.jump.da_km))
            ):
                merged[-1] = _combine(last, item)
                continue
        merged.append(item)
    return merged


def _combine(first: _Candidate, second: _Candidate) -> _Candidate:
    return _Candidate(
        before=first.before,
        after=second.after,
        jump=first.jump if abs(first.jump.da_km) >= abs(second.jump.da_km) else second.jump,
        centers=first.centers,
        scales=first.scales,
        z_a=max(first.z_a, second.z_a),
        z_e=max(first.z_e, second.z_e),
        z_out=max(first.z_out, second.z_out),
    )


def _merge_close(
    found: list[_Candidate], detector: _Detector, cfg: DetectionConfig
) -> list[_Candidate]:
    """Join same-sign jumps of adjacent intervals whose burn-time estimates agree.

    The catalogue often absorbs one burn over two or three successive fits, each jump large
    enough to pass the threshold. When their along-track burn times fall within
    ``merge_hours`` they are one step; the joined step is then re-timed from the set before
    the first jump to the set after the last (the whole response).
    """
    merged: list[tuple[_Candidate, datetime]] = []
    for item in found:
        built = _build_detection(item, detector, cfg)
        epoch = built.epoch
        if merged:
            last, last_epoch = merged[-1]
            if (
                last.after == item.before
                and last.jump.da_km * item.jump.da_km > 0.0
                and (
                    abs(epoch - last_epoch) <= timedelta(hours=cfg.merge_hours)
                    # A follow-up jump whose along-track residual does not support a burn of
                    # its own (untimed) is the fit still converging on the previous one.
                    or (cfg.merge_untimed and not built.timed)
                )
            ):
                joined = _combine(last, item)
                merged[-1] = (joined, _build_detection(joined, detector, cfg).epoch)
                continue
        merged.append((item, epoch))
    return [item for item, _ in merged]


def _remove_outliers(
    kept: list[int],
    satrecs: Sequence[Satrec],
    epochs: Sequence[datetime],
    noise: Mapping[str, tuple[FloatArray, FloatArray]],
    noise_days: FloatArray,
    cfg: DetectionConfig,
) -> tuple[list[int], bool]:
    """Drop sets that jump away from both neighbours while the neighbours agree.

    For a set j between p and q: the jumps p→j and j→q are both above threshold but the skip
    p→q is small compared with them. A real step shows in the skip jump too, so it survives.
    """
    flagged: set[int] = set()
    origin = epochs[0]
    for position in range(1, len(kept) - 1):
        p, j, q = kept[position - 1], kept[position], kept[position + 1]
        if p in flagged:
            continue
        legs = [
            _jump(satrecs[p], epochs[p], satrecs[j], epochs[j]),
            _jump(satrecs[j], epochs[j], satrecs[q], epochs[q]),
            _jump(satrecs[p], epochs[p], satrecs[q], epochs[q]),
        ]
        if any(leg is None for leg in legs):
            continue
        leg_days = np.array(
            [
                (epochs[j] - origin).total_seconds() / 86400.0,
                (epochs[q] - origin).total_seconds() / 86400.0,
                (epochs[q] - origin).total_seconds() / 86400.0,
            ]
        )
        local = _interp_noise(noise, noise_days, leg_days)
        z = _z_scores([leg for leg in legs if leg is not None], local)
        z_in, z_out, z_skip = (_max_z(z, index) for index in range(3))
        if min(z_in, z_out) >= cfg.threshold_sigma and z_skip <= cfg.outlier_skip_ratio * min(
            z_in, z_out
        ):
            flagged.add(j)
            continue
        # A set can also be bad in e or the orbit normal while a real step passes under it (a
        # fit issued mid-maneuver: part of the Δa but a wild eccentricity). Then the skip is not
        # small, but the path through the set is a detour: |in| + |out| exceeds |skip| by about
        # twice the set's own offset, which must pass the stricter secondary threshold. For a
        # real step or a partly converged fit, in and out add up along the skip (no detour).
        limit = cfg.secondary_factor * cfg.threshold_sigma
        for name in ("e", "o"):
            z_in, z_out, z_skip = (_component_z(z, name, index) for index in range(3))
            if min(z_in, z_out) >= limit and (z_in + z_out - z_skip) / 2.0 >= limit:
                flagged.add(j)
                break
    return [index for index in kept if index not in flagged], bool(flagged)


def _component_z(z: Mapping[str, FloatArray], name: str, index: int) -> float:
    if name == "e":
        return math.hypot(float(z["ex"][index]), float(z["ey"][index]))
    return math.hypot(float(z["i"][index]), float(z["node"][index]))


def _build_detection(
    candidate: _Candidate, detector: _Detector, cfg: DetectionConfig, limit: int | None = None
) -> ManeuverDetection:
    """Size, kind, burn time and confidence of a candidate step.

    ``limit`` is the last kept set that may be used to time the burn (the set before the next
    step): a set or two past the jump is better converged than the first post-burn fit, which
    often still leans on pre-burn tracking.
    """
    jump = candidate.jump
    centers = candidate.centers
    v_m_s = jump.speed_km_s * 1000.0
    in_plane = max(candidate.z_a, candidate.z_e) >= cfg.threshold_sigma
    out_plane = candidate.z_out >= cfg.threshold_sigma
    kind: ManeuverKind = (
        "both" if in_plane and out_plane else ("in_plane" if in_plane else "out_of_plane")
    )
    # For a step found across several sets use the whole span's jump for the size.
    whole = detector.leg(candidate.before, candidate.after) or jump
    da_km = whole.da_km - centers["a"]
    de = math.hypot(whole.dex - centers["ex"], whole.dey - centers["ey"])
    dinc = whole.dinc - centers["i"]
    dnode = whole.dnode - centers["node"]
    rotation = math.hypot(dinc, dnode)
    # Gauss, near-circular: tangential burn Δa/a = 2Δv/v and |Δe| = 2Δv/v; radial |Δe| = Δv/v.
    # Taking the larger of the two in-plane signatures gives the minimum in-plane Δv that
    # explains both; the e-signature is used only when it is itself significant.
    dv_t = v_m_s * abs(da_km) / (2.0 * whole.a_km)
    dv_e = v_m_s * de / 2.0 if candidate.z_e >= cfg.threshold_sigma else 0.0
    dv_in = max(dv_t, dv_e) if in_plane else 0.0
    dv_out = v_m_s * 2.0 * math.sin(rotation / 2.0) if out_plane else 0.0
    delta_v = math.hypot(dv_in, dv_out)

    kept = detector.kept
    before, after = candidate.before, candidate.after
    t0 = detector.epochs[kept[before]]
    t1 = detector.epochs[kept[after]]
    earliest = detector.epochs[kept[max(before - 1, 0)]]
    end = min(after + cfg.timing_extension, len(kept) - 1, after if limit is None else limit)
    timing_leg = detector.leg(before, end) if end > after else None
    if timing_leg is None:
        timing_leg, end = whole, after
    backward = detector.leg(end, before) if cfg.two_sided_timing else None
    two_sided = (
        _two_sided_timing(
            timing_leg,
            backward,
            da_km,
            candidate.scales["along"],
            earliest,
            t0,
            t1,
            detector.epochs[kept[end]],
            cfg,
        )
        if backward is not None
        else None
    )
    one_sided = _timing(
        timing_leg,
        timing_leg.da_km - centers["a"],
        centers["along"],
        candidate.scales["along"],
        earliest,
        t0,
        t1,
        detector.epochs[kept[end]],
        cfg,
    )
    epoch, window_start, window_end, timed = two_sided or one_sided
    if two_sided is not None and one_sided[3]:
        # Both estimates valid. They err differently on a post-burn fit that still leans on
        # pre-burn tracking, so the window covers both and the epoch may blend them.
        epoch = epoch + (one_sided[0] - epoch) * cfg.timing_blend
        window_start = min(window_start, one_sided[1])
        window_end = max(window_end, one_sided[2])
    if cfg.phase_timing:
        phased = _phase_timing(candidate, detector, whole, da_km, epoch, t1, cfg)
        if phased is not None:
            epoch, window_start, window_end = phased
    score = candidate.score
    # Logistic map of the score: 0.5 at the threshold, ~0.95 at threshold + 4.4 sigma.
    confidence = 1.0 / (1.0 + math.exp(-(score - cfg.threshold_sigma) / 1.5))
    return ManeuverDetection(
        epoch=epoch,
        window_start=window_start,
        window_end=window_end,
        delta_v_m_s=delta_v,
        kind=kind,
        confidence=confidence,
        score=score,
        before_index=kept[before],
        after_index=kept[after],
        delta_a_km=da_km,
        delta_e=de,
        delta_inclination_deg=math.degrees(dinc),
        normal_rotation_deg=math.degrees(rotation),
        delta_v_in_plane_m_s=dv_in,
        delta_v_out_of_plane_m_s=dv_out,
        timed=timed,
        component_scores=(candidate.z_a, candidate.z_e, candidate.z_out),
    )


def _timing(
    jump: _Jump,
    da_km: float,
    along_center_per_day: float,
    along_scale_per_day: float,
    earliest: datetime,
    t0: datetime,
    t1: datetime,
    t_end: datetime,
    cfg: DetectionConfig,
) -> tuple[datetime, datetime, datetime, bool]:
    """Burn time from the along-track residual: T = 3/2·n·Δa·(t₁ - t_m).

    The bound reaches back to the set before ``t0`` because a set issued shortly after a burn
    is often still fitted to pre-burn tracking, so the jump shows one interval late.
    """
    midpoint = t0 + (t1 - t0) / 2
    drift_km_per_day = 1.5 * jump.n_rad_min * _MINUTES_PER_DAY * da_km
    if drift_km_per_day == 0.0:
        return midpoint, t0, t1, False
    along = jump.along_km - along_center_per_day * jump.dt_days
    lag_days = along / drift_km_per_day
    sigma_days = along_scale_per_day * max(jump.dt_days, 0.05) / abs(drift_km_per_day)
    span_days = (t1 - earliest).total_seconds() / 86400.0
    # Timing is only trusted when it constrains the burn better than the interval does.
    if 2.0 * cfg.timing_sigma * sigma_days >= span_days:
        return midpoint, t0, t1, False
    estimate = t_end - timedelta(days=lag_days)
    if not _plausible(estimate, sigma_days, earliest, t1, cfg):
        return midpoint, t0, t1, False
    estimate = min(max(estimate, earliest), t1)
    half = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    start = max(estimate - half, earliest)
    end = min(estimate + half, t1)
    return estimate, start, max(end, start), True


def _phase_timing(
    candidate: _Candidate,
    detector: _Detector,
    whole: _Jump,
    da_km: float,
    coarse: datetime,
    t1: datetime,
    cfg: DetectionConfig,
) -> tuple[datetime, datetime, datetime] | None:
    """Burn time from where on the orbit the eccentricity vector moved (in-plane burns).

    A tangential burn Δv_T at true longitude λ_b changes the eccentricity vector (referred to
    the longitude of perigee) by Δe = 2Δv_T/v·(cos λ_b, sin λ_b) (Gauss equations, near-circular
    orbit), so the direction of Δe gives λ_b and the burn time modulo one orbital period. This
    is the periodic part of the relative motion that the along-track drift line of
    :func:`_two_sided_timing` ignores: its amplitude 4Δv/n shifts that line's zero by up to
    ~5 h at GEO (Clohessy-Wiltshire), but only minutes in LEO.

    The period is resolved by continuity of position: at the burn the pre- and post-burn sets
    must be at the same place, while one period off they are 3·Δv_T·P apart. The search reaches
    back ``persistence_depth`` sets before the step, because the first sets issued after a
    burn are often still fitted to pre-burn tracking. Used only when Δe is significant, its size
    agrees with a mainly tangential burn (within ``phase_dv_ratio``), the drift line's error
    4/(3n) exceeds ``timing_floor_hours`` (orbits slower than ~5 rev/day) and the periods are
    distinguishable (3·Δv_T·P above ``timing_sigma`` along-track sigmas); otherwise ``None``.
    """
    dex = whole.dex - candidate.centers["ex"]
    dey = whole.dey - candidate.centers["ey"]
    de = math.hypot(dex, dey)
    if da_km == 0.0 or candidate.z_e * cfg.secondary_factor < cfg.threshold_sigma:
        return None
    # The drift line errs by up to 4/(3n) in time (periodic amplitude over drift rate): ~5 h at
    # GEO, ~20 min in LEO. Below the timing floor there is nothing worth correcting.
    if 4.0 / (3.0 * whole.n_rad_min) < cfg.timing_floor_hours * 60.0:
        return None
    # |Δe|·a/|Δa| = Δv_e/Δv_T: 1 for a purely tangential burn, larger with a radial part,
    # which turns Δe away from the burn point (60 degrees at a ratio of 2). A smaller ratio is
    # only noise, which the significance test above already bounds.
    if de * whole.a_km / abs(da_km) > cfg.phase_dv_ratio:
        return None
    kept = detector.kept
    prev = detector.satrecs[kept[candidate.before]]
    prev_epoch = detector.epochs[kept[candidate.before]]
    nxt = detector.satrecs[kept[candidate.after]]
    nxt_epoch = detector.epochs[kept[candidate.after]]
    # A prograde burn makes the burn point the perigee (Δe points at it), a retrograde one
    # the apogee (Δe points away).
    burn_longitude = math.atan2(dey, dex) + (0.0 if da_km > 0.0 else math.pi)
    estimate = coarse
    n_rad_day = whole.n_rad_min * _MINUTES_PER_DAY
    for _ in range(3):
        mean = _mean_at(prev, (estimate - prev_epoch).total_seconds() / 60.0)
        if mean is None:
            return None
        n_rad_day = mean.n_rad_min * _MINUTES_PER_DAY
        # Mean longitude: equal to the true longitude within 2e, far below the Δe direction error.
        longitude = mean.raan + mean.argp + mean.mean_anomaly
        estimate += timedelta(days=_wrap(burn_longitude - longitude) / n_rad_day)
    period_days = 2.0 * math.pi / n_rad_day
    dv_t_km_s = whole.speed_km_s * abs(da_km) / (2.0 * whole.a_km)
    along_sigma_km = candidate.scales["along"] * max(whole.dt_days, 0.05)
    if 3.0 * dv_t_km_s * period_days * 86400.0 < cfg.timing_sigma * along_sigma_km:
        return None
    lower = detector.epochs[kept[max(candidate.before - cfg.persistence_depth, 0)]]
    period = timedelta(days=period_days)
    turns = math.ceil((t1 - lower) / period) + 1
    gaps = []
    for turn in range(-turns, turns + 1):
        moment = estimate + turn * period
        if not lower <= moment <= t1:
            continue
        old_orbit = _mean_at(prev, (moment - prev_epoch).total_seconds() / 60.0)
        new_orbit = _mean_at(nxt, (moment - nxt_epoch).total_seconds() / 60.0)
        if old_orbit is not None and new_orbit is not None:
            gaps.append((float(np.linalg.norm(new_orbit.r_km - old_orbit.r_km)), moment))
    if not gaps:
        return None
    estimate = min(gaps)[1]
    # Direction error of Δe ~ its noise over its size, in radians of orbital longitude.
    scale_e = math.hypot(candidate.scales["ex"], candidate.scales["ey"]) / math.sqrt(2.0)
    sigma_days = scale_e / de / n_rad_day
    half = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    return estimate, estimate - half, estimate + half


def _plausible(
    estimate: datetime,
    sigma_days: float,
    earliest: datetime,
    latest: datetime,
    cfg: DetectionConfig,
) -> bool:
    """Whether a burn-time estimate lies inside its bounds, within ``timing_sigma`` sigmas.

    Far outside means the along-track residual does not follow the impulsive-burn model (a
    post-burn fit still mixing pre-burn tracking, or several burns); clipping such an estimate
    to a bound would be the worst guess, so the caller falls back to the interval midpoint.
    """
    slack = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    return earliest - slack <= estimate <= latest + slack


def _two_sided_timing(
    forward: _Jump,
    backward: _Jump,
    da_km: float,
    along_scale_per_day: float,
    earliest: datetime,
    t0: datetime,
    t1: datetime,
    t_end: datetime,
    cfg: DetectionConfig,
) -> tuple[datetime, datetime, datetime, bool] | None:
    """Burn time as the zero of the old-minus-new along-track separation, a line in time.

    The separation s(t) = 3/2·n·Δa·(t - t_m) holds on both sides of the burn: the pre-burn set
    propagated forward to ``t_end`` gives s(t_end), the post-burn set propagated back to ``t0``
    gives s(t0). The zero crossing needs no Δa and is less sensitive to a first post-burn fit
    that still leans on pre-burn tracking than the one-sided estimate. ``None`` when the slope
    disagrees with the sign of Δa or is not measurable.
    """
    span_days = (t_end - t0).total_seconds() / 86400.0
    if span_days <= 0.0:
        return None
    s_end = forward.along_km
    s_start = -backward.along_km
    slope = (s_end - s_start) / span_days
    if slope * da_km <= 0.0:
        return None
    sigma_days = math.sqrt(2.0) * along_scale_per_day * max(span_days / 2.0, 0.05) / abs(slope)
    bound_days = (t1 - earliest).total_seconds() / 86400.0
    if 2.0 * cfg.timing_sigma * sigma_days >= bound_days:
        return None
    estimate = t0 - timedelta(days=s_start / slope)
    if not _plausible(estimate, sigma_days, earliest, t1, cfg):
        return None
    estimate = min(max(estimate, earliest), t1)
    half = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    start = max(estimate - half, earliest)
    end = min(estimate + half, t1)
    return estimate, start, max(end, start), True


def _merge(detections: list[ManeuverDetection], cfg: DetectionConfig) -> list[ManeuverDetection]:
    """Merge detections of adjacent intervals whose epochs agree (one burn seen twice)."""
    detections.sort(key=lambda item: item.epoch)
    merged: list[ManeuverDetection] = []
    limit = timedelta(hours=cfg.merge_hours)
    for item in detections:
        if merged:
            last = merged[-1]
            if item.before_index == last.after_index and abs(item.epoch - last.epoch) < limit:
                keep = item if item.score > last.score else last
                merged[-1] = keep
                continue
        merged.append(item)
    return merged


# ----------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One-to-one matching of detections with reference events."""

    true_positives: int
    false_positives: int
    false_negatives: int
    pairs: tuple[tuple[int, int], ...]  # (detection index, truth index)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        total = self.true_positives + self.false_negatives
        return self.true_positives / total if total else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2.0 * p * r / (p + r) if p + r else 0.0


def match_events(
    detected: Sequence[datetime], truth: Sequence[datetime], window: timedelta
) -> MatchResult:
    """Greedy closest-first one-to-one matching within ``±window``.

    All (detection, truth) pairs within the window are sorted by time distance and accepted
    when neither side is taken yet; each detection matches at most one event and vice versa.
    """
    candidates = sorted(
        (abs((d - t).total_seconds()), i, j)
        for i, d in enumerate(detected)
        for j, t in enumerate(truth)
        if abs(d - t) <= window
    )
    used_d: set[int] = set()
    used_t: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        pairs.append((i, j))
    return MatchResult(
        true_positives=len(pairs),
        false_positives=len(detected) - len(pairs),
        false_negatives=len(truth) - len(pairs),
        pairs=tuple(sorted(pairs)),
    )


def load_truth_csv(path: Path, satellite: str) -> list[datetime]:
    """``start_utc`` of one satellite from a ``manoeuvres_utc.csv`` style table, sorted."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["satellite"] == satellite]
    return sorted(datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00")) for row in rows)


# ----------------------------------------------------------------------------- plotting


def plot_history(
    elements: Sequence[ElementSet],
    detections: Sequence[ManeuverDetection],
    path: Path | str,
    *,
    truth: Sequence[datetime] = (),
    title: str | None = None,
) -> Path:
    """PNG of a, i, e and RAAN residual (GEO: longitude and drift rate) with detections marked.

    Detections are red lines (their windows shaded); optional reference epochs are green ticks.
    Uses the Agg backend, so it works headless.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(11, 2.2 * len(panels)))
    for axis, (label, values) in zip(axes, panels, strict=True):
        axis.plot(times, values, ".", markersize=2, color="0.2")
        axis.set_ylabel(label, fontsize=8)
        for detection in detections:
            axis.axvspan(detection.window_start, detection.window_end, color="red", alpha=0.12)
            axis.axvline(detection.epoch, color="red", linewidth=0.6)
        for moment in truth:
            axis.axvline(moment, color="green", linewidth=0.6, linestyle="--")
    axes[0].set_title(title or f"element history, {len(detections)} detections")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
