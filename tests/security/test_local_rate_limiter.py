"""The in-process sliding-window counter agrees with ``limits``' own implementation."""

from __future__ import annotations

import random
import time

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from astroshield.security.ratelimit import LocalSlidingWindowCounter


@pytest.mark.parametrize(("limit_text", "seed"), [("5/10 seconds", 1), ("20/minute", 2)])
def test_decisions_match_the_limits_library(
    monkeypatch: pytest.MonkeyPatch, limit_text: str, seed: int
) -> None:
    limit = parse(limit_text)
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    ours = LocalSlidingWindowCounter(clock=lambda: clock[0])
    rng = random.Random(seed)
    mismatches = []
    allowed_count = 0
    for step in range(600):
        # Bursts and pauses, so windows fill, roll over and lapse entirely.
        clock[0] += rng.choice([0.05, 0.2, 1.0, 3.0, limit.get_expiry() * 2.5])
        expected = reference.hit(limit, "client", "10.0.0.1")
        decision = ours.hit(limit, ("client", "10.0.0.1"))
        allowed_count += decision.allowed
        if decision.allowed != expected:
            mismatches.append((step, clock[0], expected))
    assert mismatches == []
    assert 0 < allowed_count < 600  # the sequence exercised both answers


def test_keys_are_independent_and_stale_keys_are_swept() -> None:
    limit = parse("2/second")
    clock = [100.0]
    counter = LocalSlidingWindowCounter(clock=lambda: clock[0])
    assert [counter.hit(limit, ("user", "a")).allowed for _ in range(3)] == [True, True, False]
    assert counter.hit(limit, ("user", "b")).allowed
    refused = counter.hit(limit, ("user", "a"))
    assert refused.remaining == 0 and refused.reset_after_s >= 1
    counter.SWEEP_ABOVE = 2
    clock[0] += 10
    counter.hit(limit, ("user", "c"))
    assert len(counter._windows) == 1
