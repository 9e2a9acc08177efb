"""Maneuver detection beyond the two development satellites (issue 21).

Generated histories reuse the generator of ``tests/astro/test_maneuvers.py`` (SGP4 mean elements
of a switched generator, TLE-like noise, TLE rounding); here a drag-free high-LEO orbit like
Jason-2's (1,336 km, i = 66 deg, BSTAR 0) with the noise measured from Jason-2's own consecutive
sets in ../shared/data/maneuvers (2009-2011, robust sigma per set). Reference values are the
injected burn times and sizes. The real-data test runs the detector on every archive file of the
benchmark folder; the detection scores themselves are benchmark figures
(``benchmarks/maneuver_detection.py``), apart from the slow pooled-F1 floor at the end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from tests.astro.paths import SHARED
from tests.astro.test_maneuvers import LEO, T0, synthetic_history

from astroshield.astro.ccdm.maneuvers import DetectionConfig, ManeuverDetection, detect_maneuvers
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.tle import TLE, scan_tles
from astroshield.validation.maneuvers import (
    load_truth_csv,
    match_events,
    naive_detections,
    pool_results,
)

DATA = SHARED / "data" / "maneuvers"
ARCHIVE_FILES = sorted((DATA / "processed_files").glob("*.tle"))

HIGH_LEO = replace(
    LEO,
    catalog_number="33105",
    mean_motion_rev_per_day=12.8093,
    eccentricity=0.0008,
    inclination_deg=66.04,
    bstar_per_earth_radius=0.0,
)
# Per-set 1-sigma scatter of Jason-2's published sets (consecutive-jump sigma / sqrt 2).
HIGH_LEO_NOISE = {"a": 0.00023, "e": 3.7e-6, "i": 2.1e-4, "raan": 2.8e-4, "along": 0.1}


def _found(detections: list[datetime], truth: list[datetime]) -> tuple[int, int]:
    result = match_events(detections, truth, timedelta(hours=12))
    return result.true_positives, result.false_positives


def test_drag_free_high_leo_burns_of_each_kind_are_found() -> None:
    along = T0 + timedelta(days=25.3)
    plane = T0 + timedelta(days=55.7)
    burns = [(along, (0.0, 0.005, 0.0)), (plane, (0.0, 0.0, 1.5))]
    history = synthetic_history(HIGH_LEO, 90, burns, HIGH_LEO_NOISE, seed=41)
    detections = detect_maneuvers(history)
    assert len(detections) == 2, [d.to_json_record() for d in detections]
    first, second = detections
    # A 5 mm/s along-track burn raises a by ~11 m (Gauss): small, but 30 sigma on a drag-free
    # orbit, and the along-track drift after it times it.
    assert first.kind == "in_plane"
    assert first.timed
    assert abs(first.epoch - along) <= timedelta(hours=12)
    assert first.delta_v_m_s == pytest.approx(0.005, rel=0.25)
    # A plane change leaves no along-track drift: found inside the interval around it.
    assert second.kind == "out_of_plane"
    assert second.window_start <= plane <= second.window_end
    assert second.delta_v_out_of_plane_m_s == pytest.approx(1.5, rel=0.2)


def _two_along_track_burns(
    first_m_s: float, second_m_s: float, seed: int
) -> tuple[datetime, datetime, list[ElementSet]]:
    """A 70-day high-LEO history with along-track burns on day 30.2 and five days later."""
    first = T0 + timedelta(days=30.2)
    second = first + timedelta(days=5.0)
    burns = [(first, (0.0, first_m_s, 0.0)), (second, (0.0, second_m_s, 0.0))]
    return first, second, synthetic_history(HIGH_LEO, 70, burns, HIGH_LEO_NOISE, seed=seed)


def test_catalogue_settling_after_a_small_burn_is_not_a_second_burn() -> None:
    # The catalogue overshoots a small burn and settles back within days: seen as a smaller
    # opposite step close to the noise. One detection, at the burn.
    burn, settle, history = _two_along_track_burns(0.004, -0.002, seed=42)
    # The rule is available but off by default: the six-satellite selection did not choose it.
    on = detect_maneuvers(history, config=DetectionConfig(settle_days=8.0))
    detections = [d.epoch for d in on]
    assert _found(detections, [burn]) == (1, 0), detections
    # With the rule off the settling is reported as a burn of its own.
    off = detect_maneuvers(history, config=DetectionConfig(settle_days=0.0))
    assert len(off) == 2
    assert abs(off[1].epoch - settle) <= timedelta(days=1)
    assert off[1].delta_a_km * off[0].delta_a_km < 0.0


def test_large_lower_and_restore_pair_is_two_burns() -> None:
    # An orbit lowered and restored days later (collision avoidance): the return is smaller
    # and opposite, but far above the noise, so both are reported.
    lower, restore, history = _two_along_track_burns(-0.10, 0.09, seed=43)
    detections = [d.epoch for d in detect_maneuvers(history)]
    assert _found(detections, [lower, restore]) == (2, 0), detections


def test_naive_baseline_flags_a_large_step_at_the_interval_midpoint() -> None:
    when = T0 + timedelta(days=30.2)
    history = synthetic_history(HIGH_LEO, 60, [(when, (0.0, 0.05, 0.0))], HIGH_LEO_NOISE, seed=44)
    found = naive_detections(history, threshold=10.0)
    assert len(found) == 1
    # The interval holding the burn is at most ~1.7 days long (daily sets, ±0.35 d jitter).
    assert abs(found[0] - when) <= timedelta(days=0.85)


@cache
def _detected(path: Path) -> tuple[list[ElementSet], list[ManeuverDetection]]:
    """One history's sets and its detections with the library defaults (shared by tests)."""
    elements = _archive(path)
    return elements, detect_maneuvers(elements)


def _archive(path: Path) -> list[ElementSet]:
    # Unreadable sets are skipped (the tolerant reader's job); these files have none.
    with path.open(encoding="ascii") as handle:
        return [item.elements for _, item in scan_tles(handle) if isinstance(item, TLE)]


def test_archive_folder_holds_the_six_satellites() -> None:
    names = {path.stem for path in ARCHIVE_FILES}
    assert names == {
        "CryoSat-2",
        "Jason-2",
        "Sentinel-3A",
        "Haiyang-2A",
        "Fengyun-2F",
        "Fengyun-2E",
    }


@pytest.mark.slow
@pytest.mark.parametrize("path", ARCHIVE_FILES, ids=lambda p: p.stem)
def test_detector_runs_on_every_archive_file(path: Path) -> None:
    elements, detections = _detected(path)
    # Every history of the folder holds logged manoeuvres far above its noise.
    assert detections
    epochs = [d.epoch for d in detections]
    assert epochs == sorted(epochs)
    for detection in detections:
        assert detection.window_start <= detection.epoch <= detection.window_end
        assert 0 <= detection.before_index < detection.after_index < len(elements)
        assert 0.0 <= detection.confidence <= 1.0


@pytest.mark.slow
def test_pooled_f1_with_library_defaults() -> None:
    results = []
    for path in ARCHIVE_FILES:
        elements, detections = _detected(path)
        first = min(e.epoch for e in elements)
        last = max(e.epoch for e in elements)
        truth = [
            t for t in load_truth_csv(DATA / "manoeuvres_utc.csv", path.stem) if first <= t <= last
        ]
        epochs = [d.epoch for d in detections]
        results.append(match_events(epochs, truth, timedelta(hours=12)))
    pooled = pool_results(results)
    # Measured 0.803 with the all-six defaults (benchmarks/RESULTS.md, issue 21 section);
    # the goal of 0.80 is met with little margin; this floor guards against regressions.
    assert pooled.f1 >= 0.79, (pooled.precision, pooled.recall, pooled.f1)
