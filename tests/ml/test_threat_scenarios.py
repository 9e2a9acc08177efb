"""ThreatDetectorNN scenarios: deterministic by seed, labels true to their construction (checked
with SGP4 called directly, not through the CCDM code), features without NaN, the rule-baseline
mapping, and the classification metrics against hand or brute-force computations."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from astroshield.astro.ccdm.intent import (
    Indicator,
    IndicatorName,
    IntentAssessment,
    IntentCategory,
)
from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.ml.threat_detector import FEATURE_NAMES, baseline_class, threat_features
from astroshield.ml.threat_metrics import (
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    macro_f1,
    softmax,
)
from astroshield.ml.threat_scenarios import (
    PC_MIN,
    ThreatScenario,
    generate,
    generate_scenario,
    load_samples,
    sample_plan,
    write_samples,
)
from tests.ml.support import NOISE


def _first(label: str, regime: str = "LEO", seed: int = 11) -> ThreatScenario:
    for item_label, item_regime, child in sample_plan(seed, 40):
        if item_label == label and item_regime == regime:
            return generate_scenario(label, regime, NOISE[regime], child)
    raise AssertionError(f"no {label}/{regime} in the plan")


def _position(item: ElementSet, at: datetime) -> np.ndarray:
    error, r, _ = to_satrec(item).sgp4_tsince((at - item.epoch).total_seconds() / 60.0)
    assert error == 0
    return np.array(r)


def test_same_seed_same_samples_and_another_seed_differs() -> None:
    first = generate(3, 5, NOISE)
    again = generate(3, 5, NOISE)
    other = generate(4, 5, NOISE)
    assert [s.label for s in first] == [s.label for s in again]
    assert all(np.array_equal(a.features, b.features) for a, b in zip(first, again, strict=True))
    assert not all(
        np.array_equal(a.features, b.features) for a, b in zip(first, other, strict=True)
    )
    for sample in first:
        assert sample.features.shape == (len(FEATURE_NAMES),)
        assert np.isfinite(sample.features).all()


def test_classes_come_in_equal_shares() -> None:
    labels = [label for label, _, _ in sample_plan(0, 50)]
    assert {labels.count(name) for name in set(labels)} == {10}


def test_a_rendezvous_object_closes_on_the_protected_spacecraft() -> None:
    sample = _first("rendezvous_proximity")
    (burn,) = sample.events
    assert sample.window_start < burn.time < sample.now
    # Daily closest approach from the last published sets, SGP4 called directly: it falls.
    protected, neighbour = sample.protected[-1], sample.neighbour[-1]
    assert neighbour.epoch > burn.time
    minima = []
    for day in range(3):
        start = sample.now - timedelta(days=3 - day)
        ranges = [
            np.linalg.norm(
                _position(neighbour, start + timedelta(minutes=m))
                - _position(protected, start + timedelta(minutes=m))
            )
            for m in range(0, 1440, 2)
        ]
        minima.append(min(ranges))
    assert minima[0] > minima[1] > minima[2]
    assert minima[0] - minima[2] > 2 * 10.0  # at least 10 km/day (15 km/day constructed)
    assert sample.features[FEATURE_NAMES.index("closing_rate_slog")] > math.log1p(5.0)


def test_a_collision_risk_sample_has_the_measured_miss_and_pc_above_1e_5() -> None:
    sample = _first("collision_risk")
    conjunction = sample.conjunction
    assert conjunction is not None and conjunction.pc is not None
    assert conjunction.pc >= PC_MIN
    assert conjunction.tca > sample.now
    assert not sample.events
    # Brute force on the true orbits: 1 ms steps over ±1 s of the reported TCA.
    ranges = [
        np.linalg.norm(
            _position(sample.neighbour_truth, conjunction.tca + timedelta(milliseconds=ms))
            - _position(sample.protected_truth, conjunction.tca + timedelta(milliseconds=ms))
        )
        for ms in range(-1000, 1001)
    ]
    assert min(ranges) == pytest.approx(conjunction.miss_distance_km, abs=1e-3)
    assert conjunction.miss_distance_km < 5.0


def test_a_maneuver_anomaly_burns_inside_the_window_and_unknown_few_sets_has_few() -> None:
    sample = _first("maneuver_anomaly")
    assert 1 <= len(sample.events) <= 2
    assert all(sample.window_start < e.time < sample.now for e in sample.events)
    for label, regime, child in sample_plan(11, 60):
        if label == "unknown":
            item = generate_scenario(label, regime, NOISE[regime], child)
            if item.kind == "few_sets":
                assert len(item.neighbour) <= 5
                assert item.features[FEATURE_NAMES.index("jumps_missing")] == 1.0
                return
    pytest.fail("no few_sets sample in the plan")


def test_samples_round_trip_through_parquet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenarios = generate(5, 5, NOISE)
    card = write_samples(tmp_path, scenarios, seed=5, noise=NOISE)
    features, labels, baseline, regimes = load_samples(tmp_path)
    assert card["samples"] == 5 and sum(card["class_balance"].values()) == 5
    assert np.array_equal(features, np.stack([s.features for s in scenarios]))
    assert baseline == [s.baseline for s in scenarios]
    assert regimes == [s.regime for s in scenarios]
    assert len(labels) == 5


def test_without_inputs_every_indicator_is_flagged_missing() -> None:
    features = threat_features(now=datetime(2024, 1, 1, tzinfo=UTC))
    values = dict(zip(FEATURE_NAMES, features.tolist(), strict=True))
    for name in FEATURE_NAMES:
        if name.endswith("_missing"):
            assert values[name] == 1.0, name
    assert np.isfinite(features).all()


def _assessment(category: IntentCategory, contributing: set[IndicatorName]) -> IntentAssessment:
    evidence = tuple(
        Indicator(name, 1.0, 1.0, "", 0.2, name in contributing, "test") for name in IndicatorName
    )
    return IntentAssessment("1", category, 0.5, evidence, "")


@pytest.mark.parametrize(
    ("category", "contributing", "expected"),
    [
        (IntentCategory.POTENTIAL_THREAT, set(), "rendezvous_proximity"),
        (IntentCategory.RENDEZVOUS_INSPECTION, set(), "rendezvous_proximity"),
        (IntentCategory.COLLISION_AVOIDANCE, set(), "collision_risk"),
        (IntentCategory.NOMINAL_STATION_KEEPING, set(), "nominal"),
        (IntentCategory.UNKNOWN, set(), "unknown"),
        (IntentCategory.UNKNOWN, {IndicatorName.CONJUNCTION_RISK}, "collision_risk"),
        (IntentCategory.UNKNOWN, {IndicatorName.PATTERN_OF_LIFE}, "maneuver_anomaly"),
        (
            IntentCategory.UNKNOWN,
            {IndicatorName.PATTERN_OF_LIFE, IndicatorName.CONJUNCTION_RISK},
            "collision_risk",
        ),
    ],
)
def test_rule_baseline_mapping(
    category: IntentCategory, contributing: set[IndicatorName], expected: str
) -> None:
    assert baseline_class(_assessment(category, contributing)) == expected


def test_macro_f1_and_confusion_by_hand() -> None:
    truth = [0, 0, 1, 1, 2]
    predicted = [0, 1, 1, 1, 0]
    assert confusion_matrix(truth, predicted, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # F1: class 0 = 2/(2+1+1) = 0.5, class 1 = 4/(4+1) = 0.8, class 2 = 0.
    assert macro_f1(truth, predicted, 3) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_ece_by_hand() -> None:
    # Two samples at confidence 0.9 (one right) and one at 0.6 (right), 10 bins:
    # |0.5 - 0.9| * 2/3 + |1 - 0.6| * 1/3 = 0.4.
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]])
    truth = np.array([0, 1, 1])
    assert expected_calibration_error(probabilities, truth, bins=10) == pytest.approx(0.4)


def test_temperature_scaling_recovers_the_overconfidence_factor() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 5)) * 2.0
    # Labels drawn from softmax(logits): calibrated at T = 1. Scaled by 3: overconfident.
    cumulative = np.cumsum(softmax(logits), axis=1)
    truth = (rng.uniform(size=(4000, 1)) > cumulative).sum(axis=1)
    temperature = fit_temperature(3.0 * logits, truth)
    assert temperature == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(softmax(3.0 * logits), truth)
    after = expected_calibration_error(softmax(3.0 * logits, temperature), truth)
    assert after < before / 2
