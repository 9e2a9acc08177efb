"""Maneuver detection over one object's element-set history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
from sgp4.api import Satrec

from astroshield.astro.ccdm.maneuvers.candidates import Candidate, Detector
from astroshield.astro.ccdm.maneuvers.hinge import (
    along_track_km,
    hinge_epoch,
    hinges,
    periodic_error_minutes,
    strongest,
)
from astroshield.astro.ccdm.maneuvers.jumps import (
    MINUTES_PER_DAY,
    element_jump,
    mean_at,
    sorted_unique,
)
from astroshield.astro.ccdm.maneuvers.model import (
    MIN_HISTORY_SETS,
    DetectionConfig,
    FloatArray,
    ManeuverDetection,
)
from astroshield.astro.ccdm.maneuvers.noise import component_z, interp_noise, max_z, z_scores
from astroshield.astro.ccdm.maneuvers.timing import build_detection, hinge_detection
from astroshield.astro.dynamics.elements import ElementSet, to_satrec


def detect_maneuvers(
    elements: Sequence[ElementSet], *, config: DetectionConfig | None = None
) -> list[ManeuverDetection]:
    """Detect maneuvers in the element-set history of one object.

    ``elements`` may be in any order (sorted by epoch here; repeated epochs keep the first).
    Returns detections sorted by epoch. See the package docstring for the method.
    """
    cfg = config or DetectionConfig()
    if len({item.catalog_number for item in elements}) > 1:
        raise ValueError("element sets of more than one object; pass one object's history")
    ordered = sorted_unique(elements)
    satrecs = [to_satrec(item) for item in ordered]
    epochs = [item.epoch for item in ordered]
    kept = _clean_history(satrecs, epochs, cfg)
    if kept is None:
        return []
    detector = Detector(satrecs, epochs, kept, cfg)
    found = _merge_close(_merge_gradual(_sharp_steps(detector), cfg), detector, cfg)
    steps = sorted(found + _slow_steps(detector, found), key=lambda c: c.before)
    detections = [
        build_detection(
            candidate,
            detector,
            cfg,
            limit=steps[index + 1].before if index + 1 < len(steps) else len(kept) - 1,
        )
        for index, candidate in enumerate(steps)
    ]
    found_steps = _drop_settling(_merge([d for d in detections if _confirmed(d, cfg)], cfg), cfg)
    return sorted(found_steps + _hinge_steps(detector, found_steps), key=lambda d: d.epoch)


def _hinge_steps(detector: Detector, found: Sequence[ManeuverDetection]) -> list[ManeuverDetection]:
    """Pass 3: along-track slope breaks (see :mod:`.hinge`) away from the steps found.

    A break within ``hinge_exclusion_hours`` of a detection is that detection's burn. Only
    where straight drift lines time a burn within ``timing_floor_hours`` (faster than ~5
    rev/day): on slower orbits (GEO) the periodic relative motion and the resonant longitude
    acceleration bend the along-track curve over the fit window, and the burn is timed from
    the eccentricity jump instead (see :mod:`.timing`).
    """
    cfg = detector.cfg
    if cfg.hinge_sets < 2 or len(detector.kept) < 2 * cfg.hinge_sets + 1:
        return []
    days, track, n_rad_day = along_track_km(detector.satrecs, detector.epochs, detector.kept)
    n_rad_min = float(np.median(n_rad_day)) / MINUTES_PER_DAY
    if periodic_error_minutes(n_rad_min) >= cfg.timing_floor_hours * 60.0:
        return []
    scored = hinges(days, track, n_rad_day, cfg.hinge_sets, cfg.window, cfg.hinge_mask_sigma)
    origin = detector.epochs[0]
    margin = timedelta(hours=cfg.hinge_exclusion_hours)
    added = []
    for item in strongest(scored, cfg.threshold_sigma, cfg.hinge_sets):
        epoch = hinge_epoch(origin, item)
        if any(abs(epoch - d.epoch) <= margin for d in found):
            continue
        if cfg.hinge_raise_only and item.da_km <= 0.0:
            continue
        added.append(hinge_detection(item, epoch, detector))
    return added


def _clean_history(
    satrecs: Sequence[Satrec], epochs: Sequence[datetime], cfg: DetectionConfig
) -> list[int] | None:
    """Indices of the sets SGP4 accepts minus isolated bad sets; ``None`` when too few."""
    kept = [index for index, s in enumerate(satrecs) if mean_at(s, 0.0) is not None]
    if len(kept) < MIN_HISTORY_SETS:
        return None
    # Noise model from the raw consecutive jumps (median/MAD shrug off the outliers), kept
    # fixed while isolated bad sets are removed.
    base_days, noise = Detector(satrecs, epochs, kept, cfg).noise(1)
    if base_days.shape[0] < MIN_HISTORY_SETS:
        return None
    for _ in range(cfg.outlier_passes):
        kept, removed = _remove_outliers(kept, satrecs, epochs, noise, base_days, cfg)
        if not removed:
            break
    return kept if len(kept) >= MIN_HISTORY_SETS else None


def _sharp_steps(detector: Detector) -> list[Candidate]:
    """Pass 1: sharp steps between consecutive sets."""
    cfg = detector.cfg
    found: list[Candidate] = []
    for k in range(len(detector.kept) - 1):
        candidate = detector.candidate(k, k + 1)
        if (
            candidate is not None
            and candidate.score >= cfg.threshold_sigma
            and detector.drift_consistent(candidate)
        ):
            found.append(candidate)
    return found


def _slow_steps(detector: Detector, found: Sequence[Candidate]) -> list[Candidate]:
    """Pass 2: steps that the catalogue absorbed over several sets.

    Small burns are often spread over 3-4 successive TLE fits, seen as a jump across
    ``slow_span`` sets; spans that overlap a step of pass 1 are skipped.
    """
    cfg = detector.cfg
    covered = [(c.before, c.after) for c in found]
    span = cfg.slow_span
    slow: list[Candidate] = []
    if span <= 1:
        return slow
    for k in range(len(detector.kept) - span):
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
    return slow


def _confirmed(detection: ManeuverDetection, cfg: DetectionConfig) -> bool:
    """Whether a detection has enough support to be reported.

    A semi-major-axis step should leave an along-track drift that times it; a step the drift
    cannot time rests on the mean motion alone and must be ``unconfirmed_factor`` times
    stronger (two signatures agreeing vs one).
    """
    return (
        detection.timed
        or detection.kind != "in_plane"
        or detection.component_scores[1] >= cfg.threshold_sigma
        or detection.score >= cfg.unconfirmed_factor * cfg.threshold_sigma
    )


def _merge_gradual(found: list[Candidate], cfg: DetectionConfig) -> list[Candidate]:
    """Join jumps that are one burn absorbed over several fits.

    Two same-sign semi-major-axis jumps at most ``settle_sets`` sets apart, where one is less
    than ``gradual_ratio`` of the other, are treated as one step spread over several sets
    (the catalogue fit converging after the burn); comparable jumps on successive days stay
    separate (maneuver sequences).
    """
    merged: list[Candidate] = []
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


def _combine(first: Candidate, second: Candidate) -> Candidate:
    return Candidate(
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
    found: list[Candidate], detector: Detector, cfg: DetectionConfig
) -> list[Candidate]:
    """Join same-sign jumps of adjacent intervals whose burn-time estimates agree.

    The catalogue often absorbs one burn over two or three successive fits, each jump large
    enough to pass the threshold. When their along-track burn times fall within
    ``merge_hours`` they are one step; the joined step is then re-timed from the set before
    the first jump to the set after the last (the whole response).
    """
    merged: list[tuple[Candidate, datetime]] = []
    for item in found:
        built = build_detection(item, detector, cfg)
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
                merged[-1] = (joined, build_detection(joined, detector, cfg).epoch)
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
            element_jump(satrecs[p], epochs[p], satrecs[j], epochs[j]),
            element_jump(satrecs[j], epochs[j], satrecs[q], epochs[q]),
            element_jump(satrecs[p], epochs[p], satrecs[q], epochs[q]),
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
        local = interp_noise(noise, noise_days, leg_days)
        z = z_scores([leg for leg in legs if leg is not None], local)
        z_in, z_out, z_skip = (max_z(z, index) for index in range(3))
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
            z_in, z_out, z_skip = (component_z(z, name, index) for index in range(3))
            if min(z_in, z_out) >= limit and (z_in + z_out - z_skip) / 2.0 >= limit:
                flagged.add(j)
                break
    return [index for index in kept if index not in flagged], bool(flagged)


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


def _drop_settling(
    detections: list[ManeuverDetection], cfg: DetectionConfig
) -> list[ManeuverDetection]:
    """Drop semi-major-axis steps that partly undo a step of the previous days.

    When a burn is small against the tracking noise the catalogue often absorbs it first in
    BSTAR and the mean motion together, overshooting the new semi-major axis, and the later
    fits settle back: a second, opposite and smaller step within about the fit span, close to
    the noise. A real return burn (collision avoidance, orbit restore) is either as large as
    the first or far above the noise, so only an in-plane step that is smaller than the step
    it follows, of opposite sign, within ``settle_days`` and below ``settle_factor`` x the
    threshold is dropped.
    """
    kept: list[ManeuverDetection] = []
    limit = timedelta(days=cfg.settle_days)
    for item in detections:
        previous = kept[-1] if kept else None
        if (
            previous is not None
            and item.kind == "in_plane"
            and item.epoch - previous.epoch <= limit
            and item.delta_a_km * previous.delta_a_km < 0.0
            and abs(item.delta_a_km) < abs(previous.delta_a_km)
            and item.score < cfg.settle_factor * cfg.threshold_sigma
        ):
            continue
        kept.append(item)
    return kept
