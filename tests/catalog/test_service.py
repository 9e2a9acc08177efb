"""Derived catalog columns against an independent reference (the sgp4 library)."""

from __future__ import annotations

import pytest

from astroshield.astro.dynamics.elements import to_satrec
from astroshield.catalog.service import object_type_from_name, orbit_summary
from tests.catalog.conftest import CRYOSAT_TLE, FENGYUN_TLE, csv_sets, tle_sets

# sgp4's sgp4init derives Brouwer mean apsides (Satrec.altp/alta, earth radii of WGS72);
# our summary uses Kepler's third law on the Kozai mean motion. The two differ by the
# un-Kozai correction, O(J2) ~ 1e-3 of the semi-major axis.
WGS72_RADIUS_KM = 6378.135
RELATIVE_TOLERANCE = 1.5e-3


def test_apsides_and_period_agree_with_sgp4() -> None:
    for elements in csv_sets(500):
        satrec = to_satrec(elements)
        summary = orbit_summary(elements)
        a_km = satrec.a * WGS72_RADIUS_KM
        assert summary.perigee_altitude_km == pytest.approx(
            satrec.altp * WGS72_RADIUS_KM, abs=RELATIVE_TOLERANCE * a_km
        )
        assert summary.apogee_altitude_km == pytest.approx(
            satrec.alta * WGS72_RADIUS_KM, abs=RELATIVE_TOLERANCE * a_km
        )
        # Satrec.no_kozai is the mean motion in rad/min.
        assert summary.period_min == pytest.approx(2 * 3.141592653589793 / satrec.no_kozai)
        assert summary.inclination_deg == elements.inclination_deg


def test_regimes_of_known_objects() -> None:
    by_number = {s.catalog_number: s for s in csv_sets(2_000)}
    assert orbit_summary(tle_sets(CRYOSAT_TLE, 1)[0]).regime == "LEO"
    assert orbit_summary(tle_sets(FENGYUN_TLE, 1)[0]).regime == "GEO"
    assert orbit_summary(by_number["7780"]).regime == "HEO"  # MOLNIYA 1-29
    assert orbit_summary(by_number["5"]).regime == "HEO"  # VANGUARD 1, 650 x 3,800 km


@pytest.mark.parametrize(
    ("name", "object_type"),
    [
        ("SL-16 R/B", "ROCKET BODY"),
        ("COSMOS 2251 DEB", "DEBRIS"),
        ("ECHO 1 DEB [METAL OBJ]", "DEBRIS"),
        ("ISS (ZARYA)", None),
        ("DEBUT (ORIZURU)", None),
        (None, None),
    ],
)
def test_object_type_from_catalog_name(name: str | None, object_type: str | None) -> None:
    assert object_type_from_name(name) == object_type
