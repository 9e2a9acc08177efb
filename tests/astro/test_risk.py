"""Risk tiers with CARA's thresholds and the Pc trend of an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from astroshield.astro.conjunction.risk import RiskThresholds, Tier, Trend, assess, pc_trend

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pc", "tier"),
    [
        (3e-4, Tier.RED),
        (1e-4, Tier.RED),
        (9.99e-5, Tier.YELLOW),
        (1e-5, Tier.YELLOW),
        (9.9e-6, Tier.GREEN),
        (0.0, Tier.GREEN),
    ],
)
def test_tiers_by_pc_at_cara_thresholds(pc: float, tier: Tier) -> None:
    result = assess(tca=NOW + timedelta(hours=30), now=NOW, miss_distance_km=0.2, pc=pc)
    assert result.tier is tier and result.basis == "pc"
    assert result.time_to_tca_s == pytest.approx(30 * 3600)


@pytest.mark.parametrize(
    ("miss_km", "tier"), [(0.5, Tier.RED), (1.0, Tier.RED), (4.9, Tier.YELLOW), (5.1, Tier.GREEN)]
)
def test_events_without_covariance_use_miss_distance(miss_km: float, tier: Tier) -> None:
    result = assess(tca=NOW, now=NOW, miss_distance_km=miss_km, pc=None)
    assert result.tier is tier and result.basis == "miss_distance"


def test_thresholds_are_configurable_and_checked() -> None:
    strict = RiskThresholds(red_pc=1e-5, yellow_pc=1e-6)
    assert assess(tca=NOW, now=NOW, miss_distance_km=1, pc=2e-5, thresholds=strict).tier is Tier.RED
    with pytest.raises(ValueError, match="yellow_pc <= red_pc"):
        RiskThresholds(red_pc=1e-6, yellow_pc=1e-5)
    with pytest.raises(ValueError, match="Pc must lie"):
        assess(tca=NOW, now=NOW, miss_distance_km=1, pc=1.5)


def test_pc_trend() -> None:
    rising = [(NOW + timedelta(hours=8 * k), 1e-7 * 10**k) for k in range(4)]  # 3 decades/day
    trend = pc_trend(rising)
    assert trend.trend is Trend.RISING
    assert trend.decades_per_day == pytest.approx(3.0)
    falling = [(t, 1.0 / pc * 1e-14) for t, pc in rising]
    assert pc_trend(falling).trend is Trend.FALLING
    steady = [(NOW + timedelta(days=k), 2e-5) for k in range(3)]
    assert pc_trend(steady).trend is Trend.STEADY
    assert pc_trend(steady[:1]).trend is Trend.UNKNOWN
