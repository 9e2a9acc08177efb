"""Reference-frame transforms (TEME, GCRF, ITRF), geodetic coordinates and the RTN frame.

All functions are vectorised over N states: positions/velocities of shape (N, 3) (or (3,) for a
single state) in km and km/s, with either N epochs or one epoch shared by all states. Epochs are
UTC (see :data:`astroshield.astro.dynamics.timescales.TimeLike`). Rotation matrices are computed
once per
distinct epoch, so transforming a whole catalog at one epoch costs one set of ERFA calls.

Models, chosen to reproduce ``astropy.coordinates`` (the independent reference in the tests)
without its per-call overhead:

* TEME -> ITRF: ``W(xp, yp, s'=0) · R3(GMST82(UT1))`` as in Vallado et al. 2006 (AIAA 2006-6753)
  and astropy's ``teme_to_itrs_mat``; s' is omitted there, so it is omitted here.
* ITRF -> GCRF: IAU 2006/2000A CIO-based, ``Q(TT)ᵀ · R3(ERA(UT1))ᵀ · W(xp, yp, s'(TT))ᵀ`` with
  ``Q = erfa.c2i06a``. The IERS celestial-pole offsets dX, dY are not applied (astropy does not
  apply them either; they are below 1 mas, i.e. < 0.2 m at GEO).
* "GCRF" is the geocentric GCRS of astropy: a rotation of ITRF, no aberration or light-time.
* Velocities include the time derivative of the rotation, ``v' = M v + Ṁ r``. Ṁ is analytic for
  the Earth-rotation angle (the dominant term, ω ≈ 7.292e-5 rad/s) and a 600-s forward
  difference for the slow precession-nutation matrix Q (its rate contributes up to 0.3 mm/s at
  GEO; the truncation error of the difference is < 1e-9 km/s). UT1 runs at
  ``1 + d(UT1-UTC)/dt`` UT1 seconds per SI second (length-of-day excess, ~1e-8, taken from the
  slope of the interpolated IERS table). The polar-motion rate (< 1e-13 rad/s) is neglected.
  Rates are per SI second.

Earth orientation data, time scales and their behaviour outside the bundled IERS table are
described in :mod:`astroshield.astro.dynamics.timescales`.

RTN convention: R along r, N along r × v, T = N × R. :func:`rtn_rotation` returns the matrix whose
rows are R, T, N, i.e. it maps inertial components to RTN components.
"""

from __future__ import annotations

import warnings
from typing import TypeAlias

import erfa  # pyerfa ships no stubs; pyproject overrides omit it
import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.dynamics.timescales import (
    EopExtrapolationWarning,
    TimeLike,
    earth_orientation,
    utc_jd,
    utc_to_tt,
    utc_to_ut1,
)

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.intp]

# WGS84 defining constants (NIMA TR8350.2).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563

_DS2R = 2.0 * np.pi / 86400.0  # seconds of time to radians, as ERFA_DS2R
_ERA_RATE = 2.0 * np.pi * 1.00273781191135448 / 86400.0  # d(ERA)/d(UT1 s), IAU 2000 ERA
_J2000 = 2451545.0
_DAYS_PER_CENTURY = 36525.0
_Q_STEP_S = 600.0


def _r3(angle: FloatArray) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((angle.shape[0], 3, 3))
    m[:, 0, 0] = c
    m[:, 0, 1] = s
    m[:, 1, 0] = -s
    m[:, 1, 1] = c
    m[:, 2, 2] = 1.0
    return m


def _dr3(angle: FloatArray) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((angle.shape[0], 3, 3))
    m[:, 0, 0] = -s
    m[:, 0, 1] = c
    m[:, 1, 0] = -c
    m[:, 1, 1] = -s
    return m


def _t(m: FloatArray) -> FloatArray:
    return np.swapaxes(m, -1, -2)


def _gmst82_rate(ut1_1: FloatArray, ut1_2: FloatArray) -> FloatArray:
    # Derivative of erfa.gmst82 (IAU 1982 GMST: 24110.54841 + 8640184.812866 t + 0.093104 t²
    # - 6.2e-6 t³ seconds, plus the UT1 day fraction) with respect to UT1 seconds.
    t = ((ut1_1 - _J2000) + ut1_2) / _DAYS_PER_CENTURY
    dsec = 1.0 + (8640184.812866 + (2 * 0.093104 - 3 * 6.2e-6 * t) * t) / (
        86400.0 * _DAYS_PER_CENTURY
    )
    return np.asarray(_DS2R * dsec, dtype=np.float64)


class _Epochs:
    """Distinct epochs of a call and the per-epoch quantities the matrices need."""

    def __init__(self, times: TimeLike) -> None:
        jd1, jd2 = utc_jd(times)
        pairs = np.stack([jd1, jd2], axis=1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        self.count = jd1.shape[0]
        self.inverse: IntArray = np.asarray(inverse, dtype=np.intp).ravel()
        self.utc1: FloatArray = np.ascontiguousarray(unique[:, 0])
        self.utc2: FloatArray = np.ascontiguousarray(unique[:, 1])
        # stack: user -> public transform -> _Epochs -> earth_orientation
        eop = earth_orientation(self.utc1, self.utc2, stacklevel=4)
        self.xp, self.yp = eop.xp_rad, eop.yp_rad
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EopExtrapolationWarning)  # already warned above
            later = earth_orientation(self.utc1, self.utc2 + 1.0 / 86400.0)
        # Clip: a leap second inside the 1-s step would look like a 1 s/s slope.
        self.ut1_rate: FloatArray = 1.0 + np.clip(later.dut1_s - eop.dut1_s, -1e-6, 1e-6)
        self.ut1_1, self.ut1_2 = utc_to_ut1(self.utc1, self.utc2, eop.dut1_s)
        self.tt1, self.tt2 = utc_to_tt(self.utc1, self.utc2)


def _teme_to_itrf_matrices(ep: _Epochs) -> tuple[FloatArray, FloatArray]:
    gmst = np.asarray(erfa.gmst82(ep.ut1_1, ep.ut1_2), dtype=np.float64)
    pom = np.asarray(erfa.pom00(ep.xp, ep.yp, 0.0), dtype=np.float64)
    rate = _gmst82_rate(ep.ut1_1, ep.ut1_2) * ep.ut1_rate
    m = pom @ _r3(gmst)
    mdot = pom @ (_dr3(gmst) * rate[:, None, None])
    return m, mdot


def _itrf_to_gcrf_matrices(ep: _Epochs) -> tuple[FloatArray, FloatArray]:
    q = np.asarray(erfa.c2i06a(ep.tt1, ep.tt2), dtype=np.float64)
    q_later = np.asarray(erfa.c2i06a(ep.tt1, ep.tt2 + _Q_STEP_S / 86400.0), dtype=np.float64)
    qdot = (q_later - q) / _Q_STEP_S
    sp = np.asarray(erfa.sp00(ep.tt1, ep.tt2), dtype=np.float64)
    pom = np.asarray(erfa.pom00(ep.xp, ep.yp, sp), dtype=np.float64)
    era = np.asarray(erfa.era00(ep.ut1_1, ep.ut1_2), dtype=np.float64)
    e = _r3(era)
    tail = _t(e) @ _t(pom)
    n = _t(q) @ tail
    era_rate = (_ERA_RATE * ep.ut1_rate)[:, None, None]
    ndot = _t(q) @ (_t(_dr3(era)) * era_rate) @ _t(pom) + _t(qdot) @ tail
    return n, ndot


def _as_states(
    r_km: ArrayLike, v_km_s: ArrayLike, ep: _Epochs
) -> tuple[FloatArray, FloatArray, bool, IntArray]:
    r = np.asarray(r_km, dtype=np.float64)
    v = np.asarray(v_km_s, dtype=np.float64)
    if r.shape != v.shape or r.shape[-1:] != (3,) or r.ndim > 2:
        raise ValueError(f"r and v must both have shape (3,) or (N, 3); got {r.shape}, {v.shape}")
    single = r.ndim == 1
    r2 = np.atleast_2d(r)
    v2 = np.atleast_2d(v)
    n = r2.shape[0]
    if ep.count == n:
        index = ep.inverse
    elif ep.count == 1:
        index = np.broadcast_to(ep.inverse, (n,))
    else:
        raise ValueError(f"{n} states but {ep.count} epochs; give N epochs or one")
    return r2, v2, single, index


def _apply(
    m: FloatArray,
    mdot: FloatArray,
    r_km: ArrayLike,
    v_km_s: ArrayLike,
    ep: _Epochs,
    *,
    inverse: bool,
) -> tuple[FloatArray, FloatArray]:
    r, v, single, index = _as_states(r_km, v_km_s, ep)
    if inverse:
        # r = Mᵀ r'  =>  v = Mᵀ v' + Ṁᵀ r'
        m, mdot = _t(m), _t(mdot)
    mi, mdi = m[index], mdot[index]
    r_out = np.einsum("nij,nj->ni", mi, r)
    v_out = np.einsum("nij,nj->ni", mi, v) + np.einsum("nij,nj->ni", mdi, r)
    if single:
        return r_out[0], v_out[0]
    return r_out, v_out


def teme_to_itrf(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate TEME (SGP4 output) states to ITRF; returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    m, mdot = _teme_to_itrf_matrices(ep)
    return _apply(m, mdot, r_km, v_km_s, ep, inverse=False)


def itrf_to_teme(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate ITRF states to TEME; returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    m, mdot = _teme_to_itrf_matrices(ep)
    return _apply(m, mdot, r_km, v_km_s, ep, inverse=True)


def itrf_to_gcrf(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate ITRF states to GCRF (IAU 2006/2000A, CIO based); returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    n, ndot = _itrf_to_gcrf_matrices(ep)
    return _apply(n, ndot, r_km, v_km_s, ep, inverse=False)


def gcrf_to_itrf(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate GCRF states to ITRF; returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    n, ndot = _itrf_to_gcrf_matrices(ep)
    return _apply(n, ndot, r_km, v_km_s, ep, inverse=True)


def _teme_to_gcrf_matrices(ep: _Epochs) -> tuple[FloatArray, FloatArray]:
    m, mdot = _teme_to_itrf_matrices(ep)
    n, ndot = _itrf_to_gcrf_matrices(ep)
    return n @ m, ndot @ m + n @ mdot


def teme_to_gcrf(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate TEME states to GCRF (through ITRF, as astropy does); returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    p, pdot = _teme_to_gcrf_matrices(ep)
    return _apply(p, pdot, r_km, v_km_s, ep, inverse=False)


def gcrf_to_teme(
    r_km: ArrayLike, v_km_s: ArrayLike, times_utc: TimeLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate GCRF states to TEME; returns ``(r_km, v_km_s)``."""
    ep = _Epochs(times_utc)
    p, pdot = _teme_to_gcrf_matrices(ep)
    return _apply(p, pdot, r_km, v_km_s, ep, inverse=True)


# --------------------------------------------------------------------------------- geodetic


def itrf_to_geodetic(r_km: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """WGS84 geodetic latitude (rad), longitude (rad, in (-π, π]) and height (km) from ITRF.

    Closed form of Heikkinen (1982) as given by Zhu (1994), exact up to rounding for points
    outside the ellipsoid's evolute; points within 100 km of the geocentre raise ValueError.
    Accepts (3,) or (N, 3); returns scalars-as-0-d arrays or (N,) arrays accordingly.
    """
    r = np.asarray(r_km, dtype=np.float64)
    if r.shape[-1:] != (3,):
        raise ValueError(f"r must have shape (3,) or (N, 3); got {r.shape}")
    if np.any(np.linalg.norm(r, axis=-1) < 100.0):
        # The closed form needs points outside the ellipsoid's evolute (~43 km from the centre).
        raise ValueError("geodetic conversion needs points more than 100 km from the geocentre")
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    a = WGS84_A_KM
    b = a * (1.0 - WGS84_F)
    e2 = WGS84_F * (2.0 - WGS84_F)
    ep2 = (a * a - b * b) / (b * b)
    p = np.hypot(x, y)
    f = 54.0 * b * b * z * z
    g = p * p + (1.0 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * f * p * p / (g * g * g)
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -pp * e2 * p / (1.0 + q) + np.sqrt(
        np.maximum(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z * z / (q * (1.0 + q))
            - 0.5 * pp * p * p,
            0.0,
        )
    )
    u = np.hypot(p - e2 * r0, z)
    vv = np.sqrt((p - e2 * r0) ** 2 + (1.0 - e2) * z * z)
    z0 = b * b * z / (a * vv)
    height = u * (1.0 - b * b / (a * vv))
    lat = np.arctan2(z + ep2 * z0, p)
    lon = np.arctan2(y, x)
    return (
        np.asarray(lat, dtype=np.float64),
        np.asarray(lon, dtype=np.float64),
        np.asarray(height, dtype=np.float64),
    )


def geodetic_to_itrf(lat_rad: ArrayLike, lon_rad: ArrayLike, height_km: ArrayLike) -> FloatArray:
    """ITRF position (km) of WGS84 geodetic latitude, longitude (rad) and height (km)."""
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    h = np.asarray(height_km, dtype=np.float64)
    e2 = WGS84_F * (2.0 - WGS84_F)
    sin_lat = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - e2 * sin_lat * sin_lat)
    x = (n + h) * np.cos(lat) * np.cos(lon)
    y = (n + h) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - e2) + h) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


# -------------------------------------------------------------------------------------- RTN


def rtn_rotation(r: ArrayLike, v: ArrayLike) -> FloatArray:
    """Inertial-to-RTN rotation matrix, rows R̂, T̂, N̂; shape (3, 3) or (N, 3, 3).

    ``x_rtn = M @ x_inertial`` and ``x_inertial = M.T @ x_rtn``.
    """
    rr = np.asarray(r, dtype=np.float64)
    vv = np.asarray(v, dtype=np.float64)
    if rr.shape != vv.shape or rr.shape[-1:] != (3,):
        raise ValueError(f"r and v must have shape (3,) or (N, 3); got {rr.shape}, {vv.shape}")
    h = np.cross(rr, vv)
    r_norm = np.linalg.norm(rr, axis=-1, keepdims=True)
    h_norm = np.linalg.norm(h, axis=-1, keepdims=True)
    if np.any(r_norm == 0.0) or np.any(h_norm == 0.0):
        raise ValueError("RTN frame undefined for zero position or rectilinear motion (r × v = 0)")
    r_hat = rr / r_norm
    n_hat = h / h_norm
    t_hat = np.cross(n_hat, r_hat)
    return np.stack([r_hat, t_hat, n_hat], axis=-2)


def _skew(w: FloatArray) -> FloatArray:
    m = np.zeros((*w.shape[:-1], 3, 3))
    m[..., 0, 1] = -w[..., 2]
    m[..., 0, 2] = w[..., 1]
    m[..., 1, 0] = w[..., 2]
    m[..., 1, 2] = -w[..., 0]
    m[..., 2, 0] = -w[..., 1]
    m[..., 2, 1] = w[..., 0]
    return m


def rtn_state_jacobian(r: ArrayLike, v: ArrayLike, *, rotating: bool = False) -> FloatArray:
    """6×6 (or N×6×6) matrix mapping an inertial relative state (δr, δv) to RTN.

    ``rotating=False`` (default) is the block-diagonal ``diag(M, M)``: velocity components are
    simply resolved along the RTN axes. This is the CCSDS CDM (508.0-B-1) convention for the
    RTN covariance and what conjunction data messages exchange.

    ``rotating=True`` gives velocities relative to the rotating RTN frame,
    ``δv_rtn = M (δv - ω × δr)`` with ω = (r × v)/|r|², the frame's angular velocity for a
    central-force orbit (the in-plane rotation; the out-of-plane component, which needs the
    perturbing acceleration, is neglected).
    """
    m = rtn_rotation(r, v)
    jac = np.zeros((*m.shape[:-2], 6, 6))
    jac[..., :3, :3] = m
    jac[..., 3:, 3:] = m
    if rotating:
        rr = np.asarray(r, dtype=np.float64)
        vv = np.asarray(v, dtype=np.float64)
        omega = np.cross(rr, vv) / np.sum(rr * rr, axis=-1, keepdims=True)
        jac[..., 3:, :3] = -m @ _skew(omega)
    return jac


def _covariance_jacobian(cov: FloatArray, r: ArrayLike, v: ArrayLike, rotating: bool) -> FloatArray:
    size = cov.shape[-1]
    if cov.shape[-2:] not in ((3, 3), (6, 6)):
        raise ValueError(f"covariance must be 3×3 or 6×6 (optionally stacked); got {cov.shape}")
    if size == 3:
        return rtn_rotation(r, v)
    return rtn_state_jacobian(r, v, rotating=rotating)


def covariance_to_rtn(
    cov_inertial: ArrayLike, r: ArrayLike, v: ArrayLike, *, rotating: bool = False
) -> FloatArray:
    """Rotate a 3×3 or 6×6 inertial covariance (optionally stacked N×k×k) into RTN.

    ``C_rtn = J C Jᵀ`` with J from :func:`rtn_rotation` (3×3) or :func:`rtn_state_jacobian`
    (6×6; see there for ``rotating``).
    """
    cov = np.asarray(cov_inertial, dtype=np.float64)
    jac = _covariance_jacobian(cov, r, v, rotating)
    return np.asarray(jac @ cov @ _t(jac), dtype=np.float64)


def covariance_from_rtn(
    cov_rtn: ArrayLike, r: ArrayLike, v: ArrayLike, *, rotating: bool = False
) -> FloatArray:
    """Inverse of :func:`covariance_to_rtn`: RTN covariance back to the inertial frame of r, v."""
    cov = np.asarray(cov_rtn, dtype=np.float64)
    jac = _covariance_jacobian(cov, r, v, rotating)
    # diag(M, M) and M are orthogonal; the rotating Jacobian is not (it has a shear block).
    jac_inv: FloatArray = (
        np.asarray(np.linalg.inv(jac), dtype=np.float64)
        if cov.shape[-1] == 6 and rotating
        else _t(jac)
    )
    return np.asarray(jac_inv @ cov @ _t(jac_inv), dtype=np.float64)
