"""Three-dimensional Pc (expected collision count) for encounters where 2-D Pc assumptions fail.

Method: D. T. Hall, "Expected collision rates for tracked satellites", J. Spacecraft Rockets
58(3), 2021 (CARA's 3D-Nc, ``Pc3D_Hall.m`` in github.com/nasa/CARA_Analysis_Tools), built on the
collision-rate formulation of V. T. Coppola, "Including velocity uncertainty in the probability
of collision between space objects", AAS 12-247 (2012). The expected number of entries of the
secondary into the HBR sphere around the primary over a window is

    Nc = int_t Ncdot(t) dt,
    Ncdot(t) = R^2 int_{S^2} p_r(R u, t) E[(-u . v)^+ | r = R u, t] dOmega(u),

with ``(r, v)`` the relative state at ``t``, taken as Gaussian. A Monte Carlo counts a pair
that is already inside the HBR sphere at the window start as a hit although it makes no entry
in the window; so that the two answer the same question, the value returned is ``Nc`` plus
that probability (a ball integral at the window start; zero in practice unless the window cuts
a slow encounter, e.g. two objects drifting apart at cm/s).

What makes it right on nonlinear encounters (and what the former Coppola-style code here did
not do) is *where* the two-body motion is linearised. The former code propagated the mean
states and linearised the motion about them; on slow, long encounters (GEO co-location, LEO
formation flying, near-zero relative speed) the states that matter at ``t`` are those for
which the two objects are at the same place, often many sigmas away from the means, and the
curved (banana-shaped) distribution about the means is a poor Gaussian there. Following Hall's
``PeakOverlapPos``, for every time ``t`` the expansion centres are iterated:

1. with the current epoch expansion states ``s1, s2`` (initially the means), propagate them to
   ``t`` with two-body motion and STMs ``Phi1, Phi2``; each object's state at ``t`` is then
   ``N(x_j(t; s_j) + Phi_j (m_j - s_j), Phi_j C_j Phi_j^T)``;
2. the peak overlap position ``r*`` of the two position densities (the maximiser of their
   product) and the conditional velocities ``v_j* = E[v_j | r_j = r*]`` give new expansion
   states ``(r*, v_j*)`` at ``t``, propagated back to the epoch;
3. repeat until ``r*`` moves by less than ``1e-10`` (Mahalanobis, squared).

``Ncdot`` is then evaluated from the relative mean and covariance of those linearisations.
Our epoch uncertainty is Gaussian in Cartesian position-velocity (CARA takes it Gaussian in
equinoctial elements); it matches what :func:`~.monte_carlo.pc_monte_carlo` samples.

Time integration: ``Ncdot`` is scanned on a grid over the window, the window is cut to where
``Ncdot`` exceeds ``1e-14`` of its peak, and composite Gauss-Legendre panels are doubled until
two successive estimates agree to ``rel_tol`` (all times of a pass evaluated at once). Default
window: the times where the linear relative motion keeps the relative-position Mahalanobis
distance (covariance grown with the velocity uncertainty, HBR added) below ``n_sigma``,
clipped to +/- half the shorter orbital period as CARA does.

Limits, stated so nobody over-trusts it:

* two-body (Keplerian) mean motion and STMs (no drag, no J2); the covariances are mapped
  linearly about the expansion states, so an epoch covariance so large that the motion is
  nonlinear *across the HBR-conditioned set* is still outside its reach (use Monte Carlo);
* ``Nc`` counts expected entries: it equals a probability only when at most one entry per
  encounter is plausible, i.e. for one approach within the window (true for all but the
  slowest encounters; cut the window at the separation maxima around TCA otherwise);
* the sphere integral is a product rule (Gauss-Legendre in cos(theta) per hemisphere,
  trapezoid in phi, pole on the mean relative velocity) instead of Lebedev nodes.

Assumptions: the two objects' errors are independent Gaussians at epoch; 6x6 position-velocity
covariances are required (as ``Pc3D_Hall`` demands: a 3x3 is refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from astroshield.astro.conjunction.pc._twobody import (
    MU_EARTH_KM3_S2,
    kepler_propagate,
    kepler_stm_batch,
)
from astroshield.astro.conjunction.pc.planar import DegenerateGeometryError
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    check_covariance,
)

F64 = NDArray[np.float64]

__all__ = ["Pc3DResult", "pc_3d"]

_POP_TOL = 1e-10
_SCAN_POINTS = 65
_CUT = 1e-14
_MAX_LEVELS = 30
_MAX_ZOOM = 12
_NEGLIGIBLE = 1e-6
_GL8 = np.polynomial.legendre.leggauss(8)


@dataclass(frozen=True)
class Pc3DResult:
    """Expected number of collisions ``value`` (~ Pc when small) over ``window`` (s from epoch).

    ``covariance_remediation`` holds the verdict on each object's 6x6 covariance (clipped at a
    zero floor as CARA does before propagating); a covariance that cannot be remediated raises
    :class:`~astroshield.astro.dynamics.covariance.NotRemediableCovarianceError` instead.
    ``converged`` is false when the peak-overlap iteration or the time quadrature did not meet
    its tolerance (the value is then the last estimate). ``inside_at_start`` is the part of
    ``value`` that is the probability of already being inside the HBR sphere at the window
    start (negligible unless the window cuts a slow encounter).
    """

    value: float
    window: tuple[float, float]
    abs_error_estimate: float
    covariance_repaired: bool
    converged: bool = True
    inside_at_start: float = 0.0
    covariance_remediation: tuple[CovarianceRemediation, ...] = ()


@lru_cache(maxsize=8)
def _sphere_rule(n_theta: int, n_phi: int) -> tuple[F64, F64]:
    # Pole on +z; each hemisphere gets its own Gauss-Legendre rule in cos(theta) so the kink of
    # (-u.v)^+ at the equator (when velocity is nearly certain) sits on a panel boundary.
    x, w = np.polynomial.legendre.leggauss(n_theta)
    ct = np.concatenate([0.5 * (x + 1.0), 0.5 * (x - 1.0)])
    wt = np.concatenate([0.5 * w, 0.5 * w])
    phi = 2.0 * math.pi * np.arange(n_phi) / n_phi
    st = np.sqrt(1.0 - ct * ct)
    u = np.stack(
        [
            (st[:, None] * np.cos(phi)[None, :]).ravel(),
            (st[:, None] * np.sin(phi)[None, :]).ravel(),
            np.repeat(ct, n_phi),
        ],
        axis=1,
    )
    weights = np.repeat(wt, n_phi) * (2.0 * math.pi / n_phi)
    return u, weights


def _rotations_to(axes: F64) -> F64:
    """Orthonormal matrices ``(n, 3, 3)`` whose third column is each row of ``axes``."""
    norm = np.linalg.norm(axes, axis=1, keepdims=True)
    a = np.where(norm > 0.0, axes / np.where(norm > 0.0, norm, 1.0), np.array([0.0, 0.0, 1.0]))
    trial = np.where(np.abs(a[:, :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    e1 = np.cross(a, trial)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(a, e1)
    return np.stack([e1, e2, a], axis=2)


def _full_cov(cov: ArrayLike, name: str, repair: bool) -> tuple[F64, CovarianceRemediation]:
    c = np.asarray(cov, dtype=np.float64)
    if c.shape != (6, 6):
        raise CovarianceError(
            f"{name}: the 3-D method needs a 6x6 position-velocity covariance "
            f"(got shape {c.shape}); CARA Pc3D_Hall raises badCovariance here too"
        )
    chk = check_covariance(c, repair=repair, floor=0.0, name=name)
    return chk.matrix, chk.remediation


def _clipped_inverse(a: F64, floor: float) -> tuple[F64, F64]:
    """Inverse and determinant of symmetric ``(n, 3, 3)`` matrices, eigenvalues clipped below
    at ``floor`` (CARA's ``CovRemEigValClip``: keeps a degenerate direction finite)."""
    w, q = np.linalg.eigh(0.5 * (a + np.swapaxes(a, 1, 2)))
    w = np.maximum(w, floor)
    inv: F64 = np.einsum("nij,nj,nkj->nik", q, 1.0 / w, q)
    det: F64 = np.prod(w, axis=1)
    return inv, det


def _bound(x: F64, mu: float) -> NDArray[np.bool_]:
    """Rows of ``x (n, 6)`` that are finite states on closed orbits."""
    r = np.linalg.norm(x[:, :3], axis=1)
    energy = 0.5 * np.sum(x[:, 3:] ** 2, axis=1) - mu / np.where(r > 0.0, r, np.inf)
    out: NDArray[np.bool_] = np.all(np.isfinite(x), axis=1) & (energy < 0.0)
    return out


@dataclass(frozen=True)
class _Linearised:
    """Relative mean state ``x1 - x2`` and covariance at each time, and POP convergence."""

    mean_r: F64
    mean_v: F64
    cov: F64
    converged: NDArray[np.bool_]


@dataclass(frozen=True)
class _Encounter:
    """Both mean states and covariances at epoch: everything the collision rate needs."""

    m1: F64
    c1: F64
    m2: F64
    c2: F64
    hbr: float
    mu: float
    max_iter: int

    def _object_at(self, s0: F64, m: F64, c: F64, t: F64) -> tuple[F64, F64, F64]:
        """Linearisation about epoch expansion states ``s0 (n, 6)``: state at ``t`` of the
        expansion, mean ``x(t; s0) + Phi (m - s0)`` and covariance ``Phi C Phi^T``."""
        r, v, phi = kepler_stm_batch(s0[:, :3], s0[:, 3:], t, self.mu)
        xs = np.concatenate([r, v], axis=1)
        mean = xs + np.einsum("nij,nj->ni", phi, m[None, :] - s0)
        cov = np.einsum("nij,jk,nlk->nil", phi, c, phi)
        return xs, mean, 0.5 * (cov + np.swapaxes(cov, 1, 2))

    def linearise(self, t: F64) -> _Linearised:
        """Hall's peak-overlap-position iteration at every time of ``t`` at once."""
        n = t.size
        s1 = np.broadcast_to(self.m1, (n, 6)).copy()
        s2 = np.broadcast_to(self.m2, (n, 6)).copy()
        floor = (1e-4 * self.hbr) ** 2
        prev = np.full((n, 3), np.nan)
        converged = np.zeros(n, dtype=bool)
        for _ in range(self.max_iter):
            _, mean1, p1 = self._object_at(s1, self.m1, self.c1, t)
            _, mean2, p2 = self._object_at(s2, self.m2, self.c2, t)
            a1inv, _ = _clipped_inverse(p1[:, :3, :3], floor)
            a2inv, _ = _clipped_inverse(p2[:, :3, :3], floor)
            sig_p = np.linalg.inv(a1inv + a2inv)
            rhs = np.einsum("nij,nj->ni", a1inv, mean1[:, :3])
            rhs += np.einsum("nij,nj->ni", a2inv, mean2[:, :3])
            pop = np.einsum("nij,nj->ni", sig_p, rhs)
            # Convergence in the Mahalanobis metric of the overlap density widened by the HBR.
            metric = np.linalg.inv(sig_p + self.hbr**2 * np.eye(3))
            dp = pop - prev
            moved = np.einsum("ni,nij,nj->n", dp, metric, dp)
            converged = moved <= _POP_TOL
            if np.all(converged):
                break
            prev = pop
            states = []
            for mean, p, ainv in ((mean1, p1, a1inv), (mean2, p2, a2inv)):
                gain = np.einsum("nij,njk->nik", p[:, 3:, :3], ainv)
                vel = mean[:, 3:] + np.einsum("nij,nj->ni", gain, pop - mean[:, :3])
                back_r, back_v = kepler_propagate(pop, vel, -t, self.mu)
                states.append(np.concatenate([back_r, back_v], axis=1))
            # An expansion state that is unbound or not finite is not followed (Hall marks the
            # POP unconverged there too); that time keeps its previous linearisation.
            good = _bound(states[0], self.mu) & _bound(states[1], self.mu)
            s1 = np.where(good[:, None], states[0], s1)
            s2 = np.where(good[:, None], states[1], s2)
        _, mean1, p1 = self._object_at(s1, self.m1, self.c1, t)
        _, mean2, p2 = self._object_at(s2, self.m2, self.c2, t)
        rel = mean1 - mean2
        return _Linearised(rel[:, :3], rel[:, 3:], p1 + p2, converged)

    def rates(self, t: F64, u_ref: F64, w_sph: F64) -> tuple[F64, NDArray[np.bool_]]:
        """Expected entries per second into the HBR sphere at each ``t`` (s from epoch), and
        whether the peak-overlap iteration converged there."""
        lin = self.linearise(np.asarray(t, dtype=np.float64).reshape(-1))
        prr = lin.cov[:, :3, :3]
        pvr = lin.cov[:, 3:, :3]
        pvv = lin.cov[:, 3:, 3:]
        prr_inv, det = _clipped_inverse(prr, (1e-4 * self.hbr) ** 2)
        gain = np.einsum("nij,njk->nik", pvr, prr_inv)
        pv_cond = pvv - np.einsum("nij,nkj->nik", gain, pvr)
        u = u_ref[None, :, :] @ np.swapaxes(_rotations_to(lin.mean_v), 1, 2)  # (n, q, 3)
        delta = self.hbr * u - lin.mean_r[:, None, :]
        maha = np.sum((delta @ prr_inv) * delta, axis=2)
        dens = np.exp(-0.5 * maha) / np.sqrt((2.0 * math.pi) ** 3 * det)[:, None]
        mean_v = lin.mean_v[:, None, :] + delta @ np.swapaxes(gain, 1, 2)
        m = -np.sum(u * mean_v, axis=2)
        s2 = np.sum((u @ pv_cond) * u, axis=2)
        vn = np.linalg.norm(lin.mean_v, axis=1)[:, None]
        # A vanishing velocity spread is the deterministic limit E[w+] = max(m, 0); the tiny
        # floor only avoids 0/0 and changes the result by < 1e-12 |v| absolute.
        s = np.sqrt(np.maximum(s2, 0.0)) + 1e-12 * np.maximum(vn, 1e-300)
        zz = m / s
        e_pos = m * special.ndtr(zz) + s * np.exp(-0.5 * zz * zz) / math.sqrt(2.0 * math.pi)
        out: F64 = self.hbr * self.hbr * np.einsum("q,nq->n", w_sph, dens * e_pos)
        return out, lin.converged

    def log_overlap(self, t: F64) -> F64:
        """Log of the relative-position density at the origin (the small-HBR ``Ncdot`` up to
        a speed factor): smooth and finite where ``Ncdot`` underflows, so it finds the peak."""
        lin = self.linearise(t)
        a_inv, det = _clipped_inverse(lin.cov[:, :3, :3], (1e-4 * self.hbr) ** 2)
        maha = np.einsum("ni,nij,nj->n", lin.mean_r, a_inv, lin.mean_r)
        out: F64 = -0.5 * maha - 0.5 * np.log(det)
        return out

    def inside(self, t: float, u_ref: F64, w_sph: F64) -> float:
        """Probability that the secondary is inside the HBR sphere at ``t`` (ball integral of
        the relative-position density linearised about the peak-overlap states)."""
        lin = self.linearise(np.array([t]))
        a_inv, det = _clipped_inverse(lin.cov[:, :3, :3], (1e-4 * self.hbr) ** 2)
        x, w = _GL8
        rho = 0.5 * self.hbr * (x + 1.0)
        pts = rho[:, None, None] * u_ref[None, :, :] - lin.mean_r[0]
        maha = np.sum((pts @ a_inv[0]) * pts, axis=2)
        dens = np.exp(-0.5 * maha) / math.sqrt((2.0 * math.pi) ** 3 * float(det[0]))
        weights = (0.5 * self.hbr * w * rho * rho)[:, None] * w_sph[None, :]
        return float(np.sum(weights * dens))


def _half_period(x: F64, mu: float) -> float:
    r = float(np.linalg.norm(x[:3]))
    inv_a = 2.0 / r - float(x[3:] @ x[3:]) / mu
    return math.pi * math.sqrt(1.0 / (mu * inv_a**3)) if inv_a > 0.0 else math.inf


def _default_window(
    m1: F64, c1: F64, m2: F64, c2: F64, hbr: float, n_sigma: float, mu: float
) -> tuple[float, float]:
    """Times where the linear relative motion keeps the Mahalanobis distance of the origin
    (relative-position covariance grown by the velocity uncertainty, plus HBR^2 I) below
    ``n_sigma``, clipped to +/- half the shorter orbital period."""
    dr = m1[:3] - m2[:3]
    dv = m1[3:] - m2[3:]
    c = c1 + c2
    speed_scale = max(float(np.linalg.norm(m1[3:])), float(np.linalg.norm(m2[3:])))
    v_sigma = math.sqrt(max(float(np.linalg.eigvalsh(c[3:, 3:])[-1]), 0.0))
    if float(np.linalg.norm(dv)) <= 1e-12 * speed_scale and v_sigma <= 1e-12 * speed_scale:
        raise DegenerateGeometryError(
            "relative speed is (near) zero and certain: pass an explicit window=(t_start, t_end)"
        )
    limit = min(_half_period(m1, mu), _half_period(m2, mu))
    if not math.isfinite(limit):
        limit = 86400.0
    tau = np.concatenate([-np.geomspace(limit, 1e-3, 400), [0.0], np.geomspace(1e-3, limit, 400)])
    pos = dr[None, :] + tau[:, None] * dv[None, :]
    cross = c[:3, 3:] + c[3:, :3]
    cov = c[:3, :3] + tau[:, None, None] * cross + (tau**2)[:, None, None] * c[3:, 3:]
    cov = cov + hbr**2 * np.eye(3)
    maha = np.einsum("ni,nij,nj->n", pos, np.linalg.inv(cov), pos)
    inside = np.flatnonzero(maha <= n_sigma**2)
    if inside.size == 0:
        k = int(np.argmin(maha))
        inside = np.array([k])
    lo = tau[max(int(inside[0]) - 1, 0)]
    hi = tau[min(int(inside[-1]) + 1, tau.size - 1)]
    return float(lo), float(hi)


def _gauss_panels(enc: _Encounter, lo: F64, hi: F64, rule: tuple[F64, F64]) -> tuple[F64, float]:
    """8-point Gauss-Legendre integral of Ncdot over each panel ``[lo_i, hi_i]``, and the
    largest rate at a node where the peak-overlap iteration did not converge."""
    x, w = _GL8
    half = 0.5 * (hi - lo)
    nodes = (0.5 * (lo + hi))[:, None] + half[:, None] * x[None, :]
    vals, conv = enc.rates(nodes.ravel(), *rule)
    out: F64 = np.sum(vals.reshape(lo.size, -1) * w[None, :], axis=1) * half
    return out, _unconverged(vals, conv)


def _unconverged(vals: F64, conv: NDArray[np.bool_]) -> float:
    return float(np.max(vals[~conv])) if np.any(~conv) else 0.0


def _peak_grid(enc: _Encounter, t0: float, t1: float) -> F64:
    """Grid around the peak of the collision rate, zoomed until it resolves it.

    A fast encounter inside a long window is a spike seconds wide that a coarse scan of
    ``Ncdot`` steps over (and ``Ncdot`` underflows to 0 away from it), so the scan zooms on the
    maximum of the smooth log-density surrogate until the surrogate changes by less than two
    nats between grid neighbours of the peak.
    """
    lo, hi = t0, t1
    grid = np.linspace(lo, hi, _SCAN_POINTS)
    for _ in range(_MAX_ZOOM):
        logd = enc.log_overlap(grid)
        k = int(np.argmax(logd))
        near = logd[max(k - 1, 0) : k + 2]
        if float(np.max(logd[k] - near)) <= 2.0:
            break
        lo, hi = float(grid[max(k - 2, 0)]), float(grid[min(k + 2, grid.size - 1)])
        grid = np.linspace(lo, hi, _SCAN_POINTS)
    return grid


def _integrate(
    enc: _Encounter, t0: float, t1: float, rule: tuple[F64, F64], rel_tol: float
) -> tuple[float, float, bool]:
    """Scan Ncdot, cut the window to its support, then adaptive bisection of Gauss panels.

    Every interval of the coarse scan grid and of the zoomed peak grid inside the support
    starts as a panel (so the peak is seen however narrow); a panel is split until its two
    halves agree with it to its share (by width) of ``rel_tol`` times the running total. All
    panels of one level are evaluated at once.
    """
    coarse_grid = np.linspace(t0, t1, _SCAN_POINTS)
    grid = np.union1d(coarse_grid, _peak_grid(enc, t0, t1))
    scan, conv = enc.rates(grid, *rule)
    peak = float(np.max(scan))
    # Hall's rule: an unconverged peak-overlap point only matters where Ncdot is not tiny.
    bad = _unconverged(scan, conv)
    if not peak > 0.0:
        return 0.0, 0.0, bool(np.all(conv))
    keep = np.flatnonzero(scan >= _CUT * peak)
    first, last = max(int(keep[0]) - 1, 0), min(int(keep[-1]) + 1, grid.size - 1)
    lo, hi = grid[first:last], grid[first + 1 : last + 1]
    span = float(hi[-1] - lo[0])
    coarse, bad_c = _gauss_panels(enc, lo, hi, rule)
    bad = max(bad, bad_c)
    done = 0.0
    err = 0.0
    for _ in range(_MAX_LEVELS):
        mid = 0.5 * (lo + hi)
        pair, bad_f = _gauss_panels(enc, np.concatenate([lo, mid]), np.concatenate([mid, hi]), rule)
        bad = max(bad, bad_f)
        fine = pair[: lo.size] + pair[lo.size :]
        total = done + float(np.sum(fine))
        diff = np.abs(fine - coarse)
        accept = diff <= rel_tol * abs(total) * (hi - lo) / span + 1e-300
        done += float(np.sum(fine[accept]))
        err += float(np.sum(diff[accept]))
        if np.all(accept):
            return done, err, bad <= _NEGLIGIBLE * peak
        keep_lo, keep_mid, keep_hi = lo[~accept], mid[~accept], hi[~accept]
        lo = np.concatenate([keep_lo, keep_mid])
        hi = np.concatenate([keep_mid, keep_hi])
        coarse = np.concatenate([pair[: accept.size][~accept], pair[accept.size :][~accept]])
    return done + float(np.sum(coarse)), math.inf, False


def pc_3d(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    *,
    mu: float = MU_EARTH_KM3_S2,
    window: tuple[float, float] | None = None,
    n_sigma: float = 8.0,
    n_theta: int = 8,
    n_phi: int = 16,
    rel_tol: float = 1e-5,
    max_iter: int = 50,
    repair: bool = True,
) -> Pc3DResult:
    """Hall (2021) 3-D expected collision count for two objects with 6x6 covariances.

    ``r*, v*`` inertial states at a common epoch near TCA, ``cov*`` 6x6 covariances in the same
    frame, ``hbr`` the combined hard-body radius. Units: km, km/s, s with the default ``mu``;
    for metres pass ``mu=3.986004418e14``. ``window=(t_start, t_end)`` in seconds from epoch;
    by default the times where the relative-position Mahalanobis distance under linear motion
    stays below ``n_sigma`` (a zero and certain relative velocity then raises
    :class:`DegenerateGeometryError`; pass a window). ``max_iter`` bounds the peak-overlap
    iteration, ``rel_tol`` the time quadrature.
    """
    m1 = np.concatenate([np.asarray(r1, float).reshape(3), np.asarray(v1, float).reshape(3)])
    m2 = np.concatenate([np.asarray(r2, float).reshape(3), np.asarray(v2, float).reshape(3)])
    c1, rem1 = _full_cov(cov1, "cov1", repair)
    c2, rem2 = _full_cov(cov2, "cov2", repair)
    repaired = rem1.remediated or rem2.remediated
    if hbr <= 0.0:
        return Pc3DResult(0.0, (0.0, 0.0), 0.0, repaired, covariance_remediation=(rem1, rem2))
    if window is None:
        window = _default_window(m1, c1, m2, c2, hbr, n_sigma, mu)
    t0, t1 = float(window[0]), float(window[1])
    if not t1 > t0:
        raise ValueError("window must have t_end > t_start")
    enc = _Encounter(m1, c1, m2, c2, hbr, mu, max_iter)
    rule = _sphere_rule(n_theta, n_phi)
    val, err, ok = _integrate(enc, t0, t1, rule, rel_tol)
    start = enc.inside(t0, *rule)
    return Pc3DResult(
        start + val, (t0, t1), err, repaired, ok, start, covariance_remediation=(rem1, rem2)
    )
