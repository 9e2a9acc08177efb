"""Three-dimensional Pc for encounters where the 2-D short-encounter assumptions fail.

Method: the collision-rate (flux) formulation of V. T. Coppola, "Including velocity
uncertainty in the probability of collision between space objects", AAS 12-247 (2012), which is
also the core of CARA's 3D-Nc (D. T. Hall, "Expected collision rates for tracked satellites",
J. Spacecraft Rockets 58(3), 2021; ``Pc3D_Hall.m`` in github.com/nasa/CARA_Analysis_Tools).

The expected number of entries of the secondary into the HBR sphere around the primary is

    Nc = int_t dt  R^2 int_{S^2} p_r(R u, t) E[(-u . v)^+ | r = R u, t] dOmega(u),

with ``(r, v)`` the relative state, Gaussian at each time with mean from two-body propagation
of both mean states and covariance ``Phi1 C1 Phi1^T + Phi2 C2 Phi2^T`` (two-body STMs), and the
inward speed's positive-part expectation taken under the conditional normal of ``v`` given ``r``.

Simplifications versus Hall's 3D-Nc, stated so nobody over-trusts it:

* mean states and STMs are Keplerian two-body (no drag/J2), covariances are propagated
  linearly (no sigma-point/equinoctial non-linear refinement);
* one encounter window; ``Nc`` counts expected entries, so it equals a probability only when
  at most one entry per encounter is plausible (true for all but the slowest encounters);
* the sphere integral uses a product rule (Gauss-Legendre in cos(theta) per hemisphere,
  trapezoid in phi) with the pole on the mean relative velocity, instead of Lebedev nodes;
  the time integral is adaptive (QUADPACK).

Assumptions: the two objects' errors are independent Gaussians at epoch; 6x6 position-velocity
covariances are required (as ``Pc3D_Hall`` demands: a 3x3 is refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, special

from astroshield.astro.conjunction.pc._twobody import MU_EARTH_KM3_S2, kepler_stm
from astroshield.astro.conjunction.pc.planar import DegenerateGeometryError
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    check_covariance,
)

F64 = NDArray[np.float64]

__all__ = ["Pc3DResult", "pc_3d"]


@dataclass(frozen=True)
class Pc3DResult:
    """Expected number of collisions ``value`` (~ Pc when small) over ``window`` (s from epoch).

    ``covariance_remediation`` holds the verdict on each object's 6x6 covariance (clipped at a
    zero floor as CARA does before propagating); a covariance that cannot be remediated raises
    :class:`~astroshield.astro.dynamics.covariance.NotRemediableCovarianceError` instead.
    """

    value: float
    window: tuple[float, float]
    abs_error_estimate: float
    covariance_repaired: bool
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


def _rotation_to(axis: F64) -> F64:
    """Orthonormal matrix whose third column is ``axis`` (unit)."""
    a = axis / np.linalg.norm(axis)
    trial = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(a, trial)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    return np.stack([e1, e2, a], axis=1)


def _full_cov(cov: ArrayLike, name: str, repair: bool) -> tuple[F64, CovarianceRemediation]:
    c = np.asarray(cov, dtype=np.float64)
    if c.shape != (6, 6):
        raise CovarianceError(
            f"{name}: the 3-D method needs a 6x6 position-velocity covariance "
            f"(got shape {c.shape}); CARA Pc3D_Hall raises badCovariance here too"
        )
    chk = check_covariance(c, repair=repair, floor=0.0, name=name)
    return chk.matrix, chk.remediation


@dataclass(frozen=True)
class _Encounter:
    """Both mean states and covariances at epoch, and the sphere rule: the collision rate."""

    x1r: F64
    x1v: F64
    c1: F64
    x2r: F64
    x2v: F64
    c2: F64
    hbr: float
    mu: float
    u_ref: F64
    w_sph: F64

    def rate(self, t: float) -> float:
        """Expected entries per second into the HBR sphere at ``t`` (s from epoch)."""
        ra, va, phi1 = kepler_stm(self.x1r, self.x1v, np.array([t]), self.mu)
        rb, vb, phi2 = kepler_stm(self.x2r, self.x2v, np.array([t]), self.mu)
        p = phi1[0] @ self.c1 @ phi1[0].T + phi2[0] @ self.c2 @ phi2[0].T
        p = 0.5 * (p + p.T)
        mr = ra[0] - rb[0]
        mv = va[0] - vb[0]
        prr, pvr, pvv = p[:3, :3], p[3:, :3], p[3:, 3:]
        prr_inv = np.linalg.inv(prr)
        det = float(np.linalg.det(prr))
        if det <= 0.0:
            raise CovarianceError("propagated relative position covariance is singular")
        gain = pvr @ prr_inv
        pv_cond = pvv - gain @ pvr.T
        vn = float(np.linalg.norm(mv))
        rot = _rotation_to(mv) if vn > 0.0 else np.eye(3)
        u = self.u_ref @ rot.T
        delta = self.hbr * u - mr
        maha = np.einsum("ij,jk,ik->i", delta, prr_inv, delta)
        dens = np.exp(-0.5 * maha) / math.sqrt((2.0 * math.pi) ** 3 * det)
        mean_v = mv + delta @ gain.T
        m = -np.einsum("ij,ij->i", u, mean_v)
        s2 = np.einsum("ij,jk,ik->i", u, pv_cond, u)
        # A vanishing velocity spread is the deterministic limit E[w+] = max(m, 0); the tiny
        # floor only avoids 0/0 and changes the result by < 1e-12 |v| absolute.
        s = np.sqrt(np.maximum(s2, 0.0)) + 1e-12 * max(vn, 1e-300)
        zz = m / s
        e_pos = m * special.ndtr(zz) + s * np.exp(-0.5 * zz * zz) / math.sqrt(2.0 * math.pi)
        return float(self.hbr * self.hbr * np.sum(self.w_sph * dens * e_pos))


def _default_window(
    dr: F64, dv: F64, speed_scale: float, c_pos: F64, hbr: float, n_sigma: float
) -> tuple[float, float]:
    """Linear TCA of the means +/- ``(n_sigma * sigma_max + HBR) / |v_rel|``; ``dr``, ``dv``
    the relative mean state, ``c_pos`` the combined position covariance, ``speed_scale`` the
    larger of the two speeds (a relative speed below 1e-12 of it counts as zero)."""
    speed = float(np.linalg.norm(dv))
    if speed <= 1e-12 * speed_scale:
        raise DegenerateGeometryError(
            "relative speed is (near) zero: pass an explicit window=(t_start, t_end)"
        )
    smax = math.sqrt(float(np.linalg.eigvalsh(c_pos)[-1]))
    t_lin = -float(dr @ dv) / speed**2
    half = (n_sigma * smax + hbr) / speed
    return (t_lin - half, t_lin + half)


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
    rel_tol: float = 1e-8,
    repair: bool = True,
) -> Pc3DResult:
    """Coppola/Hall 3-D expected collision count for two objects with 6x6 covariances.

    ``r*, v*`` inertial states at a common epoch near TCA, ``cov*`` 6x6 covariances in the same
    frame, ``hbr`` the combined hard-body radius. Units: km, km/s, s with the default ``mu``;
    for metres pass ``mu=3.986004418e14``. ``window=(t_start, t_end)`` in seconds from epoch;
    by default the linear TCA of the means +/- ``(n_sigma * sigma_max + HBR) / |v_rel|``
    (a zero relative speed then raises :class:`DegenerateGeometryError`; pass a window).
    """
    x1r = np.asarray(r1, dtype=np.float64).reshape(3)
    x1v = np.asarray(v1, dtype=np.float64).reshape(3)
    x2r = np.asarray(r2, dtype=np.float64).reshape(3)
    x2v = np.asarray(v2, dtype=np.float64).reshape(3)
    c1, rem1 = _full_cov(cov1, "cov1", repair)
    c2, rem2 = _full_cov(cov2, "cov2", repair)
    rep1, rep2 = rem1.remediated, rem2.remediated
    if hbr <= 0.0:
        return Pc3DResult(0.0, (0.0, 0.0), 0.0, rep1 or rep2, (rem1, rem2))
    dr = x1r - x2r
    dv = x1v - x2v
    speed = float(np.linalg.norm(dv))
    if window is None:
        scale = max(float(np.linalg.norm(x1v)), float(np.linalg.norm(x2v)))
        window = _default_window(dr, dv, scale, c1[:3, :3] + c2[:3, :3], hbr, n_sigma)
    t0, t1 = float(window[0]), float(window[1])
    if not t1 > t0:
        raise ValueError("window must have t_end > t_start")
    u_ref, w_sph = _sphere_rule(n_theta, n_phi)
    enc = _Encounter(x1r, x1v, c1, x2r, x2v, c2, hbr, mu, u_ref, w_sph)
    t_lin_c = min(max(-float(dr @ dv) / max(speed**2, 1e-300), t0), t1)
    pts = [t_lin_c] if t0 < t_lin_c < t1 else None
    val, err = integrate.quad(enc.rate, t0, t1, epsabs=0.0, epsrel=rel_tol, limit=200, points=pts)
    return Pc3DResult(float(val), (t0, t1), float(err), rep1 or rep2, (rem1, rem2))
