"""Avoidance trade: the propagation agrees with Clohessy-Wiltshire, and the Δv found is
the smallest that clears the red threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from astroshield.astro.conjunction.avoidance import (
    along_track_shift_cw,
    approach_after_burn,
    avoidance_trade,
    burn_state,
)
from astroshield.astro.conjunction.pc import MU_EARTH_KM3_S2, kepler_propagate
from astroshield.astro.dynamics.frames import rtn_rotation

RADIUS = 7000.0
SPEED = math.sqrt(MU_EARTH_KM3_S2 / RADIUS)
MEAN_MOTION = SPEED / RADIUS
PERIOD = 2 * math.pi / MEAN_MOTION
R1, V1 = np.array([RADIUS, 0.0, 0.0]), np.array([0.0, SPEED, 0.0])  # circular, equatorial
# A polar crosser 50 m above the primary at TCA: ~10.7 km/s encounter.
R2, V2 = R1 + np.array([0.0, 0.0, 0.05]), np.array([0.0, 0.0, SPEED])
COV = np.diag([0.1, 0.1, 0.1]) ** 2  # 100 m 1-sigma, km^2
HBR = 0.02


@pytest.mark.parametrize("fraction", [0.25, 0.5, 1.0])
def test_burn_propagation_matches_clohessy_wiltshire(fraction: float) -> None:
    lead, dv = fraction * PERIOD, 0.01  # m/s: small enough for the linear theory
    rb, vb = burn_state(R1, V1, delta_v_m_s=dv, direction="along_track", lead_time_s=lead)
    r_burned, _ = kepler_propagate(rb, vb, np.array(lead))
    along = float(rtn_rotation(R1, V1)[1] @ (r_burned - R1))
    expected = along_track_shift_cw(dv, lead, MEAN_MOTION)
    assert along == pytest.approx(expected, rel=5e-3)


def test_smallest_delta_v_that_clears_red() -> None:
    result = avoidance_trade(R1, V1, COV, R2, V2, COV, HBR, lead_time_s=PERIOD, red_pc=1e-4)
    assert result is not None
    assert result.before.pc > 1e-4 and result.after.pc < 1e-4
    assert result.after.miss_distance_km > result.before.miss_distance_km
    assert 1e-4 < abs(result.delta_v_m_s) < 1.0
    # Minimal: a slightly smaller burn in the same sense does not clear it.
    smaller = approach_after_burn(
        R1,
        V1,
        COV,
        R2,
        V2,
        COV,
        HBR,
        delta_v_m_s=result.delta_v_m_s * 0.97,
        direction="along_track",
        lead_time_s=PERIOD,
    )
    assert smaller.pc >= 1e-4


def test_green_event_needs_nothing_and_impossible_is_none() -> None:
    far = R1 + np.array([0.0, 0.0, 2.0])  # 2 km apart
    green = avoidance_trade(R1, V1, COV, far, V2, COV, HBR, lead_time_s=PERIOD)
    assert green is not None and green.delta_v_m_s == 0.0
    assert (
        avoidance_trade(R1, V1, COV, R2, V2, COV, HBR, lead_time_s=60.0, max_delta_v_m_s=1e-3)
        is None
    )
