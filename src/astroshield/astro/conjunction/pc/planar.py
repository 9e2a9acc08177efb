"""Two-dimensional (short-encounter) probability of collision.

Methods and sources
-------------------
* ``"foster"``: J. L. Foster & H. S. Estes, *A Parametric Analysis of Orbital Debris Collision
  Probability and Maneuver Rate for Space Vehicles*, NASA JSC-25898 (1992), as implemented by
  NASA CARA in ``Pc2D_Foster.m`` (github.com/nasa/CARA_Analysis_Tools). The 2-D Gaussian is
  integrated over the hard-body disk in the encounter plane. The inner (chord) integral is done
  exactly with erfc, as in Elrod's method and Hall's ``PcCircle.m``; the outer one is adaptive
  (QUADPACK via scipy) with relative tolerance ``rel_tol`` (default 1e-10). Also the CARA
  ``"square"`` and ``"square_equal_area"`` hard-body shapes.
* ``"chan"``: F. K. Chan, *Spacecraft Collision Probability*, Aerospace Press (2008), ch. 5
  (the series first given at ISCOPS 1997), equal-area disk approximation; the default number
  of terms follows Chan's recommendation as coded in Orekit ``Chan1997.java``.
* Vectorised 2-D Pc (:func:`pc_encounter_plane_batch`): the same erfc chord integral with a
  fixed-order Gauss-Legendre rule in the angle ``theta`` (``x = x0 + R sin(theta)``), which
  removes the square-root endpoint singularity of the chord length. This is the idea of Hall's
  Gauss-Chebyshev ``PcCircle`` (D. T. Hall, "Implementation recommendations and usage
  boundaries for the two-dimensional probability of collision calculation", AAS 19-632).
* :func:`pc_max`: S. Alfano, "Relating position uncertainty to maximum conjunction
  probability", J. Astronaut. Sci. 53(2), 2005 - maximum over a scale ``k^2`` of the combined
  covariance.

Conventions (CARA): relative state ``r = r1 - r2``, ``v = v1 - v2``; encounter frame
``y = v/|v|``, ``z = (r x v)/|r x v|``, ``x = y x z``; combined covariance ``C1 + C2`` projected
onto ``(x, z)``. With ``miss_convention="cara"`` the full 3-D ``|r|`` is put on the x axis (as
CARA does); ``"projected"`` uses the in-plane component. At TCA the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

from astroshield.astro.dynamics.covariance import CovarianceError, check_covariance, check_symmetric

F64 = NDArray[np.float64]
Method = Literal["foster", "chan"]
HbrType = Literal["circle", "square", "square_equal_area"]
MissConvention = Literal["cara", "projected"]

# CARA clips projected-covariance eigenvalues at (Fclip * HBR)^2 with Fclip = 1e-4 (PcCircle.m).
CARA_FCLIP = 1e-4
DEFAULT_REL_TOL = 1e-10
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class DegenerateGeometryError(ValueError):
    """Encounter geometry for which the 2-D encounter plane is undefined (|v_rel| ~ 0)."""


@dataclass(frozen=True)
class EncounterPlane:
    """Projection of a conjunction onto the CARA encounter plane.

    ``basis`` rows are the inertial unit vectors ``x`` and ``z`` of the plane, ``y_axis`` is the
    relative-velocity direction. ``miss`` and ``covariance`` are in the plane's (x, z) axes.
    """

    miss: F64
    covariance: F64
    basis: F64
    y_axis: F64
    relative_speed: float
    covariance_repaired: bool


@dataclass(frozen=True)
class PcResult:
    """A 2-D Pc with the data needed to audit it."""

    value: float
    method: str
    hbr_type: str
    covariance_repaired: bool
    miss: F64
    covariance: F64
    relative_speed: float | None = None


@dataclass(frozen=True)
class PcMaxResult:
    """Alfano maximum Pc: ``pc`` reached when the combined covariance is scaled by ``k_squared``.

    ``bounded`` is True when there is no interior maximum: the miss point is inside the
    hard-body disk (Pc -> 1 as k -> 0, reported as ``pc=1``, ``k_squared=0``) or the optimum sits
    at the edge of the search interval.
    """

    pc: float
    k_squared: float
    pc_unscaled: float
    bounded: bool

    @property
    def k(self) -> float:
        """Scale factor on standard deviations (``sqrt(k_squared)``)."""
        return math.sqrt(self.k_squared)


def _vec3(a: ArrayLike, name: str) -> F64:
    out = np.asarray(a, dtype=np.float64).reshape(-1)
    if out.shape != (3,) or not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be a finite 3-vector")
    return out


def _position_block(cov: ArrayLike, name: str) -> F64:
    c = np.asarray(cov, dtype=np.float64)
    if c.shape not in ((3, 3), (6, 6)):
        raise CovarianceError(f"{name} must be 3x3 (position) or 6x6 (position-velocity)")
    # Symmetry is checked on the full matrix so a bad 6x6 is not silently accepted.
    sym = check_symmetric(c, name=name)
    return sym[:3, :3]


def _perpendicular(u: F64) -> F64:
    # Any unit vector normal to u; used when r is parallel to v (or zero), where CARA's z axis
    # (r x v)/|r x v| is undefined but the miss in the plane is simply zero.
    trial = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    p = np.cross(u, trial)
    out: F64 = p / np.linalg.norm(p)
    return out


def encounter_plane(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float = 0.0,
    *,
    repair: bool = True,
    miss_convention: MissConvention = "cara",
    min_relative_speed: float = 0.0,
) -> EncounterPlane:
    """Build the CARA encounter frame and project miss vector and combined covariance.

    Raises :class:`DegenerateGeometryError` when ``|v1 - v2|`` is zero, below
    ``min_relative_speed`` or below 1e-12 of the larger speed (the plane is then undefined and a
    2-D Pc meaningless; use :func:`~astroshield.astro.conjunction.pc.pc_3d` or Monte Carlo).
    """
    r1v, v1v, r2v, v2v = _vec3(r1, "r1"), _vec3(v1, "v1"), _vec3(r2, "r2"), _vec3(v2, "v2")
    c = _position_block(cov1, "cov1") + _position_block(cov2, "cov2")
    r = r1v - r2v
    v = v1v - v2v
    speed = float(np.linalg.norm(v))
    scale = max(float(np.linalg.norm(v1v)), float(np.linalg.norm(v2v)))
    if speed == 0.0 or speed <= min_relative_speed or speed <= 1e-12 * scale:
        raise DegenerateGeometryError(
            f"relative speed {speed:.3e} is (near) zero: the encounter plane is undefined and "
            "the 2-D short-encounter assumption does not hold; use pc_3d or pc_monte_carlo"
        )
    y = v / speed
    h = np.cross(r, v)
    hn = float(np.linalg.norm(h))
    rn = float(np.linalg.norm(r))
    z = h / hn if hn > 1e-14 * max(rn, 1e-300) * speed else _perpendicular(y)
    x = np.cross(y, z)
    basis = np.vstack([x, z])
    cp = basis @ c @ basis.T
    floor = (CARA_FCLIP * hbr) ** 2 if hbr > 0 else 0.0
    chk = check_covariance(cp, repair=repair, floor=floor, name="projected 2x2 covariance")
    miss = np.array([rn, 0.0]) if miss_convention == "cara" else basis @ r
    return EncounterPlane(miss, chk.matrix, basis, y, speed, chk.repaired)


def _principal(miss: F64, cov: F64) -> tuple[float, float, float, float]:
    """Return ``(a, b, s1, s2)``: |miss| components on the major/minor axes and their sigmas."""
    w, q = np.linalg.eigh(cov)
    s1 = math.sqrt(max(float(w[1]), 0.0))
    s2 = math.sqrt(max(float(w[0]), 0.0))
    a = abs(float(q[:, 1] @ miss))
    b = abs(float(q[:, 0] @ miss))
    return a, b, s1, s2


def _foster_circle(miss: F64, cov: F64, hbr: float, rel_tol: float) -> float:
    a, b, s1, s2 = _principal(miss, cov)
    if s1 == 0.0 or s2 == 0.0:
        raise CovarianceError("projected covariance is singular; enable repair or fix input")
    k1 = 1.0 / (s1 * _SQRT2)
    k2 = 1.0 / (s2 * _SQRT2)

    def f(theta: float) -> float:
        c = hbr * math.cos(theta)
        u = a + hbr * math.sin(theta)
        chord = 0.5 * (float(special.erfc((b - c) * k2)) - float(special.erfc((b + c) * k2)))
        return _INV_SQRT_2PI / s1 * math.exp(-((u * k1) ** 2)) * chord * c

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


def _foster_square(miss: F64, cov: F64, half_width: float, rel_tol: float) -> float:
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
        return _INV_SQRT_2PI / sx * math.exp(-0.5 * (x / sx) ** 2) * p

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


def _chan(miss: F64, cov: F64, hbr: float, terms: int | None) -> float:
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


def _pc_plane(
    miss: F64,
    cov: F64,
    hbr: float,
    method: Method,
    hbr_type: HbrType,
    chan_terms: int | None,
    rel_tol: float,
) -> float:
    if method == "chan":
        if hbr_type != "circle":
            raise ValueError("Chan's series is defined for a circular hard body only")
        return _chan(miss, cov, hbr, chan_terms)
    if method != "foster":
        raise ValueError(f"unknown method {method!r}; expected 'foster' or 'chan'")
    if hbr_type == "circle":
        return _foster_circle(miss, cov, hbr, rel_tol)
    if hbr_type == "square":
        return _foster_square(miss, cov, hbr, rel_tol)
    if hbr_type == "square_equal_area":
        return _foster_square(miss, cov, 0.5 * math.sqrt(math.pi) * hbr, rel_tol)
    raise ValueError(f"unknown hbr_type {hbr_type!r}")


def pc_encounter_plane_result(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
) -> PcResult:
    """Like :func:`pc_encounter_plane` but returns a :class:`PcResult`."""
    miss = np.asarray(miss_xy, dtype=np.float64).reshape(-1)
    if miss.shape != (2,) or not np.all(np.isfinite(miss)):
        raise ValueError("miss_xy must be a finite 2-vector")
    c = np.asarray(cov_2x2, dtype=np.float64)
    if c.shape != (2, 2):
        raise CovarianceError("cov_2x2 must be a 2x2 matrix")
    if not math.isfinite(hbr):
        raise ValueError("hbr must be finite")
    floor = (CARA_FCLIP * hbr) ** 2 if hbr > 0 else 0.0
    chk = check_covariance(c, repair=repair, floor=floor, name="encounter-plane covariance")
    # CARA PcElrod returns 0 for a non-positive HBR rather than failing.
    value = (
        0.0
        if hbr <= 0.0
        else _pc_plane(miss, chk.matrix, hbr, method, hbr_type, chan_terms, rel_tol)
    )
    return PcResult(value, method, hbr_type, chk.repaired, miss, chk.matrix)


def pc_encounter_plane(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
) -> float:
    """2-D Pc for a miss vector and combined covariance already in the encounter plane.

    ``miss_xy`` is the relative position at TCA in the plane, ``cov_2x2`` the combined
    position covariance in the same axes, ``hbr`` the combined hard-body radius (same length
    unit). Square shapes have their sides along the given axes. ``hbr <= 0`` gives 0.
    """
    return pc_encounter_plane_result(
        miss_xy,
        cov_2x2,
        hbr,
        method,
        hbr_type=hbr_type,
        chan_terms=chan_terms,
        repair=repair,
        rel_tol=rel_tol,
    ).value


def pc_2d_result(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
    miss_convention: MissConvention = "cara",
) -> PcResult:
    """Like :func:`pc_2d` but returns a :class:`PcResult` (repair flag, plane miss/covariance)."""
    if not math.isfinite(hbr):
        raise ValueError("hbr must be finite")
    ep = encounter_plane(
        r1, v1, cov1, r2, v2, cov2, hbr, repair=repair, miss_convention=miss_convention
    )
    value = (
        0.0
        if hbr <= 0.0
        else _pc_plane(ep.miss, ep.covariance, hbr, method, hbr_type, chan_terms, rel_tol)
    )
    return PcResult(
        value, method, hbr_type, ep.covariance_repaired, ep.miss, ep.covariance, ep.relative_speed
    )


def pc_2d(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
    miss_convention: MissConvention = "cara",
) -> float:
    """Short-encounter 2-D probability of collision of two objects at TCA.

    ``r*``, ``v*`` are inertial position/velocity at (or very near) TCA, ``cov*`` 3x3 position or
    6x6 position-velocity covariances in the same frame (only the position block is used), and
    ``hbr`` the combined hard-body radius; any consistent length unit. ``method`` is
    ``"foster"`` (adaptive integral, relative tolerance ``rel_tol``) or ``"chan"`` (series with
    ``chan_terms`` terms, default Chan's rule). ``hbr_type`` selects CARA's circle, square
    (half-width HBR) or equal-area square (half-width sqrt(pi)/2 HBR) for ``"foster"``.

    Non-positive-definite projected covariances are eigenvalue-clipped at ``(1e-4 HBR)^2`` as in
    CARA when ``repair`` is True, otherwise a :class:`CovarianceError` is raised. A zero relative
    velocity raises :class:`DegenerateGeometryError`.
    """
    return pc_2d_result(
        r1,
        v1,
        cov1,
        r2,
        v2,
        cov2,
        hbr,
        method,
        hbr_type=hbr_type,
        chan_terms=chan_terms,
        repair=repair,
        rel_tol=rel_tol,
        miss_convention=miss_convention,
    ).value


# --------------------------------------------------------------------------------------------
# Vectorised evaluation
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _gl_theta(order: int) -> tuple[F64, F64]:
    x, w = np.polynomial.legendre.leggauss(order)
    return 0.5 * math.pi * x, 0.5 * math.pi * w


# Accuracy tiers by sigma_minor / HBR (measured against the adaptive integrator for Pc > 1e-30,
# see tests): >= 0.25: one Gauss-Legendre panel over the disk angle (rel. error < ~2e-7 at
# order 48); >= 0.03: the chord term is close to a step, so 4 panels split where it and the
# outer Gaussian change fastest (< ~1e-7 at 32 nodes per panel); below: 16 graded panels
# (< ~1e-9 down to sigma_minor = 1e-3 HBR at 32 nodes per panel) or the adaptive integrator.
_SINGLE_PANEL_RATIO = 0.25
_PANEL_RATIO = 0.03


def _chord_sum(a: F64, b: F64, s1: F64, s2: F64, r: F64, theta: F64, weights: F64) -> F64:
    """Sum over angle nodes ``theta`` (n, m) with ``weights`` (n, m) of the disk integrand."""
    rr = r[:, None]
    k1 = 1.0 / (s1[:, None] * _SQRT2)
    k2 = 1.0 / (s2[:, None] * _SQRT2)
    c = rr * np.cos(theta)
    u = (a[:, None] + rr * np.sin(theta)) * k1
    bb = b[:, None]
    # With b >= 0 the erfc pair never cancels catastrophically (far-tail safe).
    chord = special.erfc((bb - c) * k2) - special.erfc((bb + c) * k2)
    total: F64 = np.sum(np.exp(-u * u) * chord * c * weights, axis=1)
    return total * (0.5 * _INV_SQRT_2PI) / s1


def _panel_nodes(a: F64, b: F64, r: F64, order: int) -> tuple[F64, F64]:
    x, w = np.polynomial.legendre.leggauss(order)
    half = 0.5 * math.pi
    peak = -np.arcsin(np.clip(a / r, 0.0, 1.0))
    edge = np.arccos(np.clip(b / r, 0.0, 1.0))
    ends = np.full_like(a, half)
    bp = np.sort(np.stack([-ends, peak, -edge, edge, ends], axis=1), axis=1)
    mid = 0.5 * (bp[:, 1:] + bp[:, :-1])
    hw = 0.5 * (bp[:, 1:] - bp[:, :-1])
    theta = (mid[:, :, None] + hw[:, :, None] * x).reshape(a.size, -1)
    weights = (hw[:, :, None] * w).reshape(a.size, -1)
    return theta, weights


def _graded_nodes(a: F64, b: F64, s1: F64, s2: F64, r: F64, order: int) -> tuple[F64, F64]:
    # Very thin covariances: besides the two fast-change points, split at +/-2 and +/-6 sigma
    # around each so every boundary layer is resolved by its own panels (16 panels).
    x, w = np.polynomial.legendre.leggauss(order)
    half = 0.5 * math.pi
    cols = [np.full_like(a, -half), np.full_like(a, half)]
    for k in (0.0, -2.0, 2.0, -6.0, 6.0):
        cols.append(np.arcsin(np.clip((k * s1 - a) / r, -1.0, 1.0)))
        t = np.arccos(np.clip((b + k * s2) / r, 0.0, 1.0))
        cols.extend([t, -t])
    bp = np.sort(np.stack(cols, axis=1), axis=1)
    mid = 0.5 * (bp[:, 1:] + bp[:, :-1])
    hw = 0.5 * (bp[:, 1:] - bp[:, :-1])
    theta = (mid[:, :, None] + hw[:, :, None] * x).reshape(a.size, -1)
    weights = (hw[:, :, None] * w).reshape(a.size, -1)
    return theta, weights


def pc_encounter_plane_batch(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: ArrayLike,
    *,
    order: int = 48,
    panel_order: int = 32,
    chunk: int = 4096,
    adaptive_thin: bool = False,
) -> F64:
    """Vectorised circular-HBR 2-D Pc for many encounter-plane events.

    ``miss_xy`` has shape ``(n, 2)``, ``cov_2x2`` ``(n, 2, 2)``, ``hbr`` scalar or ``(n,)``.
    Exact erfc chord integral in the principal-axis frame, fixed Gauss-Legendre in the disk
    angle: one ``order``-point panel when the minor sigma is at least HBR/4, four
    ``panel_order``-point panels split at the integrand's fast-change points down to HBR/33,
    and 16 graded ``panel_order``-point panels for thinner covariances (or, with
    ``adaptive_thin``, the adaptive scalar integrator for those). Minor
    eigenvalues are clipped at ``(1e-4 HBR)^2`` as in CARA; a clearly negative eigenvalue or
    non-finite input raises.
    """
    miss = np.asarray(miss_xy, dtype=np.float64)
    cov = np.asarray(cov_2x2, dtype=np.float64)
    if miss.ndim != 2 or miss.shape[1] != 2:
        raise ValueError("miss_xy must have shape (n, 2)")
    n = miss.shape[0]
    if cov.shape != (n, 2, 2):
        raise CovarianceError("cov_2x2 must have shape (n, 2, 2)")
    r = np.ascontiguousarray(np.broadcast_to(np.asarray(hbr, dtype=np.float64), (n,)))
    if not (np.all(np.isfinite(miss)) and np.all(np.isfinite(cov)) and np.all(np.isfinite(r))):
        raise ValueError("non-finite input")
    cxx = cov[:, 0, 0]
    czz = cov[:, 1, 1]
    cxz = 0.5 * (cov[:, 0, 1] + cov[:, 1, 0])
    half_tr = 0.5 * (cxx + czz)
    rad = np.hypot(0.5 * (cxx - czz), cxz)
    lam1 = half_tr + rad
    lam2 = half_tr - rad
    neg = lam2 < -1e-8 * np.abs(lam1)
    if np.any(neg):
        raise CovarianceError(
            f"event {int(np.argmax(neg))}: covariance is not positive semi-definite"
        )
    floor = (CARA_FCLIP * r) ** 2
    lam2 = np.maximum(lam2, floor)
    lam1 = np.maximum(lam1, floor)
    ang = 0.5 * np.arctan2(2.0 * cxz, cxx - czz)
    ca, sa = np.cos(ang), np.sin(ang)
    a = np.abs(miss[:, 0] * ca + miss[:, 1] * sa)
    b = np.abs(-miss[:, 0] * sa + miss[:, 1] * ca)
    s1 = np.sqrt(lam1)
    s2 = np.sqrt(lam2)

    out = np.zeros(n)
    live = r > 0.0
    easy = np.nonzero(live & (s2 >= _SINGLE_PANEL_RATIO * r))[0]
    mid = np.nonzero(live & (s2 < _SINGLE_PANEL_RATIO * r) & (s2 >= _PANEL_RATIO * r))[0]
    hard = np.nonzero(live & (s2 < _PANEL_RATIO * r))[0]
    theta1, w = _gl_theta(order)
    for lo in range(0, easy.size, chunk):
        idx = easy[lo : lo + chunk]
        out[idx] = _chord_sum(a[idx], b[idx], s1[idx], s2[idx], r[idx], theta1[None, :], w[None, :])
    pchunk = max(chunk // 4, 1)
    for lo in range(0, mid.size, pchunk):
        idx = mid[lo : lo + pchunk]
        th, wt = _panel_nodes(a[idx], b[idx], r[idx], panel_order)
        out[idx] = _chord_sum(a[idx], b[idx], s1[idx], s2[idx], r[idx], th, wt)
    if adaptive_thin:
        for i in hard:
            cov_i = np.array([[lam1[i], 0.0], [0.0, lam2[i]]])
            out[i] = _foster_circle(np.array([a[i], b[i]]), cov_i, float(r[i]), DEFAULT_REL_TOL)
    else:
        gchunk = max(chunk // 16, 1)
        for lo in range(0, hard.size, gchunk):
            idx = hard[lo : lo + gchunk]
            th, wt = _graded_nodes(a[idx], b[idx], s1[idx], s2[idx], r[idx], panel_order)
            out[idx] = _chord_sum(a[idx], b[idx], s1[idx], s2[idx], r[idx], th, wt)
    out = np.clip(out, 0.0, 1.0)
    return out


def encounter_plane_batch(
    r1: ArrayLike, v1: ArrayLike, cov1: ArrayLike, r2: ArrayLike, v2: ArrayLike, cov2: ArrayLike
) -> tuple[F64, F64]:
    """Vectorised CARA projection: returns ``(miss (n, 2), cov (n, 2, 2))`` (CARA |r| on x).

    Inputs are ``(n, 3)`` states and ``(n, 3, 3)`` or ``(n, 6, 6)`` covariances.
    Raises :class:`DegenerateGeometryError` if any relative speed is zero.
    """
    r = np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64)
    v = np.asarray(v1, dtype=np.float64) - np.asarray(v2, dtype=np.float64)
    c = (
        np.asarray(cov1, dtype=np.float64)[:, :3, :3]
        + np.asarray(cov2, dtype=np.float64)[:, :3, :3]
    )
    speed = np.linalg.norm(v, axis=1)
    if np.any(speed == 0.0) or not np.all(np.isfinite(speed)):
        bad = int(np.argmax(~(speed > 0.0)))
        raise DegenerateGeometryError(f"event {bad}: zero or non-finite relative speed")
    y = v / speed[:, None]
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=1)
    rn = np.linalg.norm(r, axis=1)
    ok = hn > 1e-14 * np.maximum(rn, 1e-300) * speed
    z = np.empty_like(h)
    z[ok] = h[ok] / hn[ok, None]
    for i in np.nonzero(~ok)[0]:
        z[i] = _perpendicular(y[i])
    x = np.cross(y, z)
    basis = np.stack([x, z], axis=1)  # (n, 2, 3)
    cp = np.einsum("nij,njk,nlk->nil", basis, c, basis)
    miss = np.stack([rn, np.zeros_like(rn)], axis=1)
    return miss, cp


def pc_2d_batch(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: ArrayLike,
    *,
    order: int = 48,
    adaptive_thin: bool = False,
) -> F64:
    """Vectorised :func:`pc_2d` (Foster, circle, CARA miss convention) for ``n`` conjunctions."""
    miss, cp = encounter_plane_batch(r1, v1, cov1, r2, v2, cov2)
    return pc_encounter_plane_batch(miss, cp, hbr, order=order, adaptive_thin=adaptive_thin)


# --------------------------------------------------------------------------------------------
# Alfano maximum Pc
# --------------------------------------------------------------------------------------------


def pc_max_encounter_plane(
    miss_xy: ArrayLike, cov_2x2: ArrayLike, hbr: float, *, repair: bool = True
) -> PcMaxResult:
    """Alfano (2005) maximum Pc over a scale ``k^2`` applied to the combined covariance.

    Searches ``log(k^2)`` with bounded Brent around the small-HBR optimum ``k^2 = d^2 / 2``
    (``d`` the Mahalanobis miss distance, for which Alfano gives
    ``Pc_max = HBR^2 / (e d^2 sigma_x sigma_y)``), evaluating the exact Foster integral.
    """
    base = pc_encounter_plane_result(miss_xy, cov_2x2, hbr, "foster", repair=repair)
    if hbr <= 0.0:
        return PcMaxResult(0.0, 1.0, 0.0, False)
    miss = base.miss
    cov = base.covariance
    if float(np.hypot(miss[0], miss[1])) < hbr:
        # Origin inside the disk: Pc -> 1 as k -> 0, there is no interior maximum.
        return PcMaxResult(1.0, 0.0, base.value, True)
    d2 = float(miss @ np.linalg.solve(cov, miss))
    guess = max(d2 / 2.0, 1e-12)
    lo, hi = math.log(guess) - 12.0, math.log(guess) + 12.0

    def neg(logk2: float) -> float:
        return -_foster_circle(miss, cov * math.exp(logk2), hbr, 1e-9)

    res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    logk2 = float(res.x)
    pc = -float(res.fun)
    bounded = logk2 - lo < 1e-3 or hi - logk2 < 1e-3
    return PcMaxResult(pc, math.exp(logk2), base.value, bounded)


def pc_max(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    *,
    repair: bool = True,
) -> PcMaxResult:
    """Alfano maximum Pc for a conjunction given as two inertial states (see
    :func:`pc_max_encounter_plane`)."""
    ep = encounter_plane(r1, v1, cov1, r2, v2, cov2, hbr, repair=repair)
    return pc_max_encounter_plane(ep.miss, ep.covariance, hbr, repair=repair)
