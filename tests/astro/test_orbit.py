"""Orbit geometry against published values (Vallado 4th ed. examples) and the orbit
classes of well-known objects in the shared CelesTrak catalog."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.astro.paths import CATALOG_CSV

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.orbit import (
    ClassicalElements,
    OrbitClass,
    Regime,
    classical_elements,
    esa_orbit_class,
    orbital_period_s,
    regime,
    semi_major_axis_from_mean_motion,
    state_from_elements,
)
from astroshield.astro.formats.omm import read_omm_file


def test_rv2coe_vallado_example_2_5() -> None:
    # Vallado, Fundamentals of Astrodynamics and Applications (4th ed.), Example 2-5:
    # r = 6524.834 I + 6862.875 J + 6448.296 K km, v = 4.901327 I + 5.533756 J - 1.976341 K km/s
    # -> p = 11067.790 km, a = 36127.343 km, e = 0.832853, i = 87.870 deg,
    #    RAAN = 227.89 deg, argp = 53.38 deg, true anomaly = 92.335 deg.
    elements = classical_elements([6524.834, 6862.875, 6448.296], [4.901327, 5.533756, -1.976341])
    # The example's inputs are rounded to 1 m and 1 mm/s, which moves p = h^2/mu by up to
    # ~1e-6 relative (~0.01 km in p and a); the printed values carry that rounding.
    assert elements.p_km == pytest.approx(11067.790, abs=1e-2)
    assert elements.a_km == pytest.approx(36127.343, abs=1e-2)
    assert elements.e == pytest.approx(0.832853, abs=1e-6)
    assert elements.i_deg == pytest.approx(87.870, abs=1e-3)
    assert elements.raan_deg == pytest.approx(227.89, abs=1e-2)
    assert elements.argp_deg == pytest.approx(53.38, abs=1e-2)
    assert elements.true_anomaly_deg == pytest.approx(92.335, abs=1e-3)


def test_coe2rv_inverts_rv2coe() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        a = rng.uniform(6600, 45000)
        e = rng.uniform(0.001, 0.9)
        if a * (1 - e) < 6400:
            continue
        original = ClassicalElements(
            p_km=a * (1 - e**2),
            a_km=a,
            e=e,
            i_deg=rng.uniform(0.5, 179.5),
            raan_deg=rng.uniform(0, 360),
            argp_deg=rng.uniform(0, 360),
            true_anomaly_deg=rng.uniform(0, 360),
        )
        r, v = state_from_elements(original)
        back = classical_elements(r, v)
        r2, v2 = state_from_elements(back)
        assert np.allclose(r, r2, atol=1e-6) and np.allclose(v, v2, atol=1e-9)
        assert back.a_km == pytest.approx(a, rel=1e-9)
        assert back.e == pytest.approx(e, abs=1e-9)


def test_vis_viva_and_period() -> None:
    _, v = state_from_elements(
        ClassicalElements(
            p_km=7000.0,
            a_km=7000.0,
            e=0.0,
            i_deg=51.6,
            raan_deg=10,
            argp_deg=0,
            true_anomaly_deg=30,
        )
    )
    assert float(np.linalg.norm(v)) == pytest.approx(math.sqrt(398600.4418 / 7000.0), rel=1e-12)
    # Geosynchronous: one sidereal day (86164.0905 s) at a = 42164.17 km.
    assert orbital_period_s(42164.17) == pytest.approx(86164.09, abs=1.0)
    assert semi_major_axis_from_mean_motion(1.0027379) == pytest.approx(42164.2, abs=1.0)


def test_degenerate_states_are_refused() -> None:
    with pytest.raises(ValueError, match="rectilinear"):
        classical_elements([7000.0, 0, 0], [1.0, 0, 0])
    with pytest.raises(ValueError, match="non-zero position"):
        classical_elements([0.0, 0, 0], [1.0, 0, 0])


@pytest.fixture(scope="module")
def catalog() -> dict[str, ElementSet]:
    return {element.catalog_number: element for element in read_omm_file(CATALOG_CSV)}


@pytest.mark.parametrize(
    ("catalog_number", "esa_class", "expected_regime"),
    [
        ("25544", OrbitClass.LEO, Regime.LEO),  # ISS
        ("41866", OrbitClass.GEO, Regime.GEO),  # GOES 16, geostationary
        ("10684", OrbitClass.NSO, Regime.MEO),  # NAVSTAR 1, GPS plane
        # MOLNIYA 2-9: perigee 1,770 km, apogee 31,940 km lies in ESA's GTO box; at 64 deg
        # it is a Molniya orbit, the canonical HEO.
        ("7276", OrbitClass.GTO, Regime.HEO),
        ("862", OrbitClass.GTO, Regime.GTO),  # DELTA 1 R/B, transfer orbit
    ],
)
def test_orbit_classes_of_known_objects(
    catalog: dict[str, ElementSet],
    catalog_number: str,
    esa_class: OrbitClass,
    expected_regime: Regime,
) -> None:
    element = catalog[catalog_number]
    a = semi_major_axis_from_mean_motion(element.mean_motion_rev_per_day)
    e, i = element.eccentricity, element.inclination_deg
    assert esa_orbit_class(a, e, i) is esa_class
    assert regime(a, e, i) is expected_regime
