"""RPO analysis (astroshield.astro.ccdm.rpo) on constructed co-orbital approaches.

Scenarios are in tests/ccdm/scenarios.py: element sets re-epoched with SGP4's own secular rates
and a seeded catalog-like noise. Relative positions are checked against a brute-force
computation straight from ``sgp4.api.Satrec`` (hand-built RTN axes); closing rates against
the physics of a mean-motion offset (Δλ̇ = 360°·Δn per day at the GEO radius).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from tests.ccdm.scenarios import (
    CHASER_BURN_DAY,
    CHASER_DRIFT_DEG_PER_DAY,
    CHASER_EXTRA_DRIFT_DEG_PER_DAY,
    GEO_DAYS,
    START,
    advance,
    brute_force_relative,
    geo_chaser,
    geo_distant,
    geo_set,
    geo_station_keeper,
    geo_target,
    history,
    leo_set,
)

from astroshield.astro.ccdm.maneuvers import ManeuverDetection
from astroshield.astro.ccdm.rpo import (
    ApproachTrend,
    ProximityConfig,
    analyze_neighbour,
    analyze_proximity,
    element_set_at,
    find_neighbours,
    maneuver_effects,
    mean_longitude_deg,
    plane_angle_deg,
    relative_motion,
    sample_times,
)

MU_WGS72 = 398600.8  # km³/s², the SGP4 constant
GEO_RADIUS_KM = 42_164.0
STOP = START + timedelta(days=GEO_DAYS)


def _km_per_day(drift_deg_per_day: float) -> float:
    return math.radians(drift_deg_per_day) * GEO_RADIUS_KM


def _semi_major_axis_km(mean_motion_rev_per_day: float) -> float:
    n_rad_s = mean_motion_rev_per_day * 2 * math.pi / 86_400
    return float((MU_WGS72 / n_rad_s**2) ** (1 / 3))


def test_relative_motion_matches_brute_force_sgp4() -> None:
    target, chaser = geo_target(), geo_chaser()
    # Times between, on and after element-set epochs (which set is valid switches at epochs).
    times = [START + timedelta(hours=h) for h in (0, 5.5, 24, 24.001, 100, 151.3, 300)]
    motion = relative_motion(target, chaser, times)
    for index, moment in enumerate(times):
        rtn, distance = brute_force_relative(target, chaser, moment)
        np.testing.assert_allclose(motion.rtn_km[index], rtn, atol=1e-6)
        assert motion.range_km[index] == pytest.approx(distance, abs=1e-6)


def test_chaser_sits_behind_and_below_the_target() -> None:
    target, chaser = geo_target(), geo_chaser()
    day = sample_times(START, START + timedelta(days=1), 300.0)
    motion = relative_motion(target, chaser, day)
    # Higher mean motion = lower orbit: the geocentric radius is lower by Δa on average
    # (Kepler's third law), within the ~0.2 km that the 0.0002 eccentricities and noise add.
    # RTN is rectilinear, so the radius comes from the full offset, not the R component.
    expected_da = _semi_major_axis_km(chaser[0].mean_motion_rev_per_day) - _semi_major_axis_km(
        target[0].mean_motion_rev_per_day
    )
    radial, along, cross = motion.rtn_km.T
    radius_offset = np.sqrt((GEO_RADIUS_KM + radial) ** 2 + along**2 + cross**2) - GEO_RADIUS_KM
    assert float(np.mean(radius_offset)) == pytest.approx(expected_da, abs=0.3)
    # 1.2° west = behind along-track; closing 0.05°/day, so 1.175° at mid-day: -865 km.
    mid_day_deg = 1.2 - CHASER_DRIFT_DEG_PER_DAY / 2
    assert float(np.mean(along)) == pytest.approx(-_km_per_day(mid_day_deg), rel=0.01)


def test_geo_chaser_is_flagged_approaching_with_the_physical_closing_rate() -> None:
    report = analyze_neighbour(geo_target(), geo_chaser(), START, STOP)
    assert report.trend is ApproachTrend.APPROACHING
    assert report.closing_rate_km_per_day is not None
    assert report.slope_km_per_day == pytest.approx(-report.closing_rate_km_per_day)
    # Between the pre-burn (0.05°/day) and post-burn (0.08°/day) relative drift rates.
    slow = _km_per_day(CHASER_DRIFT_DEG_PER_DAY)
    fast = _km_per_day(CHASER_DRIFT_DEG_PER_DAY + CHASER_EXTRA_DRIFT_DEG_PER_DAY)
    assert slow * 0.95 < report.closing_rate_km_per_day < fast * 1.05
    assert len(report.daily) == GEO_DAYS
    ranges = [day.range_km for day in report.daily]
    assert ranges == sorted(ranges, reverse=True)
    assert report.closest_approach_km == pytest.approx(min(ranges))
    # Each daily minimum is a real sampled range, checked against the brute force.
    for day in report.daily[::4]:
        _, distance = brute_force_relative(geo_target(), geo_chaser(), day.time)
        assert day.range_km == pytest.approx(distance, abs=1e-6)


def test_maneuver_toward_the_target_is_flagged() -> None:
    target, chaser = geo_target(), geo_chaser()
    report = analyze_neighbour(target, chaser, START, STOP)
    # The detector (default) finds the burn between the sets of day 6 and day 7.
    assert len(report.maneuvers) == 1
    effect = report.maneuvers[0]
    assert effect.pre_maneuver_epoch == START + timedelta(days=6)
    assert effect.post_maneuver_epoch == START + timedelta(days=7)
    assert effect.toward and not effect.away and report.maneuvered_toward
    # Brute-force predictions over the 3-day horizon from each set, sampled every 5 min.
    horizon = sample_times(
        effect.post_maneuver_epoch, effect.post_maneuver_epoch + timedelta(days=3), 300.0
    )
    before = min(brute_force_relative(target, [chaser[6]], t)[1] for t in horizon)
    after = min(brute_force_relative(target, [chaser[7]], t)[1] for t in horizon)
    assert effect.predicted_min_range_before_km == pytest.approx(before, abs=1e-6)
    assert effect.predicted_min_range_after_km == pytest.approx(after, abs=1e-6)
    # The extra 0.03°/day from the burn (day 6.3) to the end of the horizon (day 10) brings
    # it 0.111° (~82 km) closer.
    gained_deg = CHASER_EXTRA_DRIFT_DEG_PER_DAY * (10.0 - CHASER_BURN_DAY)
    assert before - after == pytest.approx(_km_per_day(gained_deg), rel=0.15)


def test_maneuver_away_is_not_toward() -> None:
    target = geo_target()
    # Same chaser, but the burn reverses its drift (away from the target).
    runaway = history(
        geo_set("90007", 98.8, drift_deg_per_day=0.05, inclination_deg=0.06, raan_deg=82.0),
        GEO_DAYS,
        maneuvers=[(CHASER_BURN_DAY, -0.1 / 360.0)],
    )
    detection = ManeuverDetection(
        epoch=START + timedelta(days=CHASER_BURN_DAY),
        window_start=START + timedelta(days=6),
        window_end=START + timedelta(days=7),
        delta_v_m_s=0.4,
        kind="in_plane",
        confidence=1.0,
        score=100.0,
        before_index=6,
        after_index=7,
        delta_a_km=7.0,
        delta_e=0.0,
        delta_inclination_deg=0.0,
        normal_rotation_deg=0.0,
        delta_v_in_plane_m_s=0.4,
        delta_v_out_of_plane_m_s=0.0,
        timed=True,
    )
    (effect,) = maneuver_effects(target, runaway, [detection])
    assert effect.away and not effect.toward


def test_station_keeping_neighbour_is_neither_approaching_nor_departing() -> None:
    report = analyze_neighbour(geo_target(), geo_station_keeper(), START, STOP)
    assert report.trend is ApproachTrend.STATION_KEEPING_NEARBY
    assert report.closing_rate_km_per_day is not None
    assert abs(report.closing_rate_km_per_day) < ProximityConfig().trend_threshold_km_per_day
    # 0.8° east: ~590 km, within the ±0.035° the ±0.01°/day drift adds.
    assert report.closest_approach_km == pytest.approx(_km_per_day(0.8), abs=_km_per_day(0.05))


def test_departing_object() -> None:
    leaver = history(geo_set("90008", 100.3, drift_deg_per_day=0.05), GEO_DAYS)
    report = analyze_neighbour(geo_target(), leaver, START, STOP)
    assert report.trend is ApproachTrend.DEPARTING
    assert report.closing_rate_km_per_day is not None and report.closing_rate_km_per_day < 0


def test_insufficient_data_for_a_trend() -> None:
    report = analyze_neighbour(geo_target(), geo_chaser(), START, START + timedelta(days=2))
    assert report.trend is ApproachTrend.INSUFFICIENT_DATA
    assert report.closing_rate_km_per_day is None
    assert report.closest_approach_km is not None


def test_neighbourhood_filter_keeps_co_located_objects_only() -> None:
    target = geo_target()[-1]
    other_plane = geo_set("90009", 100.3, inclination_deg=8.0, epoch=target.epoch)
    leo = leo_set("90010", epoch=target.epoch)
    candidates = [
        geo_chaser()[-1],
        geo_station_keeper()[-1],
        geo_distant()[-1],
        other_plane,
        leo,
        target,  # itself
    ]
    found = {n.catalog_number: n for n in find_neighbours(target, candidates)}
    assert set(found) == {"90002", "90003"}
    assert found["90003"].longitude_separation_deg == pytest.approx(0.8, abs=0.1)
    assert plane_angle_deg(target, other_plane) == pytest.approx(7.95, abs=0.01)


def test_neighbourhood_compares_sets_of_different_epochs_at_one_time() -> None:
    # A LEO plane one day later: J2 has moved its node by ~5°, the plane is the same.
    target = leo_set("91003")
    later = advance(leo_set("91004", mean_anomaly_deg=10.0), START + timedelta(days=1))
    assert abs(later.ra_of_asc_node_deg - target.ra_of_asc_node_deg) > 4.0
    assert plane_angle_deg(target, later) < 1e-5  # acos near 1: ~1e-6° of rounding
    assert [n.catalog_number for n in find_neighbours(target, [later])] == ["91004"]
    # A GEO object drifting 0.5°/day, last seen 5 days before: now 2.5° further east.
    drifting = geo_set("90017", 99.0, drift_deg_per_day=0.5, epoch=START - timedelta(days=5))
    reference = geo_set("90018", 101.5)
    (neighbour,) = find_neighbours(reference, [drifting])
    assert neighbour.longitude_separation_deg == pytest.approx(0.0, abs=0.02)
    assert mean_longitude_deg(drifting, START) == pytest.approx(101.5, abs=0.02)


def test_analyze_proximity_reports_neighbours_closest_first() -> None:
    reports = analyze_proximity(
        geo_target(), [geo_station_keeper(), geo_distant(), geo_chaser()], START, STOP
    )
    assert [r.catalog_number for r in reports] == ["90002", "90003"]


def test_leo_co_orbital_approach() -> None:
    # Same plane, the chaser 2° behind with a mean motion higher by 0.0008 rev/day:
    # it gains 0.288°/day of argument of latitude, ~34.5 km/day at a = 6,790 km.
    target = history(leo_set("91001"), 5)
    chaser_start = leo_set("91002", mean_motion_rev_per_day=15.2008, mean_anomaly_deg=-2.0 % 360)
    chaser = history(chaser_start, 5)
    stop = START + timedelta(days=5)
    neighbours = find_neighbours(target[-1], [chaser[-1]])
    assert [n.catalog_number for n in neighbours] == ["91002"]
    assert neighbours[0].longitude_separation_deg is None
    report = analyze_neighbour(target, chaser, START, stop, detections=[])
    a_km = _semi_major_axis_km(15.2)
    expected = math.radians(0.0008 * 360) * a_km
    assert report.trend is ApproachTrend.APPROACHING
    assert report.closing_rate_km_per_day == pytest.approx(expected, rel=0.05)
    _, distance = brute_force_relative(target, chaser, report.daily[-1].time)
    assert report.daily[-1].range_km == pytest.approx(distance, abs=1e-6)


def test_element_set_at_picks_the_valid_set() -> None:
    sets = geo_target()
    assert element_set_at(sets, START - timedelta(days=1)) is sets[0]
    assert element_set_at(sets, START + timedelta(days=2, hours=3)) is sets[2]
    assert element_set_at(sets, START + timedelta(days=3)) is sets[3]
    with pytest.raises(ValueError, match="empty"):
        element_set_at([], START)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_plane_angle_deg", 0.0), ("trend_threshold_km_per_day", -1.0), ("step_s", 0.0)],
)
def test_config_rejects_bad_values(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        replace(ProximityConfig(), **{field: value})
