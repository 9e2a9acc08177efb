"""YAMCS-style limit sets: per-severity acceptable ranges and consecutive violations.

A limit set gives, for some of the levels watch < warning < distress < critical < severe,
the inclusive range ``[low, high]`` a value must stay in (either bound may be open). A value
is in the state of the most severe level whose range it is outside of, or ``None`` when it
is inside every range (as YAMCS ``AlarmRanges`` / XTCE ``StaticAlarmRanges``).

An alarm is raised only after ``min_violations`` consecutive out-of-limits values (YAMCS
``minViolations``), so that a single glitch does not page anyone; the first in-limits
value resets the count.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Level(StrEnum):
    WATCH = "watch"
    WARNING = "warning"
    DISTRESS = "distress"
    CRITICAL = "critical"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        """1 (watch) to 5 (severe); 0 is reserved for "in limits"."""
        return _RANK[self]


_RANK = {level: rank for rank, level in enumerate(Level, start=1)}
LEVELS_BY_RANK = {rank: level for level, rank in _RANK.items()}


@dataclass(frozen=True)
class LimitRange:
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        for bound in (self.low, self.high):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("limit bounds must be finite numbers")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")

    def contains(self, value: float) -> bool:
        if math.isnan(value):
            return False  # an unreadable value is never "in limits"
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class LimitSet:
    ranges: Mapping[Level, LimitRange]
    min_violations: int = 1

    def __post_init__(self) -> None:
        if self.min_violations < 1:
            raise ValueError("min_violations must be at least 1")
        if not self.ranges:
            raise ValueError("a limit set needs at least one range")
        ordered = sorted(self.ranges.items(), key=lambda item: item[0].rank)
        for (milder, inner), (worse, outer) in itertools.pairwise(ordered):
            # A more severe range must enclose the milder ones, else a value could be
            # "critical" while still inside the warning range.
            if _looser(outer.low, inner.low, below=True) or _looser(
                outer.high, inner.high, below=False
            ):
                raise ValueError(f"the {worse} range must contain the {milder} range")

    @classmethod
    def from_mapping(
        cls, ranges: Mapping[str, tuple[float | None, float | None]], min_violations: int = 1
    ) -> LimitSet:
        return cls(
            {Level(name): LimitRange(low, high) for name, (low, high) in ranges.items()},
            min_violations,
        )


def _looser(outer: float | None, inner: float | None, *, below: bool) -> bool:
    """Whether the more severe bound ``outer`` cuts inside the milder bound ``inner``."""
    if outer is None:
        return False
    if inner is None:
        return True
    return outer > inner if below else outer < inner


def limit_state(limit_set: LimitSet, value: float) -> Level | None:
    """The most severe level whose range ``value`` is outside of, or None."""
    worst: Level | None = None
    for level, limit_range in limit_set.ranges.items():
        if not limit_range.contains(value) and (worst is None or level.rank > worst.rank):
            worst = level
    return worst


@dataclass(frozen=True)
class ViolationState:
    """Consecutive out-of-limits values so far and the level last alarmed."""

    consecutive: int = 0
    level: Level | None = None


@dataclass
class ViolationCounter:
    """Feeds values one by one; :attr:`alarm_level` is the level once ``min_violations``
    consecutive values were out of limits (the current value's level), else None."""

    limit_set: LimitSet
    state: ViolationState = field(default_factory=ViolationState)

    def feed(self, value: float) -> tuple[Level | None, Level | None]:
        """Returns (this value's level, the alarm level after it)."""
        level = limit_state(self.limit_set, value)
        consecutive = self.state.consecutive + 1 if level is not None else 0
        alarm = level if consecutive >= self.limit_set.min_violations else None
        self.state = ViolationState(consecutive, alarm)
        return level, alarm

    @property
    def alarm_level(self) -> Level | None:
        return self.state.level
