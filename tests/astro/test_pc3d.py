"""3-D Pc (Hall 2021) and its Monte Carlo referee on nonlinear and linear encounters (issue 21).

References someone else produced:

* CARA's ``Pc3D_Hall_UnitTest.m`` (github.com/nasa/CARA_Analysis_Tools): inputs and expected
  values copied into ``tests/data/pc/cara_pc3d_hall_cases.json`` with their source;
* our two-body Monte Carlo with 10^7 samples as referee on the generated encounters of
  :mod:`astroshield.astro.conjunction.pc.encounters` (the issue names it the referee: it agrees
  with the published Monte Carlo), itself checked against the 2-D Pc on fast encounters and
  against ``solve_ivp`` for its propagation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from astroshield.astro.conjunction.pc import (
    MU_EARTH_KM3_S2,
    pc_2d,
    pc_3d,
    pc_monte_carlo,
)
from astroshield.astro.conjunction.pc._twobody import kepler_step
from astroshield.astro.conjunction.pc.encounters import (
    LINEAR_SPECS,
    NONLINEAR_SPECS,
    EncounterSpec,
    build_encounter,
)
from astroshield.astro.dynamics.frames import covariance_from_rtn

CARA_FILE = Path(__file__).parents[1] / "data" / "pc" / "cara_pc3d_hall_cases.json"
CARA = json.loads(CARA_FILE.read_text())
MU_M = MU_EARTH_KM3_S2 * 1e9


def _names(spec: EncounterSpec) -> str:
    return spec.name


# The near-zero-speed case is left to benchmarks/pc_3d.py: its 10^7-sample referee needs ~6x
# the time of the others (velocity-dominated motion passes the linear screen far more often);
# there 3-D was inside the 99 % interval too (RESULTS.md, issue 21).
MC_TESTED = tuple(s for s in NONLINEAR_SPECS if s.name != "leo_near_zero_speed")


@pytest.mark.slow
@pytest.mark.parametrize("spec", MC_TESTED, ids=_names)
def test_3d_inside_monte_carlo_99_interval_on_nonlinear_encounters(spec: EncounterSpec) -> None:
    e = build_encounter(spec)
    args = (e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr)
    p3 = pc_3d(*args, window=e.window)
    mc = pc_monte_carlo(*args, samples=10**7, seed=2026, window=e.window, confidence=0.99)
    assert p3.converged
    assert (mc.ci_high - mc.ci_low) / mc.pc <= 0.02
    assert mc.ci_low <= p3.value <= mc.ci_high


@pytest.mark.parametrize("spec", NONLINEAR_SPECS, ids=_names)
def test_generated_nonlinear_encounters_defeat_the_2d_pc(spec: EncounterSpec) -> None:
    # The set is only a test of the 3-D method if the 2-D assumptions fail on it: the 2-D Pc
    # is off by more than the 2 % a 10^7-sample interval resolves.
    e = build_encounter(spec)
    p3 = pc_3d(e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr, window=e.window)
    p2 = pc_2d(e.r1, e.v1, e.cov1[:3, :3], e.r2, e.v2, e.cov2[:3, :3], e.hbr)
    assert p3.value >= 0.01
    assert abs(p2 / p3.value - 1.0) > 0.03


@pytest.mark.parametrize("spec", LINEAR_SPECS, ids=_names)
def test_3d_equals_2d_on_fast_crossings(spec: EncounterSpec) -> None:
    e = build_encounter(spec)
    p3 = pc_3d(e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr)
    p2 = pc_2d(e.r1, e.v1, e.cov1[:3, :3], e.r2, e.v2, e.cov2[:3, :3], e.hbr)
    assert p3.converged
    assert p3.value == pytest.approx(p2, rel=0.01)


def test_monte_carlo_agrees_with_2d_on_a_fast_crossing() -> None:
    e = build_encounter(LINEAR_SPECS[-1])
    args = (e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr)
    p2 = pc_2d(e.r1, e.v1, e.cov1[:3, :3], e.r2, e.v2, e.cov2[:3, :3], e.hbr)
    mc = pc_monte_carlo(*args, samples=200_000, seed=11, confidence=0.99)
    assert mc.ci_low <= p2 <= mc.ci_high


def test_monte_carlo_screen_changes_no_count() -> None:
    # The linear screen only skips pairs it proves (with its margin) to stay clear of the HBR:
    # the same seed gives the same hits and the same minima with it and without it.
    spec = NONLINEAR_SPECS[-1]
    e = build_encounter(spec)
    args = (e.r1, e.v1, e.cov1, e.r2, e.v2, e.cov2, e.hbr)
    kw: dict[str, Any] = {"samples": 20_000, "seed": 5, "window": e.window}
    screened = pc_monte_carlo(*args, **kw)
    full = pc_monte_carlo(*args, **kw, screen=False)
    assert screened.hits == full.hits
    assert screened.hits > 100


def test_monte_carlo_minimum_is_exact_not_a_grid() -> None:
    # Two objects on a straight-line-like pass (mu tiny): the closest approach is known in
    # closed form, and a HBR a hair above / below it must flip the single sample's verdict.
    r1, v1 = np.array([7000.0, 0.0, 0.0]), np.array([0.0, 7.5, 0.0])
    r2, v2 = np.array([7000.0 + 0.0123, 0.0, 0.0]), np.array([0.0, -7.5, 0.1])
    zero = np.zeros((6, 6))
    miss = 0.0123
    for hbr, hit in ((miss * (1 + 1e-6), 1), (miss * (1 - 1e-6), 0)):
        mc = pc_monte_carlo(r1, v1, zero, r2, v2, zero, hbr, 1, 0, mu=1e-12, window=(-7.3, 11.1))
        assert mc.hits == hit


def test_kepler_step_matches_solve_ivp() -> None:
    r0 = np.array([[7000.0, -1200.0, 300.0], [42164.0, 10.0, -5.0]])
    v0 = np.array([[1.0, 7.3, 0.9], [0.0, 3.0747, 0.01]])

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r = y[:3]
        return np.concatenate([y[3:], -MU_EARTH_KM3_S2 * r / np.linalg.norm(r) ** 3])

    for dt in (-700.0, 3.0, 2500.0):
        r, v, _ = kepler_step(r0, v0, dt)
        for k in range(2):
            sol = integrate.solve_ivp(
                rhs, (0, dt), np.concatenate([r0[k], v0[k]]), rtol=1e-12, atol=1e-12
            )
            np.testing.assert_allclose(r[k], sol.y[:3, -1], rtol=1e-9, atol=1e-7)
            np.testing.assert_allclose(v[k], sol.y[3:, -1], rtol=1e-9, atol=1e-10)


def test_cara_similar_to_2d_case() -> None:
    # Pc3D_Hall_UnitTest.m testSimilarTo2D: expected 1.0289973e-02, RelTol 1e-3 there.
    c = CARA["similar_to_2d"]
    p3 = pc_3d(
        c["r1_m"], c["v1_m_s"], c["cov1"], c["r2_m"], c["v2_m_s"], c["cov2"], c["hbr_m"], mu=MU_M
    )
    assert p3.converged
    assert p3.value == pytest.approx(c["expected_pc3d_hall"], rel=c["rel_tol_in_source"])


def _cdm_object(o: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lower = iter(o["cov_rtn_lower_m"])
    rtn = np.zeros((6, 6))
    for i in range(6):
        for j in range(i + 1):
            rtn[i, j] = rtn[j, i] = next(lower)
    r = np.asarray(o["r_km"]) * 1e3
    v = np.asarray(o["v_km_s"]) * 1e3
    return r, v, covariance_from_rtn(rtn, r, v)


def test_cara_3dnc_case_2d_and_3d() -> None:
    # Pc3D_Hall_UnitTest.m test2D3DDisagreementCase (OmitronTestCase_Test08_3DNc.cdm): the 2-D
    # Pc is 2.27e-20 and CARA's 3-D Pc 1.93e-5. Our 2-D value matches CARA's to the source's
    # 1e-3. Our 3-D value is 1.47e-5: within 25 % of CARA's. CARA takes the TCA covariance as
    # Gaussian in equinoctial elements, we (and our Monte Carlo) in Cartesian states; at 15
    # orders of magnitude into the 2-D tail that choice matters, so the source's 1e-3 cannot
    # apply: our 10^7-sample Monte Carlo gave 1.31e-5 [1.05e-5, 1.64e-5] (99 %), which holds
    # our value and not CARA's (benchmarks/RESULTS.md, issue 21; too slow for a test). The
    # test pins the order of magnitude and that the 3-D value sees what 2-D cannot.
    c = CARA["omitron_test08_3dnc"]
    r1, v1, c1 = _cdm_object(c["object1"])
    r2, v2, c2 = _cdm_object(c["object2"])
    p2 = pc_2d(r1, v1, c1[:3, :3], r2, v2, c2[:3, :3], c["hbr_m"])
    assert p2 == pytest.approx(c["expected_pc2d_foster_circle"], rel=c["rel_tol_in_source"])
    p3 = pc_3d(r1, v1, c1, r2, v2, c2, c["hbr_m"], mu=MU_M)
    assert p3.converged
    assert p3.value == pytest.approx(c["expected_pc3d_hall"], rel=0.25)
    # A window a hundred times wider finds the same narrow peak (the former code returned 0).
    wide = pc_3d(r1, v1, c1, r2, v2, c2, c["hbr_m"], mu=MU_M, window=(-3000.0, 3000.0))
    assert wide.value == pytest.approx(p3.value, rel=1e-4)


def test_generated_encounter_recipe() -> None:
    # The recipe as documented: miss in the primary's RTN, perpendicular to the relative
    # velocity, relative speed as specified.
    spec = NONLINEAR_SPECS[0]
    e = build_encounter(spec)
    dr = e.r2 - e.r1
    dv = e.v2 - e.v1
    assert float(np.linalg.norm(dr)) == pytest.approx(math.hypot(*spec.miss_rtn), abs=1e-9)
    assert float(np.linalg.norm(dv)) == pytest.approx(math.hypot(*spec.dv_rtn), abs=1e-12)
    assert abs(float(dr @ dv)) <= 1e-9 * float(np.linalg.norm(dr) * np.linalg.norm(dv))
    assert e.window == (-0.5 * spec.window_s, 0.5 * spec.window_s)
