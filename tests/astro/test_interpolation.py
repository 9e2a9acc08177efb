"""Ephemeris interpolation against analytic two-body motion.

References: exact Keplerian positions/velocities generated here (circular: closed form;
eccentric: Kepler's equation solved by Newton to machine precision). Error bounds come from the
interpolation remainder theorems, not from previous runs:

* Lagrange on m nodes: |f(t) - p(t)| <= max|f^(m)| / m! * prod_j |t - x_j|;
* Hermite on m nodes (2m conditions): |f(t) - p(t)| <= max|f^(2m)| / (2m)! * prod_j (t - x_j)^2.

For a circular orbit of radius R and mean motion n each Cartesian position component is
R cos(n t + phi) (times a direction cosine <= 1), so max|f^(k)| <= R n^k; velocities likewise
with amplitude R n.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from astroshield.astro.dynamics import interpolation

MU_EARTH = 398600.4418  # km^3/s^2
ROUNDOFF_KM = 1e-9  # double precision on 7000-km values, with margin


def circular_orbit(
    t: np.ndarray, radius: float = 7000.0, inc: float = 0.9, raan: float = 0.4
) -> tuple[np.ndarray, np.ndarray, float]:
    n = math.sqrt(MU_EARTH / radius**3)
    u = n * t + 0.2
    p = np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=1) * radius
    q = np.stack([-np.sin(u), np.cos(u), np.zeros_like(u)], axis=1) * radius * n
    rot = rotation(inc, raan)
    return p @ rot.T, q @ rot.T, n


def rotation(inc: float, raan: float) -> np.ndarray:
    ci, si, co, so = math.cos(inc), math.sin(inc), math.cos(raan), math.sin(raan)
    r_raan = np.array([[co, -so, 0.0], [so, co, 0.0], [0.0, 0.0, 1.0]])
    r_inc = np.array([[1.0, 0.0, 0.0], [0.0, ci, -si], [0.0, si, ci]])
    return np.asarray(r_raan @ r_inc)


def kepler_orbit(t: np.ndarray, a: float, e: float) -> tuple[np.ndarray, np.ndarray]:
    n = math.sqrt(MU_EARTH / a**3)
    mean = n * t
    ecc = mean.copy()
    for _ in range(50):
        ecc -= (ecc - e * np.sin(ecc) - mean) / (1.0 - e * np.cos(ecc))
    cos_e, sin_e = np.cos(ecc), np.sin(ecc)
    b = a * math.sqrt(1.0 - e * e)
    r_pf = np.stack([a * (cos_e - e), b * sin_e, np.zeros_like(t)], axis=1)
    edot = n / (1.0 - e * cos_e)
    v_pf = np.stack([-a * sin_e * edot, b * cos_e * edot, np.zeros_like(t)], axis=1)
    rot = rotation(1.1, 2.0)
    return r_pf @ rot.T, v_pf @ rot.T


def centred_product(m: int, query: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """prod |t - x_j| over the m nodes nearest each query (window centred on its interval)."""
    i = np.searchsorted(nodes, query, side="right") - 1
    start = i - (m - 1) // 2
    window = nodes[start[:, None] + np.arange(m)[None, :]]
    return np.asarray(np.prod(np.abs(query[:, None] - window), axis=1))


def centred_product_derivative(m: int, query: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Upper bound of |d/dt prod (t - x_j)|: sum_j prod_{l != j} |t - x_l| (centred window)."""
    i = np.searchsorted(nodes, query, side="right") - 1
    start = i - (m - 1) // 2
    diff = np.abs(query[:, None] - nodes[start[:, None] + np.arange(m)[None, :]])
    total = np.zeros_like(query)
    for j in range(m):
        total += np.prod(np.delete(diff, j, axis=1), axis=1)
    return total


def test_lagrange_circular_within_remainder_bound() -> None:
    step, degree = 60.0, 7
    m = degree + 1
    nodes = np.arange(0.0, 6000.0 + step, step)
    r_n, v_n, n = circular_orbit(nodes)
    radius = 7000.0
    query = np.linspace(0.0, nodes[-1], 997)
    r_true, v_true, _ = circular_orbit(query)
    r_i = interpolation.lagrange_interpolate(nodes, r_n, query, degree=degree)
    v_i = interpolation.lagrange_interpolate(nodes, v_n, query, degree=degree)
    err_r = np.max(np.abs(r_i - r_true), axis=1)
    err_v = np.max(np.abs(v_i - v_true), axis=1)
    # Anywhere (window possibly shifted at the ends): prod |t - x_j| <= ((m - 1) h)^m.
    general = radius * n**m * ((m - 1) * step) ** m / math.factorial(m)
    assert np.all(err_r <= general + ROUNDOFF_KM)
    assert np.all(err_v <= general * n + ROUNDOFF_KM * n)
    # Interior queries have a centred window: sharp bound, evaluated per query.
    interior = (query > nodes[m]) & (query < nodes[-m - 1])
    sharp = radius * n**m * centred_product(m, query[interior], nodes) / math.factorial(m)
    assert np.all(err_r[interior] <= sharp + ROUNDOFF_KM)
    assert np.all(err_v[interior] <= sharp * n + ROUNDOFF_KM * n)
    # The sharp bound is ~1e-9 km for this case: the interpolant is essentially exact.
    assert float(np.max(err_r[interior])) < 1e-6


@pytest.mark.parametrize(("degree", "step"), [(3, 30.0), (5, 60.0), (7, 120.0)])
def test_hermite_circular_within_remainder_bound(degree: int, step: float) -> None:
    m = (degree + 1) // 2
    nodes = np.arange(0.0, 5400.0 + step, step)
    r_n, v_n, n = circular_orbit(nodes)
    query = np.linspace(0.0, nodes[-1], 1001)
    r_true, v_true, _ = circular_orbit(query)
    r_i, v_i = interpolation.hermite_interpolate(nodes, r_n, v_n, query, degree=degree)
    err_r = np.max(np.abs(r_i - r_true), axis=1)
    interior = (query > nodes[m]) & (query < nodes[-m - 1])
    prod = centred_product(m, query[interior], nodes)
    bound = 7000.0 * n ** (2 * m) * prod**2 / math.factorial(2 * m)
    assert np.all(err_r[interior] <= bound + ROUNDOFF_KM)
    # Velocity of the Hermite interpolant is the derivative of the position polynomial:
    # check it against a centred difference of the interpolant itself (O(dt^2) ~ 1e-12 km/s).
    dt = 1e-3
    inner = query[(query > dt) & (query < nodes[-1] - dt)]
    r_plus, _ = interpolation.hermite_interpolate(nodes, r_n, v_n, inner + dt, degree=degree)
    r_minus, _ = interpolation.hermite_interpolate(nodes, r_n, v_n, inner - dt, degree=degree)
    _, v_mid = interpolation.hermite_interpolate(nodes, r_n, v_n, inner, degree=degree)
    np.testing.assert_allclose(v_mid, (r_plus - r_minus) / (2 * dt), atol=1e-8)
    # Velocity error: e(t) = f[x1,x1,..,xm,xm,t] w(t)^2 with w = prod (t - x_j), so
    # e'(t) = f[..,t,t] w^2 + f[..,t] (w^2)', and |f[k+1 points]| <= max|f^(k)| / k!.
    err_v = np.max(np.abs(v_i - v_true), axis=1)[interior]
    w_prime = centred_product_derivative(m, query[interior], nodes)
    v_bound = 7000.0 * (
        n ** (2 * m + 1) * prod**2 / math.factorial(2 * m + 1)
        + n ** (2 * m) * 2.0 * prod * w_prime / math.factorial(2 * m)
    )
    assert np.all(err_v <= v_bound + ROUNDOFF_KM)


def test_hermite_velocity_convergence_order_eccentric_orbit() -> None:
    # Molniya-like orbit, e = 0.7, sampled around perigee where derivatives are largest.
    # Hermite on m nodes: position error O(h^(2m)), velocity O(h^(2m-1)).
    a, e = 26600.0, 0.7
    errors = []
    for step in (40.0, 20.0):
        nodes = np.arange(-1800.0, 1800.0 + step, step)
        r_n, v_n = kepler_orbit(nodes, a, e)
        query = np.linspace(-1200.0, 1200.0, 777)
        r_true, v_true = kepler_orbit(query, a, e)
        r_i, v_i = interpolation.hermite_interpolate(nodes, r_n, v_n, query, degree=3)
        errors.append((np.max(np.abs(r_i - r_true)), np.max(np.abs(v_i - v_true))))
    (r_coarse, v_coarse), (r_fine, v_fine) = errors
    # halving h: cubic Hermite position error /16, velocity /8 (asymptotically); allow 25 %
    assert r_coarse / r_fine > 16 * 0.75
    assert v_coarse / v_fine > 8 * 0.75


def test_lagrange_convergence_order_eccentric_orbit() -> None:
    a, e = 26600.0, 0.7
    errors = []
    for step in (60.0, 30.0):
        nodes = np.arange(-2400.0, 2400.0 + step, step)
        r_n, _ = kepler_orbit(nodes, a, e)
        query = np.linspace(-1500.0, 1500.0, 555)
        r_true, _ = kepler_orbit(query, a, e)
        r_i = interpolation.lagrange_interpolate(nodes, r_n, query, degree=5)
        errors.append(np.max(np.abs(r_i - r_true)))
    # degree 5 (6 nodes): O(h^6) -> ratio 64 when h halves; allow 25 %
    assert errors[0] / errors[1] > 64 * 0.75


def test_nodes_reproduced_exactly_and_datetime64_axis() -> None:
    step = 60.0
    nodes = np.arange(0.0, 1200.0 + step, step)
    r_n, v_n, _ = circular_orbit(nodes)
    r_l = interpolation.lagrange_interpolate(nodes, r_n, nodes, degree=7)
    np.testing.assert_allclose(r_l, r_n, atol=1e-9)
    r_h, v_h = interpolation.hermite_interpolate(nodes, r_n, v_n, nodes, degree=5)
    np.testing.assert_allclose(r_h, r_n, atol=1e-9)
    np.testing.assert_allclose(v_h, v_n, atol=1e-12)
    epoch = np.datetime64("2030-05-01T00:00:00", "ns")
    t_nodes = epoch + (nodes * 1e9).astype("timedelta64[ns]")
    query_s = np.array([30.0, 601.5, 1199.0])
    t_query = epoch + (query_s * 1e9).astype("timedelta64[ns]")
    r_dt, v_dt = interpolation.interpolate_states(
        t_nodes, r_n, v_n, t_query, method="HERMITE", degree=5
    )
    r_fl, v_fl = interpolation.interpolate_states(nodes, r_n, v_n, query_s, method="hermite")
    np.testing.assert_allclose(r_dt, r_fl, atol=1e-12)
    np.testing.assert_allclose(v_dt, v_fl, atol=1e-15)


def test_input_validation() -> None:
    nodes = np.arange(0.0, 600.0, 60.0)
    r_n, v_n, _ = circular_orbit(nodes)
    with pytest.raises(ValueError, match="extrapolation"):
        interpolation.lagrange_interpolate(nodes, r_n, [700.0])
    with pytest.raises(ValueError, match="nodes needed"):
        interpolation.lagrange_interpolate(nodes, r_n, [100.0], degree=12)
    with pytest.raises(ValueError, match="odd"):
        interpolation.hermite_interpolate(nodes, r_n, v_n, [100.0], degree=4)
    with pytest.raises(ValueError, match="increasing"):
        interpolation.lagrange_interpolate(nodes[::-1], r_n, [100.0], degree=3)
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolation.interpolate_states(nodes, r_n, v_n, [100.0], method="spline")
