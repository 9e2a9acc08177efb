"""The multi-set along-track test of the maneuver detector (issue 21, Haiyang-2A's misses).

Generated histories reuse the generator of ``tests/astro/test_maneuvers.py``; here a
sun-synchronous 970 km orbit like Haiyang-2A's with its semi-major-axis scatter (3.4 m between
consecutive sets in ../shared/data/maneuvers, so 2.4 m per set) and CryoSat-2's along-track
scatter. Reference values are the injected burn times and sizes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.astro.test_maneuvers import LEO, LEO_NOISE, T0, synthetic_history

from astroshield.astro.ccdm.maneuvers import DetectionConfig, detect_maneuvers

SSO_970 = replace(
    LEO,
    catalog_number="37781",
    mean_motion_rev_per_day=13.787,
    eccentricity=0.0012,
    inclination_deg=99.34,
    bstar_per_earth_radius=1.0e-5,
)
SSO_970_NOISE = {**LEO_NOISE, "a": 0.0024}


def test_burn_below_the_single_set_scatter_is_found_and_timed_by_the_along_track_break() -> None:
    # 6 mm/s raises a by ~12 m (Gauss: Δa = 2aΔv/v): ~3.5 sigma of the consecutive-set jump
    # scatter, far below the threshold, but the along-track drift after it grows by
    # 3/2·n·Δa ≈ 1.5 km a day, which a line through many sets sees against 0.3 km per set.
    when = T0 + timedelta(days=40.3)
    history = synthetic_history(SSO_970, 80, [(when, (0.0, 0.006, 0.0))], SSO_970_NOISE, seed=7)
    assert detect_maneuvers(history, config=DetectionConfig(hinge_sets=0)) == []
    detections = detect_maneuvers(history)
    assert len(detections) == 1, [d.to_json_record() for d in detections]
    found = detections[0]
    assert abs(found.epoch - when) <= timedelta(hours=12)
    assert found.window_start <= found.epoch <= found.window_end
    assert found.kind == "in_plane"
    assert found.delta_v_m_s == pytest.approx(0.006, rel=0.3)
    assert found.delta_a_km > 0.0


@pytest.mark.parametrize("seed", [8, 9])
def test_no_along_track_break_without_a_burn(seed: int) -> None:
    history = synthetic_history(SSO_970, 80, [], SSO_970_NOISE, seed=seed)
    assert detect_maneuvers(history) == []


def test_small_lowering_break_is_left_to_the_jump_test() -> None:
    # Drag lowers an orbit and thrust for orbit keeping raises it: a small lowering break seen
    # only by the along-track test is not reported by default (a large lowering burn still is,
    # by the consecutive-set test), but is when ``hinge_raise_only`` is off.
    when = T0 + timedelta(days=35.6)
    history = synthetic_history(SSO_970, 70, [(when, (0.0, -0.008, 0.0))], SSO_970_NOISE, seed=10)
    assert detect_maneuvers(history) == []
    detections = detect_maneuvers(history, config=DetectionConfig(hinge_raise_only=False))
    assert len(detections) == 1, [d.to_json_record() for d in detections]
    assert abs(detections[0].epoch - when) <= timedelta(hours=12)
    assert detections[0].delta_a_km < 0.0
    large = synthetic_history(SSO_970, 70, [(when, (0.0, -0.05, 0.0))], SSO_970_NOISE, seed=10)
    assert [abs(d.epoch - when) <= timedelta(hours=12) for d in detect_maneuvers(large)] == [True]


def test_regular_small_burns_are_found_with_the_noise_of_the_quiet_intervals() -> None:
    # 4 mm/s every 25 days: every window holding a burn scores it, so most intervals are
    # disturbed and a scale taken over all of them hides the burns. Taken from the intervals
    # away from the breaks (the default), the burns stand out.
    burns = [T0 + timedelta(days=20.3 + 25.37 * k) for k in range(8)]
    history = synthetic_history(
        SSO_970, 245, [(when, (0.0, 0.004, 0.0)) for when in burns], SSO_970_NOISE, seed=11
    )

    def found(config: DetectionConfig) -> tuple[int, int]:
        epochs = [d.epoch for d in detect_maneuvers(history, config=config)]
        hits = sum(any(abs(e - b) <= timedelta(hours=12) for e in epochs) for b in burns)
        return hits, len(epochs)

    hits, count = found(DetectionConfig())
    assert hits >= 7 and count <= len(burns), (hits, count)
    assert found(DetectionConfig(hinge_mask_sigma=0.0))[0] <= 2
