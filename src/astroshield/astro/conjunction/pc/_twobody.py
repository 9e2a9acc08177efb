"""Vectorised two-body (Keplerian) propagation with universal variables.

Private to the Pc package so Monte Carlo and the 3-D method need no other module. Algorithm:
Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., Alg. 8 (KEPLER, universal
variable chi, Stumpff functions c2/c3), solved with Newton's method for all samples at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

MU_EARTH_KM3_S2 = 398600.4418
"""Earth's GM (EGM-96/WGS-84 value) in km^3/s^2; pass ``mu`` in m^3/s^2 for metre-based states."""


def _stumpff(z: F64) -> tuple[F64, F64]:
    """Stumpff functions c2(z), c3(z), with a series near z = 0 where the closed forms cancel."""
    c2 = np.empty_like(z)
    c3 = np.empty_like(z)
    small = np.abs(z) < 1e-4
    pos = (z >= 1e-4) & ~small
    neg = (z <= -1e-4) & ~small
    zs = z[small]
    c2[small] = 0.5 - zs / 24.0 + zs * zs / 720.0
    c3[small] = 1.0 / 6.0 - zs / 120.0 + zs * zs / 5040.0
    zp = z[pos]
    sp = np.sqrt(zp)
    c2[pos] = (1.0 - np.cos(sp)) / zp
    c3[pos] = (sp - np.sin(sp)) / (sp * zp)
    zn = z[neg]
    sn = np.sqrt(-zn)
    c2[neg] = (1.0 - np.cosh(sn)) / zn
    c3[neg] = (np.sinh(sn) - sn) / (sn * sn * sn)
    return c2, c3


def kepler_propagate(
    r0: F64, v0: F64, dt: F64, mu: float = MU_EARTH_KM3_S2, *, max_iter: int = 30
) -> tuple[F64, F64]:
    """Propagate states ``(r0, v0)`` (shape ``(..., 3)``) by ``dt`` (broadcast to ``r0[..., 0]``).

    Units: any consistent set with ``mu`` (default km, km/s, s). Returns ``(r, v)``.
    """
    r0 = np.asarray(r0, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    shape = np.broadcast_shapes(r0.shape[:-1], v0.shape[:-1], np.shape(dt))
    r0b = np.broadcast_to(r0, (*shape, 3)).reshape(-1, 3)
    v0b = np.broadcast_to(v0, (*shape, 3)).reshape(-1, 3)
    t = np.broadcast_to(np.asarray(dt, dtype=np.float64), shape).reshape(-1)

    sqmu = np.sqrt(mu)
    rmag = np.linalg.norm(r0b, axis=1)
    vmag2 = np.einsum("ij,ij->i", v0b, v0b)
    rdv = np.einsum("ij,ij->i", r0b, v0b)
    alpha = 2.0 / rmag - vmag2 / mu
    # Short arcs (the Pc use case) start well from the linear estimate chi ~ sqrt(mu) dt / r0.
    chi = sqmu * t / rmag
    for _ in range(max_iter):
        z = alpha * chi * chi
        c2, c3 = _stumpff(z)
        chi2 = chi * chi
        r = chi2 * c2 + rdv / sqmu * chi * (1.0 - z * c3) + rmag * (1.0 - z * c2)
        f = chi2 * chi * c3 + rdv / sqmu * chi2 * c2 + rmag * chi * (1.0 - z * c3) - sqmu * t
        step = f / r
        chi = chi - step
        if np.all(np.abs(step) <= 1e-13 * np.maximum(1.0, np.abs(chi))):
            break
    z = alpha * chi * chi
    c2, c3 = _stumpff(z)
    chi2 = chi * chi
    f_ = 1.0 - chi2 / rmag * c2
    g_ = t - chi2 * chi / sqmu * c3
    r_new = f_[:, None] * r0b + g_[:, None] * v0b
    rn = np.linalg.norm(r_new, axis=1)
    fdot = sqmu / (rn * rmag) * chi * (z * c3 - 1.0)
    gdot = 1.0 - chi2 / rn * c2
    v_new = fdot[:, None] * r0b + gdot[:, None] * v0b
    return r_new.reshape(*shape, 3), v_new.reshape(*shape, 3)


def kepler_stm(r0: F64, v0: F64, dt: F64, mu: float = MU_EARTH_KM3_S2) -> tuple[F64, F64, F64]:
    """Mean states at ``dt`` (shape ``(n, 3)``) and 6x6 state-transition matrices ``(n, 6, 6)``.

    The STM is a central finite difference of :func:`kepler_propagate`; steps are scaled to the
    state so relative accuracy is ~1e-8, ample for propagating covariances over seconds-minutes.
    """
    r0 = np.asarray(r0, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    t = np.atleast_1d(np.asarray(dt, dtype=np.float64))
    n = t.size
    x0 = np.concatenate([r0, v0])
    h = np.concatenate(
        [np.full(3, 1e-6 * np.linalg.norm(r0)), np.full(3, 1e-6 * np.linalg.norm(v0))]
    )
    pert = np.concatenate([np.diag(h), -np.diag(h)])  # (12, 6)
    xs = x0[None, :] + pert  # (12, 6)
    rr, vv = kepler_propagate(xs[None, :, :3], xs[None, :, 3:], t[:, None], mu)  # (n, 12, 3)
    states = np.concatenate([rr, vv], axis=2)  # (n, 12, 6)
    diff = (states[:, :6, :] - states[:, 6:, :]) / (2.0 * h)[None, :, None]  # (n, j, i)
    stm = np.transpose(diff, (0, 2, 1))  # d x_i / d x0_j
    rm, vm = kepler_propagate(r0[None, :], v0[None, :], t, mu)
    return rm.reshape(n, 3), vm.reshape(n, 3), stm
