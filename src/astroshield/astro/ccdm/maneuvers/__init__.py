"""Maneuver detection from the element-set (TLE/OMM) history of one object.

Method (a residual/step detector in the family of Kelecy et al. 2007, "Satellite Maneuver
Detection Using Two-line Element (TLE) Data", AMOS, and Lemmens & Krag 2014, "Two-Line-Elements-
Based Maneuver Detection Methods for Satellites in Low Earth Orbit", JGCD 37(3)):

1. Every element set is initialised in SGP4
   (:func:`astroshield.astro.dynamics.elements.to_satrec`) and the previous set is propagated
   to the epoch of the next one. The *jumps* are the next set's SGP4 mean elements minus the
   propagated mean elements of the previous one (``Satrec.nm``, ``em``, ``im``, ``Om``, ``om``
   after the call): semi-major axis from the (un-Kozai'd, Brouwer)
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
   A small burn is often first over-absorbed by the catalogue (BSTAR and mean motion fitted
   together) and the following fits settle back within days: a smaller, opposite, weak
   semi-major-axis step within ``settle_days`` of a step is that settling, not a second burn
   (seen on Haiyang-2A, where it doubled the false alarms).
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

7. Burns far below the single-set scatter of the mean motion are found by a multi-set
   along-track test (:mod:`.hinge`): the along-track position (mean longitude times a) of the
   ``hinge_sets`` sets on each side of an interval is fitted by two straight lines meeting at
   a trial burn time, and the slope change (-3/2·n·Δa) is scored by its t-statistic, normalised
   robustly over a sliding window like the jumps, from the intervals away from clear breaks
   (every window holding a burn scores it, so with regular burns most intervals are
   disturbed). A break above ``threshold_sigma`` that is the strongest within ``hinge_sets``
   intervals and more than ``hinge_exclusion_hours`` from a step already found is reported,
   timed where the two lines meet, if it raises the orbit (drag lowers it; orbit keeping
   raises it).

Modules: :mod:`.model` (settings and output records), :mod:`.jumps` (mean elements, jumps,
element history), :mod:`.noise` (robust noise model), :mod:`.candidates` (scored, persistent
steps), :mod:`.timing` (size, kind and burn time), :mod:`.hinge` (the along-track slope
breaks), :mod:`.detection` (the passes). Scoring
against ground truth lives in :mod:`astroshield.validation.maneuvers`, plots in
:mod:`astroshield.astro.plots.maneuvers`. Everything here is pure numpy/sgp4 (no web or
database imports), usable from a notebook.
"""

from astroshield.astro.ccdm.maneuvers.detection import detect_maneuvers
from astroshield.astro.ccdm.maneuvers.jumps import ElementHistory, element_history
from astroshield.astro.ccdm.maneuvers.model import (
    MIN_HISTORY_SETS,
    DetectionConfig,
    ManeuverDetection,
    ManeuverKind,
    to_json_records,
)

__all__ = [
    "MIN_HISTORY_SETS",
    "DetectionConfig",
    "ElementHistory",
    "ManeuverDetection",
    "ManeuverKind",
    "detect_maneuvers",
    "element_history",
    "to_json_records",
]
