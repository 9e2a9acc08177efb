"""Simulated red conjunctions: seeded, red, stored and read back unchanged, labelled by the
optimiser with a burn that the physics confirms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from astroshield.astro.conjunction.pc import kepler_propagate, pc_2d
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.ml.encounter_scenarios import (
    RED_PC,
    Conjunction,
    draw_scenario,
    load_scenarios,
    simulate_scenarios,
    write_scenarios,
)


def independent_pc(c: Conjunction, lead_s: float, dv_rtn_m_s: Sequence[float]) -> float:
    """Pc after a burn, computed without the avoidance module: burn, propagate both objects
    on a 0.5 s grid over +-60 s around TCA, then on a 10 µs grid around the closest sample,
    pc_2d at the closest one."""
    rb, vb = kepler_propagate(c.r1, c.v1, np.array(-lead_s))
    vb = vb + rtn_rotation(rb, vb).T @ (np.asarray(dv_rtn_m_s) / 1000.0)
    centre = 0.0
    for half, count in ((60.0, 241), (0.5, 100001)):
        offsets = centre + np.linspace(-half, half, count)
        p1, w1 = kepler_propagate(rb, vb, lead_s + offsets)
        p2, w2 = kepler_propagate(c.r2, c.v2, offsets)
        k = int(np.argmin(np.linalg.norm(p1 - p2, axis=1)))
        centre = float(offsets[k])
    return pc_2d(p1[k], w1[k], c.cov1, p2[k], w2[k], c.cov2, c.hbr_km, miss_convention="projected")


def test_same_seed_same_encounter_other_seed_another() -> None:
    a, b = draw_scenario(3, 7, solve=False), draw_scenario(3, 7, solve=False)
    c = draw_scenario(4, 7, solve=False)
    np.testing.assert_array_equal(a.conjunction.r2, b.conjunction.r2)
    assert a.constraints == b.constraints
    assert not np.allclose(a.conjunction.r1, c.conjunction.r1)


def test_encounters_are_red_at_their_tca_and_within_the_stated_ranges() -> None:
    for index in range(12):
        s = draw_scenario(11, index, solve=False)
        c = s.conjunction
        assert s.pc_before >= RED_PC
        assert 0.005 <= c.hbr_km <= 0.02
        assert 2 * 3600 <= c.time_to_tca_s <= 48 * 3600
        assert 0 < s.constraints.min_lead_s <= s.constraints.max_lead_s < c.time_to_tca_s
        # t = 0 is the closest approach: the relative velocity is perpendicular to the miss.
        dr, dv = c.r1 - c.r2, c.v1 - c.v2
        assert abs(float(dr @ dv)) < 1e-9 * np.linalg.norm(dr) * np.linalg.norm(dv) + 1e-12
        assert s.pc_before == pytest.approx(
            pc_2d(c.r1, c.v1, c.cov1, c.r2, c.v2, c.cov2, c.hbr_km, miss_convention="projected")
        )


def test_label_is_a_feasible_burn_and_the_files_round_trip(tmp_path: Path) -> None:
    scenarios = simulate_scenarios(21, 3)
    card = write_scenarios(tmp_path, scenarios, seed=21)
    assert card["encounters"] == 3 and card["seed"] == 21
    assert (tmp_path / "DATA_CARD.md").read_text().startswith("# Simulated red conjunctions")
    back = load_scenarios(tmp_path)
    for s, b in zip(scenarios, back, strict=True):
        np.testing.assert_array_equal(s.conjunction.r1, b.conjunction.r1)
        np.testing.assert_array_equal(s.conjunction.cov2[:3, :3], b.conjunction.cov2)
        assert s.constraints == b.constraints
        assert s.optimum is not None and b.optimum is not None
        assert b.optimum.dv_rtn_m_s == pytest.approx(s.optimum.dv_rtn_m_s)
        pc = independent_pc(s.conjunction, s.optimum.lead_time_s, s.optimum.dv_rtn_m_s)
        assert pc < RED_PC
        assert pc == pytest.approx(s.optimum.after.pc, rel=2e-3)
