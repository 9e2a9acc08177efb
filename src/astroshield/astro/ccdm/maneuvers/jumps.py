"""SGP4 mean elements of element sets, the jumps between sets, and the element history."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sgp4.api import Satrec

from astroshield.astro.ccdm.maneuvers.model import FloatArray
from astroshield.astro.dynamics.elements import ElementSet, to_satrec

MINUTES_PER_DAY = 1440.0
_EARTH_ROTATION_RAD_PER_DAY = 2.0 * math.pi * 1.00273781191135448


# ----------------------------------------------------------------------------- mean elements


@dataclass(frozen=True, slots=True)
class Mean:
    """SGP4 mean elements (after a propagation call) plus the osculating TEME state."""

    a_km: float
    n_rad_min: float
    e: float
    inc: float
    raan: float
    argp: float
    mean_anomaly: float
    r_km: FloatArray
    v_km_s: FloatArray


def mean_at(satrec: Satrec, minutes: float) -> Mean | None:
    error, r, v = satrec.sgp4_tsince(minutes)
    if error != 0:
        return None
    n = float(satrec.nm)
    a_km = (float(satrec.xke) / n) ** (2.0 / 3.0) * float(satrec.radiusearthkm)
    return Mean(
        a_km=a_km,
        n_rad_min=n,
        e=float(satrec.em),
        inc=float(satrec.im),
        raan=float(satrec.Om),
        argp=float(satrec.om),
        mean_anomaly=float(satrec.mm),
        r_km=np.asarray(r, dtype=np.float64),
        v_km_s=np.asarray(v, dtype=np.float64),
    )


def wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@dataclass(frozen=True, slots=True)
class Jump:
    """Next set minus previous set propagated to the next epoch."""

    dt_days: float
    da_km: float
    dex: float
    dey: float
    dinc: float
    dnode: float  # sin(i) * ΔΩ: the other orbit-normal component
    along_km: float  # previous minus next, along-track (T of the next set's RTN)
    radial_km: float
    cross_km: float
    a_km: float
    n_rad_min: float
    inc: float
    speed_km_s: float


def element_jump(
    prev: Satrec, prev_epoch: datetime, nxt: Satrec, nxt_epoch: datetime
) -> Jump | None:
    dt_min = (nxt_epoch - prev_epoch).total_seconds() / 60.0
    predicted = mean_at(prev, dt_min)
    actual = mean_at(nxt, 0.0)
    if predicted is None or actual is None:
        return None
    # Eccentricity vector referred to the longitude of perigee, defined at any inclination.
    lp_pred = predicted.raan + predicted.argp
    lp_act = actual.raan + actual.argp
    dex = actual.e * math.cos(lp_act) - predicted.e * math.cos(lp_pred)
    dey = actual.e * math.sin(lp_act) - predicted.e * math.sin(lp_pred)
    inc = 0.5 * (actual.inc + predicted.inc)
    residual = _rtn_components(
        actual.r_km.tolist(), actual.v_km_s.tolist(), (predicted.r_km - actual.r_km).tolist()
    )
    return Jump(
        dt_days=dt_min / MINUTES_PER_DAY,
        da_km=actual.a_km - predicted.a_km,
        dex=dex,
        dey=dey,
        dinc=actual.inc - predicted.inc,
        dnode=math.sin(inc) * wrap(actual.raan - predicted.raan),
        along_km=float(residual[1]),
        radial_km=float(residual[0]),
        cross_km=float(residual[2]),
        a_km=actual.a_km,
        n_rad_min=actual.n_rad_min,
        inc=inc,
        speed_km_s=math.hypot(*actual.v_km_s.tolist()),
    )


def _rtn_components(r: list[float], v: list[float], d: list[float]) -> tuple[float, float, float]:
    """Radial, along-track and cross-track components of ``d`` in the RTN frame of (r, v).

    The same frame as :func:`astroshield.astro.dynamics.frames.rtn_rotation` (R along r,
    N along r x v, T = N x R), in scalar arithmetic: this runs for every pair of sets the
    detector compares (tens of thousands per history), where numpy's per-call overhead on
    3-vectors dominated the detector's run time.
    """
    hx = r[1] * v[2] - r[2] * v[1]
    hy = r[2] * v[0] - r[0] * v[2]
    hz = r[0] * v[1] - r[1] * v[0]
    r_norm = math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2)
    h_norm = math.sqrt(hx * hx + hy * hy + hz * hz)
    rx, ry, rz = r[0] / r_norm, r[1] / r_norm, r[2] / r_norm
    nx, ny, nz = hx / h_norm, hy / h_norm, hz / h_norm
    tx, ty, tz = ny * rz - nz * ry, nz * rx - nx * rz, nx * ry - ny * rx
    return (
        rx * d[0] + ry * d[1] + rz * d[2],
        tx * d[0] + ty * d[1] + tz * d[2],
        nx * d[0] + ny * d[1] + nz * d[2],
    )


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True, slots=True)
class ElementHistory:
    """Mean-element time series of one object (one row per element set, sorted by epoch).

    ``raan_residual_deg`` is the RAAN minus a linear fit (the J2 secular drift and a constant),
    ``geo_longitude_deg`` the mean longitude east of Greenwich (only meaningful near GEO) and
    ``drift_deg_per_day`` the mean-longitude drift rate n - ω⊕.
    """

    epochs: tuple[datetime, ...]
    a_km: FloatArray
    inclination_deg: FloatArray
    eccentricity: FloatArray
    raan_residual_deg: FloatArray
    geo_longitude_deg: FloatArray
    drift_deg_per_day: FloatArray
    is_geo: bool


def sorted_unique(elements: Sequence[ElementSet]) -> list[ElementSet]:
    by_epoch: dict[datetime, ElementSet] = {}
    for item in elements:
        by_epoch.setdefault(item.epoch, item)
    return [by_epoch[key] for key in sorted(by_epoch)]


def _gmst_rad(moment: datetime) -> float:
    # IAU 1982 GMST, the sidereal angle SGP4's TEME is tied to (Vallado's gstime).
    jd = (moment - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400.0
    t = jd / 36525.0
    seconds = (
        67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t * t - 6.2e-6 * t**3
    )
    return math.radians((seconds % 86400.0) / 240.0)


def element_history(elements: Sequence[ElementSet]) -> ElementHistory:
    """SGP4 mean elements at each epoch (sorted, duplicate epochs dropped), for plots/analysis."""
    ordered = sorted_unique(elements)
    means = []
    epochs = []
    for item in ordered:
        satrec = to_satrec(item)
        mean = mean_at(satrec, 0.0)
        if mean is not None:
            means.append((mean, item))
            epochs.append(item.epoch)
    if not means:
        raise ValueError("no element set could be initialised in SGP4")
    a = np.array([m.a_km for m, _ in means])
    inc = np.degrees([m.inc for m, _ in means])
    ecc = np.array([m.e for m, _ in means])
    raan = np.unwrap(np.array([m.raan for m, _ in means]))
    days = np.array([(e - epochs[0]).total_seconds() / 86400.0 for e in epochs])
    if len(days) >= 2 and days[-1] > days[0]:
        coeffs = np.polyfit(days, raan, 1)
        raan_res = np.degrees(raan - np.polyval(coeffs, days))
    else:
        raan_res = np.zeros_like(raan)
    n_rad_day = np.array([m.n_rad_min for m, _ in means]) * MINUTES_PER_DAY
    drift = np.degrees(n_rad_day - _EARTH_ROTATION_RAD_PER_DAY)
    lon = np.array(
        [
            math.degrees(
                wrap(math.radians(item.mean_anomaly_deg) + m.argp + m.raan - _gmst_rad(item.epoch))
            )
            for m, item in means
        ]
    )
    is_geo = bool(np.median(n_rad_day) / (2.0 * math.pi) < 1.5)
    return ElementHistory(
        epochs=tuple(epochs),
        a_km=a,
        inclination_deg=np.asarray(inc, dtype=np.float64),
        eccentricity=ecc,
        raan_residual_deg=np.asarray(raan_res, dtype=np.float64),
        geo_longitude_deg=lon,
        drift_deg_per_day=np.asarray(drift, dtype=np.float64),
        is_geo=is_geo,
    )
