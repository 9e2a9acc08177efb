"""YAMCS-style limit sets: most severe range violated, inclusive bounds, min violations."""

from __future__ import annotations

import math

import pytest

from astroshield.tm.limits import (
    Level,
    LimitRange,
    LimitSet,
    ViolationCounter,
    limit_state,
)

BATTERY = LimitSet.from_mapping(
    {"watch": (26.0, 29.0), "warning": (25.5, 29.4), "critical": (24.0, 30.5)}
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (27.0, None),
        (26.0, None),  # bounds are inclusive
        (29.0, None),
        (29.2, Level.WATCH),
        (25.9, Level.WATCH),
        (29.4, Level.WATCH),
        (29.41, Level.WARNING),
        (25.0, Level.WARNING),
        (30.5, Level.WARNING),
        (30.51, Level.CRITICAL),
        (-1.0, Level.CRITICAL),
        (math.nan, Level.CRITICAL),  # an unreadable value is outside every range
    ],
)
def test_limit_state_is_the_most_severe_range_violated(
    value: float, expected: Level | None
) -> None:
    assert limit_state(BATTERY, value) == expected


def test_open_bounds() -> None:
    upper_only = LimitSet.from_mapping({"warning": (None, 45.0), "severe": (None, 80.0)})
    assert limit_state(upper_only, -1e9) is None
    assert limit_state(upper_only, 46) is Level.WARNING
    assert limit_state(upper_only, 81) is Level.SEVERE


def test_levels_are_ordered_as_yamcs() -> None:
    assert [level.value for level in sorted(Level, key=lambda lv: lv.rank)] == [
        "watch",
        "warning",
        "distress",
        "critical",
        "severe",
    ]


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        # critical cuts inside warning
        ({"warning": (20.0, 30.0), "critical": (22.0, 35.0)}, "critical range must contain"),
        # warning open below, critical not
        ({"warning": (None, 30.0), "critical": (0.0, 35.0)}, "critical range must contain"),
        ({"warning": (30.0, 20.0)}, "is above high"),
    ],
)
def test_inconsistent_sets_are_refused(
    ranges: dict[str, tuple[float | None, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LimitSet.from_mapping(ranges)


def test_bounds_must_be_finite_and_min_violations_positive() -> None:
    with pytest.raises(ValueError, match="finite"):
        LimitRange(math.inf, None)
    with pytest.raises(ValueError, match="min_violations"):
        LimitSet.from_mapping({"warning": (0.0, 1.0)}, min_violations=0)


def test_alarm_only_after_min_consecutive_violations() -> None:
    counter = ViolationCounter(LimitSet.from_mapping({"warning": (0.0, 10.0)}, min_violations=3))
    fed = [counter.feed(value) for value in (11, 12, 5, 11, 12, 13, 14, 5)]
    assert [level for level, _ in fed] == [
        Level.WARNING,
        Level.WARNING,
        None,
        Level.WARNING,
        Level.WARNING,
        Level.WARNING,
        Level.WARNING,
        None,
    ]
    assert [alarm for _, alarm in fed] == [
        None,
        None,
        None,  # the in-limits value reset the count
        None,
        None,
        Level.WARNING,
        Level.WARNING,
        None,
    ]


def test_severity_changes_apply_at_once_while_the_violation_lasts() -> None:
    counter = ViolationCounter(BATTERY.__class__(BATTERY.ranges, min_violations=2))
    alarms = [counter.feed(value)[1] for value in (29.2, 29.3, 31.0, 29.2, 27.0)]
    assert alarms == [None, Level.WATCH, Level.CRITICAL, Level.WATCH, None]
