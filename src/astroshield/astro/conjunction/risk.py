"""Risk assessment of a conjunction: tier, time to TCA, and the trend of Pc over updates.

Default thresholds are NASA CARA's operational ones (CARA Conjunction Assessment Risk
Analysis concept of operations): red (mitigation planning) at Pc >= 1e-4, yellow
(heightened monitoring) at Pc >= 1e-5. Events without covariance are judged by miss
distance alone, which is all a screening against the public catalog can give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Tier(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


@dataclass(frozen=True)
class RiskThresholds:
    red_pc: float = 1e-4
    yellow_pc: float = 1e-5
    red_miss_km: float = 1.0
    yellow_miss_km: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.yellow_pc <= self.red_pc < 1:
            raise ValueError("thresholds must satisfy 0 < yellow_pc <= red_pc < 1")
        if not 0 < self.red_miss_km <= self.yellow_miss_km:
            raise ValueError("thresholds must satisfy 0 < red_miss_km <= yellow_miss_km")


@dataclass(frozen=True)
class RiskAssessment:
    tier: Tier
    basis: str  # "pc" or "miss_distance"
    reason: str
    time_to_tca_s: float


def assess(
    *,
    tca: datetime,
    now: datetime,
    miss_distance_km: float,
    pc: float | None,
    thresholds: RiskThresholds | None = None,
) -> RiskAssessment:
    limits = thresholds or RiskThresholds()
    time_to_tca = (tca - now).total_seconds()
    if pc is not None:
        if not 0.0 <= pc <= 1.0 or math.isnan(pc):
            raise ValueError(f"Pc must lie in [0, 1], got {pc}")
        if pc >= limits.red_pc:
            tier, reason = Tier.RED, f"Pc {pc:.2e} >= {limits.red_pc:.0e}"
        elif pc >= limits.yellow_pc:
            tier, reason = Tier.YELLOW, f"Pc {pc:.2e} >= {limits.yellow_pc:.0e}"
        else:
            tier, reason = Tier.GREEN, f"Pc {pc:.2e} < {limits.yellow_pc:.0e}"
        return RiskAssessment(tier, "pc", reason, time_to_tca)
    if miss_distance_km < 0 or math.isnan(miss_distance_km):
        raise ValueError("miss distance must be a non-negative number")
    if miss_distance_km <= limits.red_miss_km:
        tier = Tier.RED
    elif miss_distance_km <= limits.yellow_miss_km:
        tier = Tier.YELLOW
    else:
        tier = Tier.GREEN
    return RiskAssessment(
        tier, "miss_distance", f"miss {miss_distance_km:.3f} km, no covariance", time_to_tca
    )


class Trend(StrEnum):
    RISING = "rising"
    FALLING = "falling"
    STEADY = "steady"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PcTrend:
    trend: Trend
    decades_per_day: float | None  # slope of log10(Pc) against time, least squares


PC_FLOOR = 1e-30  # Pc values of 0 are plotted and fitted at this floor


def pc_trend(history: Sequence[tuple[datetime, float]], *, steady_band: float = 0.25) -> PcTrend:
    """How Pc moved over successive CDMs of one event: the least-squares slope of
    log10(Pc) per day; within ``steady_band`` decades per day it is steady."""
    if len(history) < 2:
        return PcTrend(Trend.UNKNOWN, None)
    ordered = sorted(history)
    t0 = ordered[0][0]
    days = [(t - t0).total_seconds() / 86_400.0 for t, _ in ordered]
    logs = [math.log10(max(pc, PC_FLOOR)) for _, pc in ordered]
    mean_t, mean_y = sum(days) / len(days), sum(logs) / len(logs)
    spread = sum((t - mean_t) ** 2 for t in days)
    if spread == 0:
        return PcTrend(Trend.UNKNOWN, None)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(days, logs, strict=True)) / spread
    if slope > steady_band:
        return PcTrend(Trend.RISING, slope)
    if slope < -steady_band:
        return PcTrend(Trend.FALLING, slope)
    return PcTrend(Trend.STEADY, slope)
