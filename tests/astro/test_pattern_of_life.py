"""Pattern of life (astroshield.astro.ccdm.pattern_of_life).

Real data: Fengyun-2F (NORAD 38049), a GEO weather satellite whose published slot is 112°E
(CMA/NSMC; WMO OSCAR), with its operator maneuver log (../shared/data/maneuvers,
manoeuvres_utc.csv: east-west station keeping roughly every 1-2 months and one north-south
maneuver on 2018-11-26 16:00 .. 2018-11-30 16:00 UTC). Constructed histories (see
tests/ccdm/scenarios.py) check each event kind against the burns that built them.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import median

import numpy as np
import pytest
from tests.astro.paths import SHARED
from tests.ccdm.scenarios import START, geo_set, geo_station_keeper, history

from astroshield.astro.ccdm.maneuvers import element_history
from astroshield.astro.ccdm.pattern_of_life import (
    EventKind,
    PatternConfig,
    PatternOfLife,
    learn_pattern_of_life,
    max_event_score,
)
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.tle import iter_tles

DATA = SHARED / "data" / "maneuvers"
FENGYUN_SLOT_DEG_EAST = 112.0


def _fengyun_log() -> list[dict[str, str]]:
    with (DATA / "manoeuvres_utc.csv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["norad_cat_id"] == "38049"]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def fengyun() -> PatternOfLife:
    text = (DATA / "processed_files" / "Fengyun-2F.tle").read_text(encoding="utf-8")
    return learn_pattern_of_life([tle.elements for tle in iter_tles(text)])


@pytest.mark.slow
def test_fengyun_station_keeping_box_is_its_published_slot(fengyun: PatternOfLife) -> None:
    assert fengyun.is_geo
    box = fengyun.longitude_box_deg
    assert box is not None
    assert box.low < FENGYUN_SLOT_DEG_EAST < box.high
    assert box.median == pytest.approx(FENGYUN_SLOT_DEG_EAST, abs=0.1)
    # A station-keeping box, not a drift: under a degree wide.
    assert 0.2 < box.high - box.low < 1.0
    drift = fengyun.drift_rate_deg_per_day
    assert drift is not None and abs(drift.median) < 0.05
    assert not [e for e in fengyun.events if e.kind is EventKind.DRIFT_START]


@pytest.mark.slow
def test_fengyun_maneuver_cadence_matches_the_operator_log(fengyun: PatternOfLife) -> None:
    starts = sorted({_utc(row["start_utc"]) for row in _fengyun_log()})
    logged = median((b - a).total_seconds() / 86_400 for a, b in pairwise(starts))
    cadence = fengyun.cadence
    assert cadence.median_interval_days is not None
    assert cadence.median_interval_days == pytest.approx(logged, rel=0.25)
    assert cadence.count >= 0.8 * len(starts)


@pytest.mark.slow
def test_fengyun_inclination_change_only_at_the_north_south_maneuver(
    fengyun: PatternOfLife,
) -> None:
    (north_south,) = [r for r in _fengyun_log() if "NS" in r["manoeuvre_type"]]
    start, end = _utc(north_south["start_utc"]), _utc(north_south["end_utc"])
    changes = [e for e in fengyun.events if e.kind is EventKind.INCLINATION_CHANGE]
    assert changes
    # An event is dated by the first set after the change; sets are ~daily.
    for event in changes:
        assert start <= event.epoch <= end + timedelta(days=3), event.explanation
    assert sum(e.value for e in changes) < -1.0  # the log's maneuver lowered i by ~2°


def test_regular_station_keeping_has_no_out_of_family_events() -> None:
    sets = geo_station_keeper(days=70, catalog_number="90011")
    pattern = learn_pattern_of_life(sets)
    assert pattern.events == ()
    # Burns every 7 days (day 3.5, 10.5, ...): the detector's times fall within a day.
    assert pattern.cadence.median_interval_days == pytest.approx(7.0, abs=1.0)
    box = pattern.longitude_box_deg
    assert box is not None
    # The ±0.01°/day drift reversed weekly keeps it within ±0.035° of 100.8°E.
    assert 100.8 - 0.05 < box.low < box.high < 100.8 + 0.05
    assert pattern.semi_major_axis_km.low <= pattern.semi_major_axis_km.high


def test_drift_start_and_stop_of_a_relocation() -> None:
    # Station keeping at 60°E, then a 0.5°/day relocation drift from day 30 to day 40.
    burns = [(30.0, 0.5 / 360.0), (40.0, -0.5 / 360.0)]
    sets = history(
        geo_set("90012", 60.0),
        70,
        maneuvers=burns,
        noise_seed=12,
        anomaly_noise_deg=0.0005,
        mean_motion_noise=2e-8,
    )
    events = learn_pattern_of_life(sets).events
    starts = [e for e in events if e.kind is EventKind.DRIFT_START]
    stops = [e for e in events if e.kind is EventKind.DRIFT_STOP]
    assert [e.epoch for e in starts] == [START + timedelta(days=30)]
    assert [e.epoch for e in stops] == [START + timedelta(days=40)]
    # The drift rate agrees with the longitude actually gained from set to set during the
    # drift (geo_longitude_deg: M + ω + Ω - GMST of each set, another computation).
    longitudes = element_history(sets).geo_longitude_deg
    gained_per_day = float(np.mean(np.diff(longitudes[31:40])))
    assert starts[0].value == pytest.approx(gained_per_day, abs=0.005)
    assert starts[0].value == pytest.approx(0.5, abs=0.02)
    assert starts[0].score >= PatternConfig().z_threshold
    assert "drift rate" in starts[0].explanation


def _keeper_with(burns: list[tuple[float, float]], catalog_number: str) -> list[ElementSet]:
    return history(
        geo_set(catalog_number, 100.8, drift_deg_per_day=0.01),
        70,
        maneuvers=burns,
        noise_seed=int(catalog_number),
        anomaly_noise_deg=0.0005,
        mean_motion_noise=2e-8,
    )


def _regular_burn(k: int) -> tuple[float, float]:
    return (3.5 + 7.0 * k, (-0.02 if k % 2 == 0 else 0.02) / 360.0)


def test_unusual_maneuver_interval() -> None:
    # The weekly burns of days 38.5 .. 59.5 are skipped (they would cancel): a 35-day gap.
    burns = [_regular_burn(k) for k in range(10) if k not in (5, 6, 7, 8)]
    pattern = learn_pattern_of_life(_keeper_with(burns, "90013"))
    (event,) = [e for e in pattern.events if e.kind is EventKind.MANEUVER_INTERVAL]
    assert abs((event.epoch - (START + timedelta(days=66.5))).total_seconds()) < 86_400
    assert event.value == pytest.approx(35.0, abs=1.5)
    assert event.expected == pytest.approx(7.0, abs=1.0)
    assert event.score >= PatternConfig().z_threshold
    assert "days after the previous one" in event.explanation


def test_unusual_maneuver_size() -> None:
    # An extra burn 1.5 days after the day-31.5 one, five times the weekly size, undone later.
    burns = [_regular_burn(k) for k in range(10)] + [(33.0, 0.1 / 360.0), (38.5, -0.1 / 360.0)]
    pattern = learn_pattern_of_life(_keeper_with(burns, "90016"))
    sizes = [e for e in pattern.events if e.kind is EventKind.MANEUVER_SIZE]
    assert sizes
    assert all(31.0 <= (e.epoch - START).total_seconds() / 86_400 <= 39.0 for e in sizes)
    worst = max_event_score(pattern.events)
    assert worst is not None and abs(worst.score) >= PatternConfig().z_threshold


def test_inclination_step_is_an_event() -> None:
    sets = history(geo_set("90014", 75.0), 40, noise_seed=14, anomaly_noise_deg=0.0005)
    tilted = [
        replace(item, inclination_deg=item.inclination_deg + 0.3)
        if item.epoch >= START + timedelta(days=20)
        else item
        for item in sets
    ]
    events = [
        e for e in learn_pattern_of_life(tilted).events if e.kind is EventKind.INCLINATION_CHANGE
    ]
    assert [e.epoch for e in events] == [START + timedelta(days=20)]
    assert events[0].value == pytest.approx(0.3, abs=1e-6)


def test_max_event_score_respects_since() -> None:
    burns = [(30.0, 0.5 / 360.0), (40.0, -0.5 / 360.0)]
    events = learn_pattern_of_life(history(geo_set("90015", 60.0), 70, maneuvers=burns)).events
    assert max_event_score(events, START + timedelta(days=50)) is None
    assert max_event_score(events, START) is not None


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="box_quantiles"):
        PatternConfig(box_quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="empty"):
        learn_pattern_of_life([])
