"""The alert state machine: for-duration, hysteresis, severities, acknowledgement,
shelving. Times are explicit so no test sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from astroshield.alerts.engine import (
    AlertState,
    AlertStatus,
    Change,
    Comparison,
    Rule,
    Severity,
    acknowledge,
    evaluate,
    shelve,
    should_notify,
)

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ERRORS = Rule(
    key="error-rate",
    metric="errors_per_minute",
    comparison=Comparison.ABOVE,
    thresholds={Severity.WARNING: 10, Severity.CRITICAL: 50},
    clear=8,
    for_s=60,
)


def feed(rule: Rule, samples: list[tuple[int, float]]) -> list[tuple[AlertState, Change | None]]:
    state = AlertState()
    out = []
    for seconds, value in samples:
        state, change = evaluate(rule, state, value, T0 + timedelta(seconds=seconds))
        out.append((state, change))
    return out


def test_fires_only_after_the_for_duration() -> None:
    steps = feed(ERRORS, [(0, 12), (30, 13), (59, 12), (60, 12)])
    assert [change for _, change in steps] == [Change.PENDING, None, None, Change.FIRED]
    assert steps[2][0].status is AlertStatus.PENDING
    fired = steps[-1][0]
    assert fired.status is AlertStatus.FIRING and fired.severity is Severity.WARNING
    assert fired.fired_at == T0 + timedelta(seconds=60)


def test_a_dip_resets_the_clock() -> None:
    steps = feed(ERRORS, [(0, 12), (40, 5), (50, 12), (100, 12), (110, 12)])
    assert [change for _, change in steps] == [
        Change.PENDING,
        None,
        Change.PENDING,
        None,
        Change.FIRED,
    ]


def test_no_flapping_inside_the_hysteresis_band() -> None:
    steps = feed(
        ERRORS, [(0, 12), (60, 12), (70, 9.5), (80, 10.5), (90, 8.1), (100, 9), (110, 7.9)]
    )
    changes = [change for _, change in steps]
    assert changes == [Change.PENDING, Change.FIRED, None, None, None, None, Change.RESOLVED]
    assert steps[-1][0].status is AlertStatus.RESOLVED


def test_escalation_and_deescalation() -> None:
    steps = feed(ERRORS, [(0, 12), (60, 12), (70, 55), (80, 20)])
    assert [change for _, change in steps][2:] == [Change.ESCALATED, Change.DEESCALATED]
    assert steps[2][0].severity is Severity.CRITICAL and steps[3][0].severity is Severity.WARNING


def test_below_rules() -> None:
    battery = Rule(
        key="battery",
        metric="soc",
        comparison=Comparison.BELOW,
        thresholds={Severity.WARNING: 30, Severity.CRITICAL: 15},
        clear=35,
    )
    steps = feed(battery, [(0, 40), (1, 25), (2, 10), (3, 33), (4, 36)])
    # 33 is past the warning threshold but not past clear (35): inside the band the
    # alert keeps its severity rather than flap down and up again.
    assert [c for _, c in steps] == [None, Change.FIRED, Change.ESCALATED, None, Change.RESOLVED]
    assert steps[3][0].severity is Severity.CRITICAL


def test_acknowledged_alert_stays_until_resolved_and_escalation_rearms_it() -> None:
    state = feed(ERRORS, [(0, 12), (60, 12)])[-1][0]
    acked, change = acknowledge(state, by="op-1", comment="looking", now=T0 + timedelta(seconds=61))
    assert change is Change.ACKNOWLEDGED and acked.status is AlertStatus.ACKNOWLEDGED
    assert acked.acknowledged_by == "op-1" and acked.ack_comment == "looking"
    calm, change = evaluate(ERRORS, acked, 11, T0 + timedelta(seconds=70))
    assert change is None and calm.status is AlertStatus.ACKNOWLEDGED
    worse, change = evaluate(ERRORS, calm, 60, T0 + timedelta(seconds=80))
    assert change is Change.ESCALATED and worse.status is AlertStatus.FIRING


def test_shelving_silences_notifications_not_state() -> None:
    state = AlertState()
    state, _ = shelve(state, until=T0 + timedelta(hours=1))
    state, change = evaluate(ERRORS, state, 12, T0)
    state, change = evaluate(ERRORS, state, 12, T0 + timedelta(seconds=60))
    assert change is Change.FIRED and state.status is AlertStatus.FIRING
    assert not should_notify(state, change, T0 + timedelta(seconds=60))
    assert should_notify(state, change, T0 + timedelta(hours=2))


@pytest.mark.parametrize(("comparison", "clear"), [(Comparison.ABOVE, 11), (Comparison.BELOW, 15)])
def test_clear_threshold_must_make_sense(comparison: Comparison, clear: float) -> None:
    with pytest.raises(ValueError, match="clear threshold"):
        Rule(
            key="x",
            metric="m",
            comparison=comparison,
            thresholds={Severity.WARNING: 10, Severity.CRITICAL: 20},
            clear=clear,
        )


LATCHED = Rule(
    key="batt-v-limits",
    metric="telemetry_limit_level",
    comparison=Comparison.ABOVE,
    thresholds={Severity.INFO: 0.5, Severity.WARNING: 1.5, Severity.CRITICAL: 3.5},
    clear=0.5,
    latching=True,
)


def test_latched_alert_stays_firing_after_the_value_returns_until_acknowledged() -> None:
    steps = feed(LATCHED, [(0, 0), (1, 4), (2, 0), (3, 0)])
    assert [change for _, change in steps] == [None, Change.FIRED, None, None]
    latched = steps[-1][0]
    assert latched.status is AlertStatus.FIRING and latched.severity is Severity.CRITICAL
    assert latched.value == 0 and latched.resolved_at is None
    done, change = acknowledge(
        latched, by="op-1", comment="transient", now=T0 + timedelta(seconds=5), rule=LATCHED
    )
    assert change is Change.RESOLVED and done.status is AlertStatus.RESOLVED
    assert done.acknowledged_by == "op-1" and done.resolved_at == T0 + timedelta(seconds=5)


def test_latched_alert_acknowledged_while_violating_resolves_when_the_value_clears() -> None:
    state = feed(LATCHED, [(0, 2)])[-1][0]
    acked, change = acknowledge(
        state, by="op-1", comment=None, now=T0 + timedelta(seconds=1), rule=LATCHED
    )
    assert change is Change.ACKNOWLEDGED and acked.status is AlertStatus.ACKNOWLEDGED
    cleared, change = evaluate(LATCHED, acked, 0, T0 + timedelta(seconds=2))
    assert change is Change.RESOLVED and cleared.status is AlertStatus.RESOLVED


def test_latched_alert_escalation_rearms_and_latches_again() -> None:
    state = feed(LATCHED, [(0, 2)])[-1][0]
    state, _ = acknowledge(state, by="op-1", comment=None, now=T0, rule=LATCHED)
    state, change = evaluate(LATCHED, state, 5, T0 + timedelta(seconds=1))
    assert change is Change.ESCALATED and state.status is AlertStatus.FIRING
    state, change = evaluate(LATCHED, state, 0, T0 + timedelta(seconds=2))
    assert change is None and state.status is AlertStatus.FIRING


def test_acknowledging_without_the_rule_never_resolves() -> None:
    state = feed(LATCHED, [(0, 4), (1, 0)])[-1][0]
    acked, change = acknowledge(state, by="op-1", comment=None, now=T0)
    assert change is Change.ACKNOWLEDGED and acked.status is AlertStatus.ACKNOWLEDGED


def test_a_non_latching_rule_resolves_by_itself() -> None:
    plain = Rule(
        key="plain",
        metric="telemetry_limit_level",
        comparison=Comparison.ABOVE,
        thresholds={Severity.WARNING: 1.5},
        clear=0.5,
    )
    assert [change for _, change in feed(plain, [(0, 2), (1, 0)])] == [
        Change.FIRED,
        Change.RESOLVED,
    ]
