"""Collision probability (astroshield.astro.conjunction.pc) against published reference values.

Reference values are loaded from the shared fixture (``../shared/fixtures/pc/public_cases.json``),
which records for each number its source file and the tolerance that source asserts:

* CARA Omitron case A: github.com/nasa/CARA_Analysis_Tools @a80d016, PcCircle_UnitTest.m,
  Pc2D_Foster_UnitTest.m, PcElrod_UnitTest.m (``rel_tol_in_source`` per value).
* Chan cases 01/03/05/07/09/11: Orekit Patera2005Test.java (exact integral, ``expected_pc`` with
  ``abs_tol_in_source``) and Chan1997Test.java (Chan's series; that file asserts the same
  absolute deltas as Patera2005Test for these six cases, read at commit 133b568f).
* ``independent_reference_pc``: the fixture preparer's 40-digit mpmath quadrature.

Further checks use scipy's generic ``dblquad`` / ``solve_ivp`` / ``binomtest`` as an independent
second implementation, and closed forms from the literature (Alfano 2005 maximum Pc).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats
from tests.astro.paths import load_pc_cases

from astroshield.astro.conjunction.pc import (
    MU_EARTH_KM3_S2,
    DegenerateGeometryError,
    binomial_interval,
    encounter_plane,
    kepler_propagate,
    pc_2d,
    pc_2d_batch,
    pc_2d_result,
    pc_3d,
    pc_encounter_plane,
    pc_encounter_plane_batch,
    pc_encounter_plane_result,
    pc_max,
    pc_max_encounter_plane,
    pc_monte_carlo,
    pc_monte_carlo_encounter_plane,
)
from astroshield.astro.dynamics.covariance import CovarianceError

FIXTURE = load_pc_cases()
OMITRON: dict[str, Any] = FIXTURE["omitron_case_A"]
CHAN_CASES: list[dict[str, Any]] = FIXTURE["chan_encounter_plane_cases"]["cases"]

# Brief's acceptance criterion, tighter source tolerances are applied in addition.
BRIEF_REL_TOL = 0.01


def _omitron_args() -> tuple[Any, ...]:
    o = OMITRON
    assert o["units"]["r"] == "km"
    return (o["r1"], o["v1"], o["C1"], o["r2"], o["v2"], o["C2"], o["HBR"])


def _pad6(c3: Any) -> np.ndarray:
    full = np.zeros((6, 6))
    full[:3, :3] = np.asarray(c3)
    return full


def _chan_plane(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    miss = np.array([case["xm"], case["ym"]])
    cov = np.diag([case["sigma_x"] ** 2, case["sigma_y"] ** 2])
    return miss, cov, float(case["R"])


# ---------------------------------------------------------------------------------------------
# Fixture: CARA Omitron case A (km)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hbr_type"),
    [
        ("Pc2D_circle", "circle"),  # PcCircle default, source RelTol 1e-10
        ("Pc2D_circle_highest_accuracy", "circle"),  # PcCircle adaptive, source RelTol 1e-10
        ("Pc2D_circle_Foster", "circle"),  # Pc2D_Foster circle, source RelTol 1e-3
        ("Pc2D_square", "square"),  # Pc2D_Foster square, source RelTol 1e-3
        ("Pc2D_square_equal_area", "square_equal_area"),  # squareEquArea, source RelTol 1e-3
    ],
)
def test_omitron_case_a(key: str, hbr_type: str) -> None:
    exp = OMITRON["expected"][key]
    got = pc_2d(*_omitron_args(), hbr_type=hbr_type)  # type: ignore[arg-type]
    tol = min(float(exp["rel_tol_in_source"]), BRIEF_REL_TOL)
    assert got == pytest.approx(exp["value"], rel=tol)


def test_omitron_negative_hbr_is_zero() -> None:
    exp = OMITRON["expected"]["Pc2D_negative_HBR"]  # PcElrod_UnitTest.m testNegativeHBR
    args = list(_omitron_args())
    args[-1] = exp["HBR"]
    assert pc_2d(*args) == exp["value"]


def test_omitron_vectorised_matches_pccircle() -> None:
    exp = OMITRON["expected"]["Pc2D_circle"]  # source RelTol 1e-10
    r1, v1, c1, r2, v2, c2, hbr = _omitron_args()
    got = pc_2d_batch([r1], [v1], [c1], [r2], [v2], [c2], hbr)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(exp["value"], rel=exp["rel_tol_in_source"])


def test_omitron_projected_convention_matches_fixture_note() -> None:
    # Fixture note: projecting r onto the plane gives 2.706023527e-05 (1.9e-8 relative above
    # PcCircle's value); quoted to 10 digits there, so compare at 1e-9.
    got = pc_2d(*_omitron_args(), miss_convention="projected")
    assert got == pytest.approx(2.706023527e-05, rel=1e-9)


def test_omitron_result_object() -> None:
    res = pc_2d_result(*_omitron_args())
    assert res.method == "foster"
    assert not res.covariance_repaired
    assert res.miss.shape == (2,)
    assert res.covariance.shape == (2, 2)
    assert res.relative_speed == pytest.approx(
        float(np.linalg.norm(np.subtract(OMITRON["v1"], OMITRON["v2"])))
    )
    assert res.value == pc_2d(*_omitron_args())


def test_encounter_plane_frame_invariance() -> None:
    # Pc must not depend on the inertial frame: rotate every vector and covariance.
    r1, v1, c1, r2, v2, c2, hbr = (np.asarray(a, dtype=float) for a in _omitron_args())
    ang = 0.7
    rz = np.array(
        [[math.cos(ang), -math.sin(ang), 0], [math.sin(ang), math.cos(ang), 0], [0, 0, 1]]
    )
    rx = np.array(
        [[1, 0, 0], [0, math.cos(1.1), -math.sin(1.1)], [0, math.sin(1.1), math.cos(1.1)]]
    )
    q = rx @ rz
    base = pc_2d(r1, v1, c1, r2, v2, c2, float(hbr))
    rot = pc_2d(q @ r1, q @ v1, q @ c1 @ q.T, q @ r2, q @ v2, q @ c2 @ q.T, float(hbr))
    assert rot == pytest.approx(base, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Fixture: Orekit Chan cases (m, encounter plane)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CHAN_CASES, ids=[c["id"] for c in CHAN_CASES])
def test_chan_cases_foster_exact_integral(case: dict[str, Any]) -> None:
    miss, cov, hbr = _chan_plane(case)
    got = pc_encounter_plane(miss, cov, hbr, "foster")
    # Orekit Patera2005Test: expected_pc +/- abs_tol_in_source.
    assert abs(got - case["expected_pc"]) <= case["abs_tol_in_source"]
    assert got == pytest.approx(case["expected_pc"], rel=BRIEF_REL_TOL)
    # 40-digit mpmath reference (12 significant digits).
    assert got == pytest.approx(case["independent_reference_pc"], rel=1e-10)


@pytest.mark.parametrize("case", CHAN_CASES, ids=[c["id"] for c in CHAN_CASES])
def test_chan_cases_vectorised(case: dict[str, Any]) -> None:
    miss, cov, hbr = _chan_plane(case)
    got = pc_encounter_plane_batch(miss[None, :], cov[None], hbr)[0]
    assert abs(got - case["expected_pc"]) <= case["abs_tol_in_source"]
    assert got == pytest.approx(case["independent_reference_pc"], rel=1e-8)


@pytest.mark.parametrize("case", CHAN_CASES, ids=[c["id"] for c in CHAN_CASES])
def test_chan_cases_chan_series(case: dict[str, Any]) -> None:
    miss, cov, hbr = _chan_plane(case)
    got = pc_encounter_plane(miss, cov, hbr, "chan")
    # Orekit Chan1997Test (default Chan term count), same absolute delta as Patera2005Test.
    assert (
        abs(got - case["chan_series_approximation_Orekit_Chan1997_test"])
        <= case["abs_tol_in_source"]
    )


def test_chan_series_converges_to_exact_with_more_terms() -> None:
    # With u, v small the series is exact in the limit of many terms for a circle whose area
    # matches the equal-area transform; Chan01's remaining gap (~0.13 %) is the ellipse->disk
    # approximation, so only the truncation error is checked: terms beyond 60 change nothing.
    case = CHAN_CASES[0]
    miss, cov, hbr = _chan_plane(case)
    a = pc_encounter_plane(miss, cov, hbr, "chan", chan_terms=60)
    b = pc_encounter_plane(miss, cov, hbr, "chan", chan_terms=120)
    assert a == pytest.approx(b, rel=1e-14)
    assert a == pytest.approx(case["independent_reference_pc"], rel=5e-3)


# ---------------------------------------------------------------------------------------------
# Independent integration with scipy.dblquad (a second library)
# ---------------------------------------------------------------------------------------------


def _dblquad_disk(miss: np.ndarray, cov: np.ndarray, hbr: float) -> float:
    inv = np.linalg.inv(cov)
    norm = 1.0 / (2 * math.pi * math.sqrt(np.linalg.det(cov)))

    def f(y: float, x: float) -> float:
        d = np.array([x, y])
        return norm * math.exp(-0.5 * float(d @ inv @ d))

    x0, y0 = miss

    def half(x: float) -> float:
        return math.sqrt(max(hbr * hbr - (x - x0) ** 2, 0.0))

    val, _ = integrate.dblquad(
        f, x0 - hbr, x0 + hbr, lambda x: y0 - half(x), lambda x: y0 + half(x), epsrel=1e-11
    )
    return float(val)


@pytest.mark.parametrize(
    ("miss", "cov", "hbr"),
    [
        ([30.0, -12.0], [[900.0, 500.0], [500.0, 1600.0]], 10.0),
        ([1.0, 2.0], [[4.0, -1.9], [-1.9, 1.0]], 3.0),  # sigma ~ HBR, strong correlation
        ([200.0, 50.0], [[2500.0, 0.0], [0.0, 100.0]], 20.0),  # tail, Pc ~ 1e-7
    ],
)
def test_foster_matches_scipy_dblquad(
    miss: list[float], cov: list[list[float]], hbr: float
) -> None:
    m, c = np.array(miss), np.array(cov)
    ref = _dblquad_disk(m, c, hbr)
    assert pc_encounter_plane(m, c, hbr) == pytest.approx(ref, rel=1e-8)
    assert pc_encounter_plane_batch(m[None], c[None], hbr)[0] == pytest.approx(ref, rel=1e-8)


def test_square_matches_scipy_dblquad() -> None:
    m = np.array([15.0, -4.0])
    c = np.array([[400.0, 150.0], [150.0, 225.0]])
    inv = np.linalg.inv(c)
    norm = 1.0 / (2 * math.pi * math.sqrt(np.linalg.det(c)))
    for kind, half in (("square", 6.0), ("square_equal_area", 0.5 * math.sqrt(math.pi) * 6.0)):
        ref, _ = integrate.dblquad(
            lambda y, x: norm * math.exp(-0.5 * float(np.array([x, y]) @ inv @ np.array([x, y]))),
            m[0] - half,
            m[0] + half,
            m[1] - half,
            m[1] + half,
            epsrel=1e-11,
        )
        got = pc_encounter_plane(m, c, 6.0, hbr_type=kind)  # type: ignore[arg-type]
        assert got == pytest.approx(ref, rel=1e-8)


# ---------------------------------------------------------------------------------------------
# Vectorised vs scalar
# ---------------------------------------------------------------------------------------------


def _random_population(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hbr = rng.uniform(0.005, 0.05, n)
    s1 = 10 ** rng.uniform(-2.5, 1.0, n)
    s2 = s1 * 10 ** rng.uniform(-3.0, 0.0, n)
    ang = rng.uniform(0, math.pi, n)
    ca, sa = np.cos(ang), np.sin(ang)
    rot = np.stack([np.stack([ca, -sa], 1), np.stack([sa, ca], 1)], 1)
    cov = np.einsum("nij,nj,nkj->nik", rot, np.stack([s1**2, s2**2], 1), rot)
    miss = rng.normal(size=(n, 2)) * s1[:, None] * rng.uniform(0, 3, (n, 1))
    return miss, cov, hbr


def test_vectorised_agrees_with_scalar() -> None:
    # Mixed population: all three quadrature tiers (sigma_minor/HBR from ~1e-4 to >> 1).
    miss, cov, hbr = _random_population(400, seed=11)
    batch = pc_encounter_plane_batch(miss, cov, hbr)
    scalar = np.array([pc_encounter_plane(miss[i], cov[i], hbr[i]) for i in range(len(hbr))])
    ratio = np.sqrt(np.linalg.eigvalsh(cov)[:, 0]) / hbr
    assert np.count_nonzero(ratio < 0.03) > 50
    assert np.count_nonzero((ratio >= 0.03) & (ratio < 0.25)) > 30
    relevant = scalar > 1e-30  # below, Pc is zero for any practical purpose
    assert relevant.sum() > 200
    np.testing.assert_allclose(batch[relevant], scalar[relevant], rtol=1e-5)
    np.testing.assert_allclose(batch, scalar, rtol=0.1, atol=1e-30)
    # With adaptive_thin the thin tier uses the scalar integrator itself.
    exact = pc_encounter_plane_batch(miss, cov, hbr, adaptive_thin=True)
    tail = scalar > 1e-250
    np.testing.assert_allclose(exact[tail], scalar[tail], rtol=1e-6)


def test_vectorised_graded_tier_accuracy() -> None:
    # 1e-3 <= sigma_minor / HBR < 0.03: 16 graded panels.
    miss, cov, hbr = _random_population(1500, seed=31)
    ratio = np.sqrt(np.linalg.eigvalsh(cov)[:, 0]) / hbr
    sel = (ratio >= 1e-3) & (ratio < 0.03)
    miss, cov, hbr = miss[sel], cov[sel], hbr[sel]
    got = pc_encounter_plane_batch(miss, cov, hbr)
    ref = np.array([pc_encounter_plane(miss[i], cov[i], hbr[i]) for i in range(len(hbr))])
    ok = ref > 1e-30
    assert ok.sum() > 100
    np.testing.assert_allclose(got[ok], ref[ok], rtol=5e-7)


def test_pc_2d_batch_agrees_with_scalar_inertial() -> None:
    rng = np.random.default_rng(5)
    n = 50
    r1 = rng.normal(size=(n, 3)) * 7000
    v1 = rng.normal(size=(n, 3)) * 5
    r2 = r1 + rng.normal(size=(n, 3)) * 0.5
    v2 = rng.normal(size=(n, 3)) * 5
    a = rng.normal(size=(n, 3, 3)) * 0.3
    c1 = np.einsum("nij,nkj->nik", a, a) + 0.01 * np.eye(3)
    b = rng.normal(size=(n, 6, 6)) * 0.2
    c2 = np.einsum("nij,nkj->nik", b, b)
    got = pc_2d_batch(r1, v1, c1, r2, v2, c2, 0.02)
    ref = [pc_2d(r1[i], v1[i], c1[i], r2[i], v2[i], c2[i], 0.02) for i in range(n)]
    np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-300)


# ---------------------------------------------------------------------------------------------
# Alfano maximum Pc
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CHAN_CASES[2:], ids=[c["id"] for c in CHAN_CASES[2:]])
def test_pc_max_matches_alfano_small_hbr_formula(case: dict[str, Any]) -> None:
    # Alfano (2005), small-HBR limit: k^2 = d^2/2, Pc_max = HBR^2 / (e d^2 sx sy).
    miss, cov, hbr = _chan_plane(case)
    sx, sy = case["sigma_x"], case["sigma_y"]
    d2 = (case["xm"] / sx) ** 2 + (case["ym"] / sy) ** 2
    res = pc_max_encounter_plane(miss, cov, hbr)
    assert res.pc == pytest.approx(hbr**2 / (math.e * d2 * sx * sy), rel=1e-3)
    assert res.k_squared == pytest.approx(d2 / 2, rel=1e-2)
    assert res.pc >= res.pc_unscaled
    assert not res.bounded


def test_pc_max_inertial_and_inside_disk() -> None:
    res = pc_max(*_omitron_args())
    assert res.pc >= OMITRON["expected"]["Pc2D_circle"]["value"]
    assert res.k == pytest.approx(math.sqrt(res.k_squared))
    # Miss point inside the disk: Pc grows as covariance shrinks -> search hits its bound.
    inside = pc_max_encounter_plane([1.0, 0.0], np.eye(2) * 100.0, 5.0)
    assert inside.bounded
    assert inside.pc == 1.0
    assert inside.k_squared == 0.0


# ---------------------------------------------------------------------------------------------
# 3-D (Coppola / Hall 3D-Nc simplified)
# ---------------------------------------------------------------------------------------------


def test_pc3d_fast_encounter_agrees_with_2d() -> None:
    # Omitron case with zero velocity uncertainty (the fixture is position-only; Pc3D_Hall needs
    # 6x6). Two-body curvature over the +/-10 s window moves Nc by ~1.5e-6 relative.
    r1, v1, c1, r2, v2, c2, hbr = _omitron_args()
    res = pc_3d(r1, v1, _pad6(c1), r2, v2, _pad6(c2), hbr)
    assert res.value == pytest.approx(OMITRON["expected"]["Pc2D_circle"]["value"], rel=1e-5)


def test_pc3d_rectilinear_limit_equals_2d_exactly() -> None:
    # With mu -> 0 motion is rectilinear and Coppola's flux integral equals the 2-D integral
    # of the projected Gaussian (in-plane miss convention).
    r1, v1, c1, r2, v2, c2, hbr = _omitron_args()
    res = pc_3d(r1, v1, _pad6(c1), r2, v2, _pad6(c2), hbr, mu=1e-12)
    ref = pc_2d(r1, v1, c1, r2, v2, c2, hbr, miss_convention="projected")
    assert res.value == pytest.approx(ref, rel=1e-8)


def test_pc3d_refuses_position_only_covariance() -> None:
    # Pc3D_Hall_UnitTest.m testBadCovariance: Omitron inputs in metres with 3x3 covariances
    # raise 'Pc3D_Hall:badCovariance'.
    r1, v1, c1, r2, v2, c2, hbr = _omitron_args()
    m = 1000.0
    with pytest.raises(CovarianceError, match="6x6"):
        pc_3d(
            np.multiply(r1, m),
            np.multiply(v1, m),
            np.multiply(c1, m * m),
            np.multiply(r2, m),
            np.multiply(v2, m),
            np.multiply(c2, m * m),
            hbr * m,
            mu=MU_EARTH_KM3_S2 * 1e9,
        )


# ---------------------------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------------------------


def _leo_fast_case() -> tuple[np.ndarray, ...]:
    # Circular LEO primary; secondary 100 m radially offset crossing at 80 deg: states at TCA
    # (r perpendicular to v_rel), 10 km/s closing, Pc ~ 5e-3.
    rad = 7000.0
    vc = math.sqrt(MU_EARTH_KM3_S2 / rad)
    r1 = np.array([rad, 0.0, 0.0])
    v1 = np.array([0.0, vc, 0.0])
    r2 = np.array([rad + 0.1, 0.0, 0.0])
    v2 = np.array([0.0, vc * math.cos(math.radians(80)), vc * math.sin(math.radians(80))])
    c = np.diag([0.05**2, 0.2**2, 0.08**2, 1e-6, 4e-6, 1e-6])
    return r1, v1, c, r2, v2, c.copy()


def test_monte_carlo_two_body_agrees_with_2d() -> None:
    r1, v1, c1, r2, v2, c2 = _leo_fast_case()
    hbr = 0.02
    p2 = pc_2d(r1, v1, c1, r2, v2, c2, hbr)
    assert 1e-3 < p2 < 1e-2
    mc = pc_monte_carlo(r1, v1, c1, r2, v2, c2, hbr, samples=200_000, seed=20261125)
    assert mc.ci_low <= p2 <= mc.ci_high
    assert mc.boundary_minima == 0
    assert mc.hits > 500


def test_monte_carlo_encounter_plane_chan01() -> None:
    case = CHAN_CASES[0]  # Pc ~ 9.7e-3
    miss, cov, hbr = _chan_plane(case)
    mc = pc_monte_carlo_encounter_plane(miss, cov, hbr, samples=1_000_000, seed=7)
    assert mc.ci_low <= case["independent_reference_pc"] <= mc.ci_high


def test_binomial_intervals_match_scipy() -> None:
    for hits, n in ((914, 200_000), (0, 1000), (5, 50)):
        ref_w = stats.binomtest(hits, n).proportion_ci(0.95, method="wilson")
        ref_cp = stats.binomtest(hits, n).proportion_ci(0.95, method="exact")
        assert binomial_interval(hits, n) == pytest.approx((ref_w.low, ref_w.high), rel=1e-9)
        got = binomial_interval(hits, n, kind="clopper-pearson")
        assert got == pytest.approx((ref_cp.low, ref_cp.high), rel=1e-9, abs=1e-15)


def test_kepler_propagation_matches_solve_ivp() -> None:
    r0 = np.array([7000.0, -1200.0, 300.0])
    v0 = np.array([1.0, 7.3, 0.9])

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r = y[:3]
        return np.concatenate([y[3:], -MU_EARTH_KM3_S2 * r / np.linalg.norm(r) ** 3])

    for dt in (-300.0, 5.0, 2500.0):
        sol = integrate.solve_ivp(rhs, (0, dt), np.concatenate([r0, v0]), rtol=1e-12, atol=1e-12)
        r, v = kepler_propagate(r0, v0, np.array(dt))
        np.testing.assert_allclose(r, sol.y[:3, -1], rtol=1e-9, atol=1e-7)
        np.testing.assert_allclose(v, sol.y[3:, -1], rtol=1e-9, atol=1e-10)


@pytest.mark.slow
def test_slow_encounter_3d_matches_monte_carlo_where_2d_fails() -> None:
    # 3 m/s closing speed with 3 m/s (1-sigma, per axis, per object) velocity uncertainty: the
    # rectilinear/no-velocity-error assumptions of 2-D Pc fail.
    rad = 7000.0
    vc = math.sqrt(MU_EARTH_KM3_S2 / rad)
    r1 = np.array([rad, 0.0, 0.0])
    v1 = np.array([0.0, vc, 0.0])
    r2 = np.array([rad + 0.03, 0.0, 0.0])
    v2 = np.array([0.0, vc, 0.003])
    c = np.diag([0.03**2] * 3 + [0.003**2] * 3)
    hbr = 0.01
    # The covariance-based default window spans half an orbit here (velocity uncertainty
    # keeps collisions possible); ten minutes hold the approach and keep the test short.
    p3 = pc_3d(r1, v1, c, r2, v2, c, hbr, window=(-300.0, 300.0))
    mc = pc_monte_carlo(r1, v1, c, r2, v2, c, hbr, samples=300_000, seed=3, window=p3.window)
    p2 = pc_2d(r1, v1, c, r2, v2, c, hbr)
    assert mc.ci_low <= p3.value <= mc.ci_high
    assert not mc.ci_low <= p2 <= mc.ci_high


# ---------------------------------------------------------------------------------------------
# Covariance repair and degenerate geometry inside Pc
# ---------------------------------------------------------------------------------------------


def test_projected_covariance_repaired_and_flagged() -> None:
    # Combined covariance with zero spread along z (r x v) - singular in the plane.
    r1, v1, r2, v2 = [0.0, 0.0, 0.0], [0.0, 7.0, 0.0], [0.01, 0.0, 0.0], [0.0, -7.0, 0.0]
    c = np.diag([0.04, 0.09, 0.0])
    res = pc_2d_result(r1, v1, c, r2, v2, c, 0.02)
    assert res.covariance_repaired
    assert math.isfinite(res.value)
    assert 0.0 < res.value < 1.0
    with pytest.raises(CovarianceError, match="not positive definite"):
        pc_2d(r1, v1, c, r2, v2, c, 0.02, repair=False)


def test_encounter_plane_repair_slightly_negative() -> None:
    cov = np.array([[1.0, 1.0], [1.0, 1.0 - 1e-12]])  # eigenvalue ~ -5e-13
    res = pc_encounter_plane_result([0.5, 0.45], cov, 0.1)
    assert res.covariance_repaired
    assert 0.0 < res.value < 1.0
    with pytest.raises(CovarianceError):
        pc_encounter_plane([0.5, 0.45], cov, 0.1, repair=False)


def test_asymmetric_input_refused() -> None:
    r1, v1, c1, r2, v2, c2, hbr = _omitron_args()
    bad = np.array(c1)
    bad[0, 1] *= 1.01
    with pytest.raises(CovarianceError, match="not symmetric"):
        pc_2d(r1, v1, bad, r2, v2, c2, hbr)


def test_zero_relative_velocity_is_degenerate() -> None:
    r1, v1, c1, r2, _v2, c2, hbr = _omitron_args()
    with pytest.raises(DegenerateGeometryError):
        pc_2d(r1, v1, c1, r2, v1, c2, hbr)
    with pytest.raises(DegenerateGeometryError):
        pc_2d_batch([r1], [v1], [c1], [r2], [v1], [c2], hbr)
    with pytest.raises(DegenerateGeometryError):
        pc_3d(r1, v1, _pad6(c1), r2, v1, _pad6(c2), hbr)
    with pytest.raises(DegenerateGeometryError):
        pc_monte_carlo(r1, v1, _pad6(c1), r2, v1, _pad6(c2), hbr, samples=10, seed=0)


def test_near_zero_relative_velocity_threshold() -> None:
    r1, v1, c1, r2, _v2, c2, hbr = _omitron_args()
    v2 = np.asarray(v1) + 1e-9
    with pytest.raises(DegenerateGeometryError):
        encounter_plane(r1, v1, c1, r2, v2, c2, hbr, min_relative_speed=1e-6)


@pytest.mark.parametrize("r2", [[0.0, 0.0, 0.0], [0.0, 0.05, 0.0]])
def test_miss_parallel_to_velocity_or_zero_is_finite(r2: list[float]) -> None:
    # r x v = 0: CARA's z axis is undefined; any perpendicular works since the in-plane miss is 0.
    r1, v1, v2 = [0.0, 0.0, 0.0], [0.0, 7.0, 0.0], [0.0, -7.0, 0.0]
    c = np.diag([0.01, 0.02, 0.03])
    got = pc_2d(r1, v1, c, r2, v2, c, 0.02, miss_convention="projected")
    ref = pc_encounter_plane([0.0, 0.0], np.diag([0.02, 0.06]), 0.02)
    assert math.isfinite(got)
    assert got == pytest.approx(ref, rel=1e-10)


def test_vectorised_four_panel_tier() -> None:
    # Thin covariances (0.03 <= sigma_minor / HBR < 0.25) use the split-panel rule.
    miss, cov, hbr = _random_population(600, seed=29)
    ratio = np.sqrt(np.linalg.eigvalsh(cov)[:, 0]) / hbr
    sel = (ratio >= 0.03) & (ratio < 0.25)
    miss, cov, hbr = miss[sel], cov[sel], hbr[sel]
    got = pc_encounter_plane_batch(miss, cov, hbr)
    ref = np.array([pc_encounter_plane(miss[i], cov[i], hbr[i]) for i in range(len(hbr))])
    ok = ref > 1e-30
    assert ok.sum() > 40
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-6)


def test_vectorised_thin_covariance_matches_dblquad() -> None:
    m = np.array([3.0, 1.0])
    c = np.diag([400.0, 0.04])  # sigma_minor = 0.2 = HBR / 25
    ref = _dblquad_disk(m, c, 5.0)
    assert pc_encounter_plane_batch(m[None], c[None], 5.0)[0] == pytest.approx(ref, rel=1e-6)


def test_plots_write_png() -> None:
    from astroshield.astro.plots.encounter import encounter_plane_plot, pc_vs_hbr_plot

    miss, cov, hbr = _chan_plane(CHAN_CASES[0])
    p1 = pc_vs_hbr_plot(miss, cov, np.geomspace(0.5, 50, 20), unit="m")
    p2 = encounter_plane_plot(miss, cov, hbr, unit="m")
    for p in (p1, p2):
        assert p[:8] == b"\x89PNG\r\n\x1a\n"
