"""Size, kind and burn time of a candidate step."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
from sgp4.api import Satrec

from astroshield.astro.ccdm.maneuvers.candidates import Candidate, Detector
from astroshield.astro.ccdm.maneuvers.hinge import Hinge, periodic_error_minutes
from astroshield.astro.ccdm.maneuvers.jumps import MINUTES_PER_DAY, Jump, mean_at, wrap
from astroshield.astro.ccdm.maneuvers.model import DetectionConfig, ManeuverDetection, ManeuverKind


class BurnWindow(NamedTuple):
    """Best estimate of the burn time and the window that bounds it."""

    epoch: datetime
    window_start: datetime
    window_end: datetime


class BurnTime(NamedTuple):
    """A burn-time estimate; ``timed`` says whether the along-track drift timed it."""

    epoch: datetime
    window_start: datetime
    window_end: datetime
    timed: bool


class _Size(NamedTuple):
    """Size and kind of a step, net of the noise model's centres."""

    kind: ManeuverKind
    da_km: float
    de: float
    dinc: float
    rotation: float
    dv_in: float
    dv_out: float
    delta_v: float


def build_detection(
    candidate: Candidate, detector: Detector, cfg: DetectionConfig, limit: int | None = None
) -> ManeuverDetection:
    """Size, kind, burn time and confidence of a candidate step.

    ``limit`` is the last kept set that may be used to time the burn (the set before the next
    step): a set or two past the jump is better converged than the first post-burn fit, which
    often still leans on pre-burn tracking.
    """
    # For a step found across several sets use the whole span's jump for the size.
    whole = detector.leg(candidate.before, candidate.after) or candidate.jump
    size = _size(candidate, whole, cfg)
    burn = _burn_time(candidate, detector, whole, size.da_km, cfg, limit)
    score = candidate.score
    confidence = _confidence(score, cfg)
    return ManeuverDetection(
        epoch=burn.epoch,
        window_start=burn.window_start,
        window_end=burn.window_end,
        delta_v_m_s=size.delta_v,
        kind=size.kind,
        confidence=confidence,
        score=score,
        before_index=detector.kept[candidate.before],
        after_index=detector.kept[candidate.after],
        delta_a_km=size.da_km,
        delta_e=size.de,
        delta_inclination_deg=math.degrees(size.dinc),
        normal_rotation_deg=math.degrees(size.rotation),
        delta_v_in_plane_m_s=size.dv_in,
        delta_v_out_of_plane_m_s=size.dv_out,
        timed=burn.timed,
        component_scores=(candidate.z_a, candidate.z_e, candidate.z_out),
    )


def _size(candidate: Candidate, whole: Jump, cfg: DetectionConfig) -> _Size:
    """Kind and Δv of a step from the Gauss equations (near-circular orbit)."""
    centers = candidate.centers
    v_m_s = candidate.jump.speed_km_s * 1000.0
    in_plane = max(candidate.z_a, candidate.z_e) >= cfg.threshold_sigma
    out_plane = candidate.z_out >= cfg.threshold_sigma
    kind: ManeuverKind = (
        "both" if in_plane and out_plane else ("in_plane" if in_plane else "out_of_plane")
    )
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
    return _Size(kind, da_km, de, dinc, rotation, dv_in, dv_out, delta_v)


def _burn_time(
    candidate: Candidate,
    detector: Detector,
    whole: Jump,
    da_km: float,
    cfg: DetectionConfig,
    limit: int | None,
) -> BurnTime:
    """Burn time of a step: two-sided and one-sided along-track timing, then the phase."""
    centers = candidate.centers
    kept = detector.kept
    before, after = candidate.before, candidate.after
    t0 = detector.epochs[kept[before]]
    t1 = detector.epochs[kept[after]]
    earliest = detector.epochs[kept[max(before - 1, 0)]]
    end = min(after + cfg.timing_extension, len(kept) - 1, after if limit is None else limit)
    timing_leg = detector.leg(before, end) if end > after else None
    if timing_leg is None:
        timing_leg, end = whole, after
    t_end = detector.epochs[kept[end]]
    backward = detector.leg(end, before) if cfg.two_sided_timing else None
    along_scale = candidate.scales["along"]
    two_sided = (
        _two_sided_timing(timing_leg, backward, da_km, along_scale, earliest, t0, t1, t_end, cfg)
        if backward is not None
        else None
    )
    leg_da_km = timing_leg.da_km - centers["a"]
    one_sided = _timing(
        timing_leg, leg_da_km, centers["along"], along_scale, earliest, t0, t1, t_end, cfg
    )
    epoch, window_start, window_end, timed = two_sided or one_sided
    if two_sided is not None and one_sided.timed:
        # Both estimates valid. They err differently on a post-burn fit that still leans on
        # pre-burn tracking, so the window covers both and the epoch may blend them.
        epoch = epoch + (one_sided.epoch - epoch) * cfg.timing_blend
        window_start = min(window_start, one_sided.window_start)
        window_end = max(window_end, one_sided.window_end)
    if cfg.phase_timing:
        phased = _phase_timing(candidate, detector, whole, da_km, epoch, t1, cfg)
        if phased is not None:
            epoch, window_start, window_end = phased
    return BurnTime(epoch, window_start, window_end, timed)


def _timing(
    jump: Jump,
    da_km: float,
    along_center_per_day: float,
    along_scale_per_day: float,
    earliest: datetime,
    t0: datetime,
    t1: datetime,
    t_end: datetime,
    cfg: DetectionConfig,
) -> BurnTime:
    """Burn time from the along-track residual: T = 3/2·n·Δa·(t₁ - t_m).

    The bound reaches back to the set before ``t0`` because a set issued shortly after a burn
    is often still fitted to pre-burn tracking, so the jump shows one interval late.
    """
    midpoint = t0 + (t1 - t0) / 2
    drift_km_per_day = 1.5 * jump.n_rad_min * MINUTES_PER_DAY * da_km
    if drift_km_per_day == 0.0:
        return BurnTime(midpoint, t0, t1, False)
    along = jump.along_km - along_center_per_day * jump.dt_days
    lag_days = along / drift_km_per_day
    sigma_days = along_scale_per_day * max(jump.dt_days, 0.05) / abs(drift_km_per_day)
    span_days = (t1 - earliest).total_seconds() / 86400.0
    # Timing is only trusted when it constrains the burn better than the interval does.
    if 2.0 * cfg.timing_sigma * sigma_days >= span_days:
        return BurnTime(midpoint, t0, t1, False)
    estimate = t_end - timedelta(days=lag_days)
    if not _plausible(estimate, sigma_days, earliest, t1, cfg):
        return BurnTime(midpoint, t0, t1, False)
    estimate = min(max(estimate, earliest), t1)
    half = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    start = max(estimate - half, earliest)
    end = min(estimate + half, t1)
    return BurnTime(estimate, start, max(end, start), True)


def _phase_timing(
    candidate: Candidate,
    detector: Detector,
    whole: Jump,
    da_km: float,
    coarse: datetime,
    t1: datetime,
    cfg: DetectionConfig,
) -> BurnWindow | None:
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
    if periodic_error_minutes(whole.n_rad_min) < cfg.timing_floor_hours * 60.0:
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
    n_rad_day = whole.n_rad_min * MINUTES_PER_DAY
    for _ in range(3):
        mean = mean_at(prev, (estimate - prev_epoch).total_seconds() / 60.0)
        if mean is None:
            return None
        n_rad_day = mean.n_rad_min * MINUTES_PER_DAY
        # Mean longitude: equal to the true longitude within 2e, far below the Δe direction error.
        longitude = mean.raan + mean.argp + mean.mean_anomaly
        estimate += timedelta(days=wrap(burn_longitude - longitude) / n_rad_day)
    period_days = 2.0 * math.pi / n_rad_day
    dv_t_km_s = whole.speed_km_s * abs(da_km) / (2.0 * whole.a_km)
    along_sigma_km = candidate.scales["along"] * max(whole.dt_days, 0.05)
    if 3.0 * dv_t_km_s * period_days * 86400.0 < cfg.timing_sigma * along_sigma_km:
        return None
    lower = detector.epochs[kept[max(candidate.before - cfg.persistence_depth, 0)]]
    continuous = _where_continuous(
        (prev, prev_epoch), (nxt, nxt_epoch), estimate, timedelta(days=period_days), (lower, t1)
    )
    if continuous is None:
        return None
    estimate = continuous
    # Direction error of Δe ~ its noise over its size, in radians of orbital longitude.
    scale_e = math.hypot(candidate.scales["ex"], candidate.scales["ey"]) / math.sqrt(2.0)
    sigma_days = scale_e / de / n_rad_day
    half = timedelta(days=cfg.timing_sigma * sigma_days) + timedelta(hours=cfg.timing_floor_hours)
    return BurnWindow(estimate, estimate - half, estimate + half)


def _where_continuous(
    old: tuple[Satrec, datetime],
    new: tuple[Satrec, datetime],
    estimate: datetime,
    period: timedelta,
    bounds: tuple[datetime, datetime],
) -> datetime | None:
    """Of the moments whole periods from ``estimate`` within ``bounds``, the one where the
    ``old`` (pre-burn) and ``new`` (post-burn) sets are closest (position is continuous
    through an impulsive burn); ``None`` when SGP4 fails at all of them."""
    lower, upper = bounds
    turns = math.ceil((upper - lower) / period) + 1
    gaps = []
    for turn in range(-turns, turns + 1):
        moment = estimate + turn * period
        if not lower <= moment <= upper:
            continue
        old_orbit = mean_at(old[0], (moment - old[1]).total_seconds() / 60.0)
        new_orbit = mean_at(new[0], (moment - new[1]).total_seconds() / 60.0)
        if old_orbit is not None and new_orbit is not None:
            gaps.append((float(np.linalg.norm(new_orbit.r_km - old_orbit.r_km)), moment))
    return min(gaps)[1] if gaps else None


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
    forward: Jump,
    backward: Jump,
    da_km: float,
    along_scale_per_day: float,
    earliest: datetime,
    t0: datetime,
    t1: datetime,
    t_end: datetime,
    cfg: DetectionConfig,
) -> BurnTime | None:
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
    return BurnTime(estimate, start, max(end, start), True)


def hinge_detection(item: Hinge, epoch: datetime, detector: Detector) -> ManeuverDetection:
    """A detection from an along-track slope break: a tangential burn of Δa (Gauss)."""
    cfg = detector.cfg
    before = detector.kept[item.before]
    after = detector.kept[item.before + 1]
    leg = detector.leg(item.before, item.before + 1)
    a_km = leg.a_km if leg is not None else 0.0
    speed = leg.speed_km_s * 1000.0 if leg is not None else 0.0
    delta_v = speed * abs(item.da_km) / (2.0 * a_km) if a_km else 0.0
    score = abs(item.z)
    half = (
        timedelta(hours=cfg.timing_floor_hours)
        + (detector.epochs[after] - detector.epochs[before]) / 8
    )
    return ManeuverDetection(
        epoch=epoch,
        window_start=epoch - half,
        window_end=epoch + half,
        delta_v_m_s=delta_v,
        kind="in_plane",
        confidence=_confidence(score, cfg),
        score=score,
        before_index=before,
        after_index=after,
        delta_a_km=item.da_km,
        delta_e=0.0,
        delta_inclination_deg=0.0,
        normal_rotation_deg=0.0,
        delta_v_in_plane_m_s=delta_v,
        delta_v_out_of_plane_m_s=0.0,
        timed=True,
        component_scores=(score, 0.0, 0.0),
    )


def _confidence(score: float, cfg: DetectionConfig) -> float:
    """Logistic map of the score: 0.5 at the threshold, ~0.95 at threshold + 4.4 sigma."""
    return 1.0 / (1.0 + math.exp(-(score - cfg.threshold_sigma) / 1.5))
