"""Simulated red conjunctions: seeded, red, stored and read back unchanged, labelled by the
optimiser with a burn that the physics confirms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from astroshield.astro.conjunction.pc import kepler_propagate, pc_2d
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.ml.encounter_scenarios import (
    RED_PC,
    draw_scenario,
    load_scenarios,
    simulate_scenarios,
    write_scenarios,
)


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
        # Independent physics: burn, propagate both to a fine grid around TCA, pc_2d there.
        c, burn = s.conjunction, s.optimum
        rb, vb = kepler_propagate(c.r1, c.v1, np.array(-burn.lead_time_s))
        vb = vb + rtn_rotation(rb, vb).T @ (np.asarray(burn.dv_rtn_m_s) / 1000.0)
        offsets = np.linspace(-20.0, 20.0, 400001)
        p1, w1 = kepler_propagate(rb, vb, burn.lead_time_s + offsets)
        p2, w2 = kepler_propagate(c.r2, c.v2, offsets)
        k = int(np.argmin(np.linalg.norm(p1 - p2, axis=1)))
        pc = pc_2d(
            p1[k], w1[k], c.cov1, p2[k], w2[k], c.cov2, c.hbr_km, miss_convention="projected"
        )
        assert pc < RED_PC
        assert pc == pytest.approx(burn.after.pc, rel=2e-3)
