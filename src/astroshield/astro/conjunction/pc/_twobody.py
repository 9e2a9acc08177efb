"""Vectorised two-body (Keplerian) propagation with universal variables.

Private to the Pc package so Monte Carlo and the 3-D method need no other module. Algorithm:
Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., Alg. 8 (KEPLER, universal
variable chi, Stumpff functions c2/c3), solved with Newton's method for all samples at once.
"""

from __future__ import annotations

import math

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
    # Vallado's start: sqrt(mu) dt alpha on closed orbits (good for long arcs too), the linear
    # estimate sqrt(mu) dt / r0 otherwise.
    chi = np.where(alpha > 0.0, sqmu * t * alpha, sqmu * t / rmag)
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


def kepler_step(
    r0: F64, v0: F64, dt: float | F64, mu: float = MU_EARTH_KM3_S2, chi0: F64 | None = None
) -> tuple[F64, F64, F64]:
    """Propagate many bound states ``(n, 3)`` by ``dt`` (scalar or ``(n,)``): the Monte Carlo
    inner loop.

    Same universal-variable solution as :func:`kepler_propagate`, without its branch masks:
    elliptic only (any unbound state falls back to it), Stumpff functions in half-angle form
    (no cancellation in ``1 - cos``), and ``chi0`` (the ``chi`` returned by the previous step
    of the same length) as the Newton start, which then converges in one to three
    iterations. Returns ``(r, v, chi)``.
    """
    rmag = np.sqrt(np.einsum("ij,ij->i", r0, r0))
    vmag2 = np.einsum("ij,ij->i", v0, v0)
    rdv = np.einsum("ij,ij->i", r0, v0)
    alpha = 2.0 / rmag - vmag2 / mu
    dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), rmag.shape)
    if rmag.size == 0:
        return r0.copy(), v0.copy(), np.zeros(0)
    if not np.all(alpha > 0.0):
        r, v = kepler_propagate(r0, v0, dt, mu)
        return r, v, np.sqrt(mu) * dt * alpha
    sqmu = math.sqrt(mu)
    chi = sqmu * dt * alpha if chi0 is None else chi0
    sig = rdv / sqmu
    for _ in range(30):
        c2, c3, z = _stumpff_elliptic(alpha, chi)
        chi2 = chi * chi
        rr = chi2 * c2 + sig * chi * (1.0 - z * c3) + rmag * (1.0 - z * c2)
        f = chi2 * chi * c3 + sig * chi2 * c2 + rmag * chi * (1.0 - z * c3) - sqmu * dt
        step = f / rr
        chi = chi - step
        if float(np.max(np.abs(step))) <= 1e-13 * max(1.0, float(np.max(np.abs(chi)))):
            break
    c2, c3, z = _stumpff_elliptic(alpha, chi)
    chi2 = chi * chi
    f_ = 1.0 - chi2 / rmag * c2
    g_ = dt - chi2 * chi / sqmu * c3
    r_new = f_[:, None] * r0 + g_[:, None] * v0
    rn = np.sqrt(np.einsum("ij,ij->i", r_new, r_new))
    fdot = sqmu / (rn * rmag) * chi * (z * c3 - 1.0)
    gdot = 1.0 - chi2 / rn * c2
    v_new = fdot[:, None] * r0 + gdot[:, None] * v0
    return r_new, v_new, chi


def _stumpff_elliptic(alpha: F64, chi: F64) -> tuple[F64, F64, F64]:
    """c2, c3 and z = alpha chi^2 for z >= 0; the tiny-z guard only avoids 0/0."""
    z = alpha * chi * chi
    x = np.sqrt(z)
    tiny = z < 1e-12
    zs = np.where(tiny, 1.0, z)
    xs = np.where(tiny, 1.0, x)
    c2 = np.where(tiny, 0.5, 2.0 * np.sin(0.5 * xs) ** 2 / zs)
    c3 = np.where(tiny, 1.0 / 6.0, (xs - np.sin(xs)) / (xs * zs))
    return c2, c3, z


def kepler_stm(r0: F64, v0: F64, dt: F64, mu: float = MU_EARTH_KM3_S2) -> tuple[F64, F64, F64]:
    """Mean states at ``dt`` (shape ``(n, 3)``) and 6x6 state-transition matrices ``(n, 6, 6)``
    of one initial state ``(r0, v0)`` (see :func:`kepler_stm_batch`)."""
    t = np.atleast_1d(np.asarray(dt, dtype=np.float64))
    n = t.size
    r0b = np.broadcast_to(np.asarray(r0, dtype=np.float64).reshape(1, 3), (n, 3))
    v0b = np.broadcast_to(np.asarray(v0, dtype=np.float64).reshape(1, 3), (n, 3))
    return kepler_stm_batch(r0b, v0b, t, mu)


def kepler_stm_batch(
    r0: F64, v0: F64, dt: F64, mu: float = MU_EARTH_KM3_S2
) -> tuple[F64, F64, F64]:
    """States at ``dt`` and 6x6 state-transition matrices ``d x(dt) / d x(0)`` of ``n`` states.

    ``r0, v0`` have shape ``(n, 3)``, ``dt`` shape ``(n,)``; returns ``(r (n, 3), v (n, 3),
    stm (n, 6, 6))``. The STM is a central finite difference of :func:`kepler_propagate`;
    steps are scaled to each state so relative accuracy is ~1e-8, ample for propagating
    covariances over seconds to hours.
    """
    r0 = np.asarray(r0, dtype=np.float64).reshape(-1, 3)
    v0 = np.asarray(v0, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(dt, dtype=np.float64).reshape(-1)
    x0 = np.concatenate([r0, v0], axis=1)  # (n, 6)
    step = np.concatenate(
        [
            np.repeat(1e-6 * np.linalg.norm(r0, axis=1, keepdims=True), 3, axis=1),
            np.repeat(1e-6 * np.linalg.norm(v0, axis=1, keepdims=True), 3, axis=1),
        ],
        axis=1,
    )  # (n, 6)
    eye = np.eye(6)
    pert = np.concatenate([eye, -eye])[None, :, :] * np.tile(step, (1, 2))[:, :, None]
    xs = np.concatenate([x0[:, None, :] + pert, x0[:, None, :]], axis=1)  # (n, 13, 6)
    rr, vv = kepler_propagate(xs[..., :3], xs[..., 3:], t[:, None], mu)  # (n, 13, 3)
    states = np.concatenate([rr, vv], axis=2)  # (n, 13, 6)
    diff = (states[:, :6, :] - states[:, 6:12, :]) / (2.0 * step)[:, :, None]  # (n, j, i)
    stm = np.transpose(diff, (0, 2, 1))  # d x_i / d x0_j
    return rr[:, 12, :], vv[:, 12, :], stm
