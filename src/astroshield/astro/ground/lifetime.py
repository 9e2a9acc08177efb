"""Orbital lifetime from an SGP4 element set's BSTAR: a semi-analytic King-Hele decay.

Method. The orbit-averaged Gauss equations for a drag acceleration ``-½ B ρ v² v̂`` (King-Hele,
*Satellite Orbits in an Atmosphere*, 1987; Vallado 4th ed. §9.6) are integrated in time for the
semi-major axis and eccentricity::

    da/dt = -(a² / μ) · ⟨B ρ v³⟩          de/dt = -(1 - e²) · ⟨B ρ v cos E⟩

where ⟨·⟩ averages over the mean anomaly (a 256-point trapezoid rule in eccentric anomaly,
spectrally accurate for this periodic integrand). The density ``ρ(h)`` is the piecewise
exponential atmosphere of Vallado Table 8-4 (CIRA-72, 0-1000 km). It is *calibrated from
BSTAR*: the product ``B ρ`` at the epoch perigee is set equal to what SGP4's own drag model
gives there (``B = 2 B* / ρ₀``, ``ρ₀ = 2.461e-8 kg/m³`` at 120 km, scaled by SGP4's
``((q₀ - s)/(h - s))⁴`` power law, the same ``s`` SGP4 picks for low perigees), so the estimate
decays at SGP4's rate at epoch and then follows the exponential profile downwards. The rotation
of the atmosphere and any error in the exponential model at the epoch altitude are absorbed
into BSTAR this way. Reentry is declared when the perigee falls below 100 km.

Validation (``tests/astro/test_lifetime.py``): against the independent route of SGP4 itself,
propagated until it reports decay (error 6, or another error) — the two agree within 30 % for
short-lived, high-drag LEO objects; :func:`sgp4_decay_epoch` is that route.

Limits. A single BSTAR describes the drag at its epoch, including that epoch's solar activity;
thermospheric density changes by a factor of 2-10 over a solar cycle, and BSTAR values of
individual element sets scatter by tens of percent. The result is therefore an order-of-
magnitude planning figure, not a reentry prediction: ``lifetime_range_days`` gives the lifetimes
for a density twice and half the calibrated one. Perigees above 2,000 km are treated as
drag-free (lifetime beyond any ``max_years``); a non-positive BSTAR below that gives an
"undetermined" estimate. Lunisolar perturbations, which can lower the perigee of highly
eccentric orbits, are not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from sgp4.api import Satrec

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.orbit import MU_EARTH_KM3_S2, semi_major_axis_from_mean_motion
from astroshield.astro.dynamics.propagation import Satellite
from astroshield.astro.formats.tle import TLE
from astroshield.astro.ground.passes import as_satrec

__all__ = [
    "LifetimeEstimate",
    "LifetimeStatus",
    "orbital_lifetime",
    "sgp4_decay_epoch",
]

FloatArray = NDArray[np.float64]
LifetimeStatus = Literal["decays", "exceeds_max_years", "undetermined"]

METHOD = "King-Hele orbit-averaged decay, exponential atmosphere calibrated to SGP4 BSTAR drag"
EARTH_RADIUS_KM = 6378.137
REENTRY_PERIGEE_KM = 100.0
DRAG_FREE_PERIGEE_KM = 2000.0
DAYS_PER_YEAR = 365.25
DENSITY_FACTORS = (2.0, 0.5)

# SGP4 drag constants (Hoots & Roehrich, Spacetrack Report #3): reference density at 120 km
# (ρ₀·ER = 0.15696615 kg/m²/ER) and the power-law parameters q₀ = 120 km, s = 78 km.
_SGP4_RHO0_KG_M3 = 2.461e-8
_SGP4_Q0_KM = 120.0
_SGP4_S_KM = 78.0
_SGP4_EARTH_RADIUS_M = 6_378_135.0  # WGS72, the unit BSTAR is expressed in

# Vallado, Fundamentals of Astrodynamics and Applications, 4th ed., Table 8-4 (CIRA-72):
# base altitude (km), nominal density (kg/m³), scale height (km).
_EXPONENTIAL_ATMOSPHERE = np.array(
    [
        (0.0, 1.225, 7.249),
        (25.0, 3.899e-2, 6.349),
        (30.0, 1.774e-2, 6.682),
        (40.0, 3.972e-3, 7.554),
        (50.0, 1.057e-3, 8.382),
        (60.0, 3.206e-4, 7.714),
        (70.0, 8.770e-5, 6.549),
        (80.0, 1.905e-5, 5.799),
        (90.0, 3.396e-6, 5.382),
        (100.0, 5.297e-7, 5.877),
        (110.0, 9.661e-8, 7.263),
        (120.0, 2.438e-8, 9.473),
        (130.0, 8.484e-9, 12.636),
        (140.0, 3.845e-9, 16.149),
        (150.0, 2.070e-9, 22.523),
        (180.0, 5.464e-10, 29.740),
        (200.0, 2.789e-10, 37.105),
        (250.0, 7.248e-11, 45.546),
        (300.0, 2.418e-11, 53.628),
        (350.0, 9.518e-12, 53.298),
        (400.0, 3.725e-12, 58.515),
        (450.0, 1.585e-12, 60.828),
        (500.0, 6.967e-13, 63.822),
        (600.0, 1.454e-13, 71.835),
        (700.0, 3.614e-14, 88.667),
        (800.0, 1.170e-14, 124.64),
        (900.0, 5.245e-15, 181.05),
        (1000.0, 3.019e-15, 268.00),
    ]
)
_NODES = 256
_ECCENTRIC_ANOMALY = np.linspace(0.0, 2.0 * math.pi, _NODES, endpoint=False)
_COS_E = np.cos(_ECCENTRIC_ANOMALY)

UNCERTAINTY_STATEMENT = (
    "Planning estimate, not a reentry prediction. The drag is calibrated from one BSTAR, which "
    "reflects the solar activity and fit noise of its epoch; thermospheric density varies by a "
    "factor of 2-10 over the solar cycle. Treat the date as uncertain by about a factor of two "
    "in lifetime: the range given assumes twice and half the calibrated density."
)


@dataclass(frozen=True)
class LifetimeEstimate:
    status: LifetimeStatus
    epoch: datetime
    """Epoch of the element set the estimate starts from."""
    lifetime_days: float | None
    """Days from ``epoch`` to reentry; None unless ``status`` is "decays"."""
    decay_epoch: datetime | None
    lifetime_range_days: tuple[float | None, float | None]
    """Lifetimes for twice and half the calibrated density (None: beyond ``max_years``)."""
    max_years: float
    perigee_altitude_km: float
    apogee_altitude_km: float
    ballistic_coefficient_m2_kg: float | None
    """``B = Cd·A/m`` implied by BSTAR with SGP4's reference density."""
    method: str = METHOD
    uncertainty: str = UNCERTAINTY_STATEMENT

    @property
    def exceeds_max_years(self) -> bool:
        return self.status == "exceeds_max_years"


def exponential_density_kg_m3(altitude_km: ArrayLike) -> FloatArray:
    """Vallado Table 8-4 density; the 0 km (1000 km) layer continues below (above) the table."""
    h = np.asarray(altitude_km, dtype=np.float64)
    index = np.clip(np.searchsorted(_EXPONENTIAL_ATMOSPHERE[:, 0], h, side="right") - 1, 0, None)
    base, nominal, scale = _EXPONENTIAL_ATMOSPHERE[index].T
    return np.asarray(nominal * np.exp(-(h - base) / scale), dtype=np.float64)


def _sgp4_density_kg_m3(altitude_km: float, perigee_km: float) -> float:
    # sgp4init lowers s for perigees below 156 km (and floors it at 20 km below 98 km).
    s = _SGP4_S_KM if perigee_km >= 156.0 else max(20.0, perigee_km - 78.0)
    return _SGP4_RHO0_KG_M3 * ((_SGP4_Q0_KM - s) / max(altitude_km - s, 1.0)) ** 4


def _element_set(satellite: ElementSet | TLE) -> ElementSet:
    return satellite.elements if isinstance(satellite, TLE) else satellite


def _decay_rates(a_km: float, e: float, drag_scale_per_km: float) -> tuple[float, float]:
    """(da/dt km/s, de/dt 1/s) for ``B ρ(h) = drag_scale · ρ_exp(h)/1 kg m⁻³`` per km."""
    e = min(max(e, 0.0), 0.99)
    radius = a_km * (1.0 - e * _COS_E)
    speed = np.sqrt(MU_EARTH_KM3_S2 * (2.0 / radius - 1.0 / a_km))
    drag = drag_scale_per_km * exponential_density_kg_m3(radius - EARTH_RADIUS_KM)
    weight = 1.0 - e * _COS_E  # dM = (1 - e cos E) dE
    da = -(a_km**2 / MU_EARTH_KM3_S2) * float(np.mean(drag * speed**3 * weight))
    de = -(1.0 - e * e) * float(np.mean(drag * speed * _COS_E * weight))
    return da, de


def _time_to_reentry_s(a_km: float, e: float, drag_scale: float, horizon_s: float) -> float | None:
    def rates(_: float, state: FloatArray) -> list[float]:
        return list(_decay_rates(float(state[0]), float(state[1]), drag_scale))

    def reentry(_: float, state: FloatArray) -> float:
        return float(state[0] * (1.0 - max(state[1], 0.0)) - EARTH_RADIUS_KM - REENTRY_PERIGEE_KM)

    reentry.terminal = True  # type: ignore[attr-defined]
    reentry.direction = -1  # type: ignore[attr-defined]
    solution = solve_ivp(
        rates,
        (0.0, horizon_s),
        [a_km, e],
        method="LSODA",
        events=reentry,
        rtol=1e-6,
        atol=[1e-6, 1e-9],
    )
    events = solution.t_events[0]
    return float(events[0]) if len(events) else None


def orbital_lifetime(satellite: ElementSet | TLE, *, max_years: float = 25.0) -> LifetimeEstimate:
    """Estimate the remaining orbital lifetime from the element set's BSTAR (module notes)."""
    if max_years <= 0:
        raise ValueError("max_years must be positive")
    elements = _element_set(satellite)
    a_km = semi_major_axis_from_mean_motion(elements.mean_motion_rev_per_day)
    e = elements.eccentricity
    perigee = a_km * (1.0 - e) - EARTH_RADIUS_KM
    apogee = a_km * (1.0 + e) - EARTH_RADIUS_KM
    bstar = elements.bstar_per_earth_radius

    def estimate(
        status: LifetimeStatus,
        days: float | None = None,
        spread: tuple[float | None, float | None] = (None, None),
        ballistic: float | None = None,
    ) -> LifetimeEstimate:
        return LifetimeEstimate(
            status=status,
            epoch=elements.epoch,
            lifetime_days=days,
            decay_epoch=None if days is None else elements.epoch + timedelta(days=days),
            lifetime_range_days=spread,
            max_years=max_years,
            perigee_altitude_km=perigee,
            apogee_altitude_km=apogee,
            ballistic_coefficient_m2_kg=ballistic,
        )

    if perigee <= REENTRY_PERIGEE_KM:
        return estimate("decays", 0.0, (0.0, 0.0))
    if perigee > DRAG_FREE_PERIGEE_KM:
        return estimate("exceeds_max_years")
    if bstar <= 0.0:
        return estimate("undetermined")

    ballistic_m2_kg = 2.0 * bstar / (_SGP4_RHO0_KG_M3 * _SGP4_EARTH_RADIUS_M)
    # B·ρ at the epoch perigee as SGP4 has it, then carried by the exponential profile.
    drag_at_perigee_per_m = ballistic_m2_kg * _sgp4_density_kg_m3(perigee, perigee)
    drag_scale_per_km = 1000.0 * drag_at_perigee_per_m / float(exponential_density_kg_m3(perigee))
    horizon_s = max_years * DAYS_PER_YEAR * 86_400.0

    def lifetime_days(factor: float) -> float | None:
        seconds = _time_to_reentry_s(a_km, e, drag_scale_per_km * factor, horizon_s)
        return None if seconds is None else seconds / 86_400.0

    nominal = lifetime_days(1.0)
    spread = (lifetime_days(DENSITY_FACTORS[0]), lifetime_days(DENSITY_FACTORS[1]))
    if nominal is None:
        return estimate("exceeds_max_years", None, spread, ballistic_m2_kg)
    return estimate("decays", nominal, spread, ballistic_m2_kg)


def sgp4_decay_epoch(
    satellite: Satellite, start: datetime, *, max_days: float, step_days: float = 0.05
) -> datetime | None:
    """When SGP4 itself has the object reenter, to ~1 minute; None if not within ``max_days``.

    The independent route used to check :func:`orbital_lifetime`: SGP4's own secular drag
    (its power-law density and BSTAR), stepped until its mean perigee falls below 100 km or it
    reports an error (6 "decayed", or 1-4 once the mean elements collapse). SGP4's drag is a
    polynomial in time fitted near epoch; it decays more slowly than an exponential atmosphere
    towards the end, so it gives the longer of the two lifetimes.
    """
    satrec = as_satrec(satellite)
    epoch_offset_min = (start - _satrec_epoch(satrec)).total_seconds() / 60.0

    def reentered(days: float) -> bool:
        error, _, _ = satrec.sgp4_tsince(epoch_offset_min + days * 1440.0)
        # After a call Satrec holds the mean elements at that time (am in earth radii).
        perigee_km = (satrec.am * (1.0 - satrec.em) - 1.0) * satrec.radiusearthkm
        return bool(error) or perigee_km < REENTRY_PERIGEE_KM

    if reentered(0.0):
        return start
    previous = 0.0
    for day in np.arange(step_days, max_days + step_days, step_days):
        if reentered(float(day)):
            low, high = previous, float(day)
            while (high - low) * 1440.0 > 1.0:
                middle = 0.5 * (low + high)
                low, high = (low, middle) if reentered(middle) else (middle, high)
            return start + timedelta(days=high)
        previous = float(day)
    return None


def _satrec_epoch(satrec: Satrec) -> datetime:
    days = (float(satrec.jdsatepoch) - 2440587.5) + float(satrec.jdsatepochF)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days)
