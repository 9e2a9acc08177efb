"""The detector's settings and its output records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ManeuverKind = Literal["in_plane", "out_of_plane", "both"]

# Fewer sets than this give no noise model to judge a jump against: nothing is detected.
MIN_HISTORY_SETS = 8


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Global settings of the detector; the defaults are used for every object and regime.

    ``threshold_sigma``, ``window``, ``hinge_sets`` and ``hinge_mask_sigma`` are the values
    that the six-satellite selection of ``benchmarks/maneuver_detection.py`` chooses (best
    pooled F1 at ±12 h over CryoSat-2, Jason-2, Sentinel-3A, Haiyang-2A, Fengyun-2F and
    Fengyun-2E; the same grid is scored leave-one-satellite-out there, see
    benchmarks/RESULTS.md, issue 21). The defaults of
    ``tail_quantile``, ``slow_span``, ``timing_extension``, ``secondary_factor``,
    ``persistence_depth``, ``gradual_ratio``, ``settle_sets``, ``two_sided_timing``,
    ``merge_untimed`` and ``unconfirmed_factor`` come from an earlier grid search on the first
    half of the CryoSat-2 history (issue 9). The other values are physical or numerical choices
    (``phase_dv_ratio`` = 2 admits a radial part that turns the eccentricity jump by up to 60
    degrees; ``settle_factor`` = 3 is the ``secondary_factor`` margin; ``hinge_exclusion_hours``
    = 36 is the largest lateness of the pair-wise along-track timing seen for absorbed burns,
    the benchmark's wide window; ``hinge_raise_only`` = True because drag lowers an orbit and
    orbit-keeping thrust raises it). ``settle_days`` was searched in the earlier six-satellite
    grid and never chosen (off). Nothing is set per satellite or regime; each object's noise
    model comes from its own history.
    """

    # Detection threshold, in robust sigmas of the object's own jump scatter.
    threshold_sigma: float = 8.0
    # Intervals in the centred sliding window of the robust noise model (~4 months of daily sets).
    window: int = 121
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
    # A smaller opposite in-plane step within ``settle_days`` of a step and below
    # ``settle_factor`` x the threshold is the catalogue settling after an overshoot (0 = off).
    settle_days: float = 0.0
    settle_factor: float = 3.0
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
    # Multi-set along-track test (:mod:`.hinge`): sets on each side of an interval through
    # which the two along-track lines are fitted (0 = off); a slope break is scored in the
    # same robust sigmas as the jumps, against ``threshold_sigma``, with its noise taken from
    # the intervals away from breaks standing ``hinge_mask_sigma`` out of a first pass (0 =
    # all intervals); one within ``hinge_exclusion_hours`` of a step already found is that
    # step. With ``hinge_raise_only`` a break found by this test alone must raise the orbit:
    # drag and the catalogue's drag re-fits lower it, thrust for orbit keeping raises it.
    hinge_sets: int = 10
    hinge_exclusion_hours: float = 36.0
    hinge_mask_sigma: float = 2.0
    hinge_raise_only: bool = True


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
