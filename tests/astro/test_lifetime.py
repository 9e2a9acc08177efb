"""Lifetime: calibration against SGP4's drag, lifetimes against SGP4's own decay, a real
reentry, and high orbits that outlive the horizon."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from tests.astro.test_groundtrack import catalog_object

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.orbit import classical_elements, semi_major_axis_from_mean_motion
from astroshield.astro.ground.lifetime import (
    _decay_rates,
    _sgp4_density_kg_m3,
    exponential_density_kg_m3,
    orbital_lifetime,
    sgp4_decay_epoch,
)

EPOCH = datetime(2024, 11, 1, tzinfo=UTC)
MU = 398_600.4418


def circular(altitude_km: float, bstar: float, eccentricity: float = 0.0005) -> ElementSet:
    a_km = 6378.137 + altitude_km
    return ElementSet(
        catalog_number="99003",
        epoch=EPOCH,
        mean_motion_rev_per_day=86400.0 / (2 * math.pi * math.sqrt(a_km**3 / MU)),
        eccentricity=eccentricity,
        inclination_deg=51.6,
        ra_of_asc_node_deg=10.0,
        arg_of_pericenter_deg=0.0,
        mean_anomaly_deg=0.0,
        bstar_per_earth_radius=bstar,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def test_exponential_atmosphere_reproduces_its_table() -> None:
    # Vallado 4th ed. Table 8-4: base densities at 120, 400 and 1000 km.
    np.testing.assert_allclose(
        exponential_density_kg_m3(np.array([120.0, 400.0, 1000.0])),
        [2.438e-8, 3.725e-12, 3.019e-15],
        rtol=1e-12,
    )
    # Continuous enough across a layer boundary (the table is not exactly continuous).
    below, above = exponential_density_kg_m3(np.array([399.999, 400.0]))
    assert below == pytest.approx(above, rel=0.03)


def _sgp4_mean_decay_rate_km_per_day(elements: ElementSet) -> float:
    """Orbit-averaged osculating semi-major axis from SGP4 at epoch and one day later."""
    satrec = to_satrec(elements)

    def mean_a(start_min: float) -> float:
        values = []
        for minute in np.linspace(start_min, start_min + 92.0, 300, endpoint=False):
            _, r, v = satrec.sgp4_tsince(float(minute))
            values.append(classical_elements(r, v).a_km)
        return float(np.mean(values))

    return mean_a(1440.0) - mean_a(0.0)


@pytest.mark.parametrize(("altitude_km", "bstar"), [(250, 5e-4), (300, 1e-3), (400, 3e-4)])
def test_initial_decay_rate_matches_sgp4_drag(altitude_km: float, bstar: float) -> None:
    """The calibration: at epoch our da/dt is SGP4's (independently, from its states)."""
    elements = circular(altitude_km, bstar)
    a_km = semi_major_axis_from_mean_motion(elements.mean_motion_rev_per_day)
    perigee = a_km * (1 - elements.eccentricity) - 6378.137
    ballistic = 2 * bstar / (2.461e-8 * 6_378_135.0)
    scale = 1000 * ballistic * _sgp4_density_kg_m3(perigee, perigee)
    scale /= float(exponential_density_kg_m3(np.array(perigee)))
    ours, _ = _decay_rates(a_km, elements.eccentricity, scale)
    assert ours * 86400 == pytest.approx(_sgp4_mean_decay_rate_km_per_day(elements), rel=0.10)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("altitude_km", "bstar"), [(250, 5e-4), (300, 1e-3), (350, 2e-3), (400, 3e-3)]
)
def test_lifetime_against_sgp4_own_decay(altitude_km: float, bstar: float) -> None:
    """SGP4 (full drag model, perigee >= 220 km) propagated to decay as the independent route.

    Tolerance: a factor of two, one-sided. SGP4's secular drag is a t⁴ polynomial fitted at
    epoch; it under-represents the final acceleration of the decay, so it reenters later than
    an exponential atmosphere does (by 50-90 % for these cases), while the initial rates agree
    to a few percent (test above).
    """
    elements = circular(altitude_km, bstar)
    estimate = orbital_lifetime(elements)
    sgp4_epoch = sgp4_decay_epoch(elements, EPOCH, max_days=3 * 365)
    assert estimate.status == "decays" and estimate.lifetime_days is not None
    assert sgp4_epoch is not None
    sgp4_days = (sgp4_epoch - EPOCH).total_seconds() / 86400
    assert 1.0 <= sgp4_days / estimate.lifetime_days <= 2.0
    low, high = estimate.lifetime_range_days
    assert low is not None and high is not None
    assert low < estimate.lifetime_days < high
    assert estimate.decay_epoch is not None and estimate.decay_epoch > EPOCH


def test_cosmos_482_descent_craft_reentry_is_inside_the_range() -> None:
    """Reentered 2025-05-10 ~06:24 UTC (Roscosmos, ESA Space Debris Office), 190 days after
    the 2024-10-31 element set of the snapshot."""
    elements = catalog_object("6073")
    estimate = orbital_lifetime(elements)
    actual_days = (datetime(2025, 5, 10, 6, 24, tzinfo=UTC) - elements.epoch).total_seconds()
    low, high = estimate.lifetime_range_days
    assert low is not None and high is not None
    assert low <= actual_days / 86400 <= high


@pytest.mark.parametrize("number", ["26824", "25338"])  # GEO Intelsat 901; NOAA 15 at 810 km
def test_high_orbits_outlive_the_horizon(number: str) -> None:
    estimate = orbital_lifetime(catalog_object(number), max_years=25)
    assert estimate.status == "exceeds_max_years" and estimate.exceeds_max_years
    assert estimate.lifetime_days is None and estimate.decay_epoch is None
    assert "factor" in estimate.uncertainty


def test_no_drag_information_is_undetermined() -> None:
    estimate = orbital_lifetime(circular(300, 0.0))
    assert estimate.status == "undetermined" and estimate.lifetime_days is None


def test_iss_without_reboost_reenters_within_a_few_years() -> None:
    estimate = orbital_lifetime(catalog_object("25544"))
    assert estimate.status == "decays" and estimate.lifetime_days is not None
    assert 60 < estimate.lifetime_days < 3 * 365


def test_max_years_is_validated() -> None:
    with pytest.raises(ValueError, match="max_years"):
        orbital_lifetime(circular(300, 1e-3), max_years=0)
