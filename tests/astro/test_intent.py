"""Explainable intent assessment (astroshield.astro.ccdm.intent) on the constructed scenarios."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.ccdm.scenarios import (
    GEO_DAYS,
    START,
    geo_chaser,
    geo_distant,
    geo_set,
    geo_station_keeper,
    geo_target,
    history,
)

from astroshield.astro.ccdm.intent import (
    ConjunctionInput,
    IndicatorName,
    IntentAssessment,
    IntentCategory,
    IntentConfig,
    assess_intent,
)
from astroshield.astro.ccdm.pattern_of_life import PatternOfLife, learn_pattern_of_life
from astroshield.astro.ccdm.rpo import ManeuverEffect, ProximityReport, analyze_neighbour
from astroshield.astro.dynamics.elements import ElementSet

STOP = START + timedelta(days=GEO_DAYS)


def _assess(
    neighbour: list[ElementSet], **kwargs: Any
) -> tuple[ProximityReport, PatternOfLife, IntentAssessment]:
    report = analyze_neighbour(geo_target(), neighbour, START, STOP)
    pattern = learn_pattern_of_life(neighbour)
    return report, pattern, assess_intent(now=STOP, proximity=report, pattern=pattern, **kwargs)


def test_chaser_is_rendezvous_or_threat_with_measured_evidence() -> None:
    report, _, assessment = _assess(geo_chaser(), data_source="test")
    assert assessment.category in {
        IntentCategory.RENDEZVOUS_INSPECTION,
        IntentCategory.POTENTIAL_THREAT,
    }
    assert [item.name for item in assessment.evidence] == list(IndicatorName)
    approach = assessment.indicator(IndicatorName.APPROACH_TREND)
    assert approach.value == report.closing_rate_km_per_day
    assert approach.contributes and approach.unit == "km/day"
    assert approach.threshold == IntentConfig().closing_rate_km_per_day
    closest = assessment.indicator(IndicatorName.CLOSEST_APPROACH)
    assert closest.value == report.closest_approach_km
    toward = assessment.indicator(IndicatorName.MANEUVERED_TOWARD)
    assert toward.value == 1.0 and toward.contributes
    assert "predicted closest approach" in toward.source
    # Evidence names the element sets it came from.
    assert "2024-11-01T00:00:00+00:00" in approach.source and "from test" in approach.source
    conjunction = assessment.indicator(IndicatorName.CONJUNCTION_RISK)
    assert conjunction.value is None and not conjunction.contributes
    measured = [i for i in assessment.evidence if i.value is not None]
    expected = sum(i.weight for i in measured if i.contributes) / sum(i.weight for i in measured)
    assert assessment.score == pytest.approx(expected)
    assert 0.0 <= assessment.score <= 1.0


def test_chaser_with_all_behavioural_flags_is_a_potential_threat() -> None:
    _, _, assessment = _assess(geo_chaser())
    # Approaching, maneuvered toward, and its drift change is out of its own family.
    assert assessment.category is IntentCategory.POTENTIAL_THREAT
    assert assessment.indicator(IndicatorName.PATTERN_OF_LIFE).contributes


def test_distant_object_is_nominal() -> None:
    _, _, assessment = _assess(geo_distant())
    assert assessment.category is IntentCategory.NOMINAL_STATION_KEEPING
    assert assessment.score == 0.0
    assert not any(item.contributes for item in assessment.evidence)


def test_station_keeping_neighbour_with_regular_maneuvers_is_nominal() -> None:
    days = 70
    target = history(geo_set("90001", 100.0), days, noise_seed=1, anomaly_noise_deg=0.0005)
    keeper = geo_station_keeper(days=days)
    start, stop = START + timedelta(days=days - 14), START + timedelta(days=days)
    report = analyze_neighbour(target, keeper, start, stop)
    pattern = learn_pattern_of_life(keeper)
    assert pattern.cadence.count >= 8  # the regular burns are seen...
    assessment = assess_intent(now=stop, proximity=report, pattern=pattern)
    assert assessment.category is IntentCategory.NOMINAL_STATION_KEEPING  # ...and in family


def test_collision_avoidance_after_a_conjunction() -> None:
    report = analyze_neighbour(geo_target(), geo_distant(), START, STOP)
    away = ManeuverEffect(
        maneuver_epoch=STOP,
        delta_v_m_s=0.2,
        pre_maneuver_epoch=STOP,
        post_maneuver_epoch=STOP,
        predicted_min_range_before_km=0.4,
        predicted_min_range_after_km=8.0,
        toward=False,
        away=True,
    )
    moved = replace(report, maneuvers=(away,))
    conjunction = ConjunctionInput(miss_distance_km=0.4, tca=STOP + timedelta(days=1))
    assessment = assess_intent(now=STOP, proximity=moved, conjunction=conjunction)
    assert assessment.category is IntentCategory.COLLISION_AVOIDANCE
    risk = assessment.indicator(IndicatorName.CONJUNCTION_RISK)
    assert risk.value == 0.4 and risk.unit == "km" and risk.contributes
    with_pc = assess_intent(
        now=STOP,
        proximity=moved,
        conjunction=ConjunctionInput(0.4, STOP + timedelta(days=1), pc=2e-4),
    )
    assert with_pc.indicator(IndicatorName.CONJUNCTION_RISK).unit == "probability"


def test_no_data_is_unknown() -> None:
    assessment = assess_intent(now=STOP)
    assert assessment.category is IntentCategory.UNKNOWN
    assert assessment.score == 0.0
    assert all(item.value is None for item in assessment.evidence)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="weights"):
        IntentConfig(weight_approach_trend=-1.0)
    with pytest.raises(ValueError, match="threat_score"):
        IntentConfig(threat_score=0.0)
