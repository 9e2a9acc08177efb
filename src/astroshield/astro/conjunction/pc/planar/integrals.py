"""The 2-D Pc integrals in the encounter plane: Foster (circle and square hard body) and Chan.

Foster: the inner (chord) integral exactly with erfc, as in Elrod's method and Hall's
``PcCircle.m``; the outer one adaptive (QUADPACK via scipy). Chan: the series of ch. 5 of
*Spacecraft Collision Probability* (2008), equal-area disk approximation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, special

from astroshield.astro.dynamics.covariance import CovarianceError

F64 = NDArray[np.float64]

DEFAULT_REL_TOL = 1e-10
SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _principal(miss: F64, cov: F64) -> tuple[float, float, float, float]:
    """Return ``(a, b, s1, s2)``: |miss| components on the major/minor axes and their sigmas."""
    w, q = np.linalg.eigh(cov)
    s1 = math.sqrt(max(float(w[1]), 0.0))
    s2 = math.sqrt(max(float(w[0]), 0.0))
    a = abs(float(q[:, 1] @ miss))
    b = abs(float(q[:, 0] @ miss))
    return a, b, s1, s2


def foster_circle(miss: F64, cov: F64, hbr: float, rel_tol: float) -> float:
    """Foster 2-D Pc over the hard-body disk of radius ``hbr`` (adaptive outer integral)."""
    a, b, s1, s2 = _principal(miss, cov)
    if s1 == 0.0 or s2 == 0.0:
        raise CovarianceError("projected covariance is singular; enable repair or fix input")
    k1 = 1.0 / (s1 * SQRT2)
    k2 = 1.0 / (s2 * SQRT2)

    def f(theta: float) -> float:
        c = hbr * math.cos(theta)
        u = a + hbr * math.sin(theta)
        chord = 0.5 * (float(special.erfc((b - c) * k2)) - float(special.erfc((b + c) * k2)))
        return INV_SQRT_2PI / s1 * math.exp(-((u * k1) ** 2)) * chord * c

    # Break points where the integrand changes fastest: outer Gaussian peak (u = 0) and the
    # chord edge crossing the minor-axis mean (c = b); they matter when sigma << HBR.
    pts = []
    if a < hbr:
        pts.append(-math.asin(a / hbr))
    if b < hbr:
        t = math.acos(b / hbr)
        pts.extend([-t, t])
    val, _err = integrate.quad(
        f,
        -0.5 * math.pi,
        0.5 * math.pi,
        epsabs=0.0,
        epsrel=rel_tol,
        limit=400,
        points=sorted(pts) or None,
    )
    return float(min(max(val, 0.0), 1.0))


def foster_square(miss: F64, cov: F64, half_width: float, rel_tol: float) -> float:
    """Foster 2-D Pc over a square hard body of half-width ``half_width``."""
    # Square sides along the plane axes (CARA: miss direction x and r x v direction z); the
    # z-integral given x is exact (conditional normal), the x-integral is adaptive.
    cxx, cxz, czz = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    if cxx <= 0.0:
        raise CovarianceError("projected covariance is singular; enable repair or fix input")
    sx = math.sqrt(cxx)
    slope = cxz / cxx
    cond = czz - cxz * cxz / cxx
    if cond <= 0.0:
        raise CovarianceError("projected covariance is singular; enable repair or fix input")
    ks = 1.0 / math.sqrt(2.0 * cond)
    x0, z0 = float(miss[0]), float(miss[1])

    def f(x: float) -> float:
        mu = slope * x
        lo = (z0 - half_width - mu) * ks
        hi = (z0 + half_width - mu) * ks
        # erfc of the side nearer the tail avoids cancellation for far misses.
        if lo >= 0.0:
            p = 0.5 * (float(special.erfc(lo)) - float(special.erfc(hi)))
        elif hi <= 0.0:
            p = 0.5 * (float(special.erfc(-hi)) - float(special.erfc(-lo)))
        else:
            p = 0.5 * (float(special.erf(hi)) - float(special.erf(lo)))
        return INV_SQRT_2PI / sx * math.exp(-0.5 * (x / sx) ** 2) * p

    pts = [0.0] if x0 - half_width < 0.0 < x0 + half_width else None
    val, _err = integrate.quad(
        f, x0 - half_width, x0 + half_width, epsabs=0.0, epsrel=rel_tol, limit=400, points=pts
    )
    return float(min(max(val, 0.0), 1.0))


def chan_recommended_terms(u: float, v: float) -> int:
    """Number of series terms Chan recommends (as coded in Orekit ``Chan1997.java``)."""
    if u <= 0.01 or v <= 1.0:
        return 3
    if u <= 1.0 or v <= 9.0:
        return 10
    if u <= 25.0 or v <= 25.0:
        return 20
    return 60


def chan(miss: F64, cov: F64, hbr: float, terms: int | None) -> float:
    """Chan's series with ``terms`` terms (None: Chan's recommendation)."""
    a, b, s1, s2 = _principal(miss, cov)
    if s1 == 0.0 or s2 == 0.0:
        raise CovarianceError("projected covariance is singular; enable repair or fix input")
    u = hbr * hbr / (s1 * s2)
    v = (a / s1) ** 2 + (b / s2) ** 2
    m_terms = chan_recommended_terms(u, v) if terms is None else int(terms)
    if m_terms < 1:
        raise ValueError("chan_terms must be >= 1")
    ev = math.exp(-0.5 * v)
    euv = math.exp(-0.5 * (u + v))
    t = 1.0
    s = 1.0
    ssum = 1.0
    value = ev * t - euv * t * ssum
    for m in range(1, m_terms):
        t *= 0.5 * v / m
        s *= 0.5 * u / m
        ssum += s
        value += ev * t - euv * t * ssum
    return float(min(max(value, 0.0), 1.0))
