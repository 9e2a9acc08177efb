"""Eclipses: the Sun against astropy, entry/exit against a 1 s scan, and known orbit cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import get_body
from astropy.time import Time
from tests.astro.test_groundtrack import catalog_object

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.ground.eclipse import (
    _satellite_gcrf,
    _shadow_functions,
    eclipse_intervals,
    shadow_periods,
    sun_position_gcrf_km,
)

START = datetime(2024, 11, 1, tzinfo=UTC)
MU = 398_600.4418


def geostationary(epoch: datetime) -> ElementSet:
    a_km = 42_164.17
    return ElementSet(
        catalog_number="99002",
        epoch=epoch,
        mean_motion_rev_per_day=86400.0 / (2 * math.pi * math.sqrt(a_km**3 / MU)),
        eccentricity=0.0001,
        inclination_deg=0.05,
        ra_of_asc_node_deg=0.0,
        arg_of_pericenter_deg=0.0,
        mean_anomaly_deg=0.0,
        bstar_per_earth_radius=0.0,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def test_sun_direction_matches_astropy_get_body() -> None:
    times = np.datetime64("2024-01-01", "us") + np.arange(0, 400, 37) * np.timedelta64(1, "D")
    ours = sun_position_gcrf_km(times)
    sun = get_body("sun", Time(times, scale="utc"))  # GCRS
    theirs = sun.cartesian.xyz.to_value(u.km).T
    cosine = np.einsum("ij,ij->i", ours, theirs) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1)
    )
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.01
    np.testing.assert_allclose(
        np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1), rtol=1e-4
    )


@pytest.mark.slow
def test_entry_and_exit_match_a_one_second_scan() -> None:
    iss = catalog_object("25544")
    hours = 6
    intervals = eclipse_intervals(iss, START, START + timedelta(hours=hours))
    seconds = np.arange(0, hours * 3600 + 1)
    times = np.datetime64(START.replace(tzinfo=None), "ns") + seconds * np.timedelta64(1, "s")
    r, ok = _satellite_gcrf(iss, times)
    shadow, umbra = _shadow_functions(r, sun_position_gcrf_km(times), "conical")
    assert ok.all()
    for kind, values in (("any", shadow), ("umbra", umbra)):
        inside = values > 0
        edges = (np.flatnonzero(np.diff(inside.astype(int))) + 1).tolist()
        if kind == "any":
            ours = [t for a, b in shadow_periods(intervals) for t in (a, b)]
        else:
            ours = [t for i in intervals if i.kind == "umbra" for t in (i.start, i.stop)]
        # Ends clipped at the window are not crossings.
        ours_s = [(t - START).total_seconds() for t in ours]
        ours_s = [s for s in ours_s if 0 < s < hours * 3600]
        assert len(ours_s) == len(edges) >= 6
        for ours_edge, scan_edge in zip(ours_s, edges, strict=True):
            assert 0 <= scan_edge - ours_edge <= 1.0 + 1e-6


def test_iss_has_about_sixteen_eclipses_a_day_of_30_to_37_minutes() -> None:
    intervals = eclipse_intervals(catalog_object("25544"), START, START + timedelta(days=1))
    whole = [
        (a, b) for a, b in shadow_periods(intervals) if a > START and b < START + timedelta(days=1)
    ]
    assert 15 <= len(whole) <= 16
    for entry, exit_ in whole:
        assert 30 * 60 <= (exit_ - entry).total_seconds() <= 37 * 60
    penumbrae = [i.duration_s for i in intervals if i.kind == "penumbra"]
    assert all(3 < d < 20 for d in penumbrae[1:-1])  # ~8 s: the Sun's 0.27 deg at 7.7 km/s
    kinds = [i.kind for i in intervals if i.start > START and i.stop < intervals[-1].start]
    assert kinds[:3] == ["penumbra", "umbra", "penumbra"] or kinds[:2] == ["umbra", "penumbra"]


def test_dawn_dusk_sun_synchronous_orbit_has_no_eclipse_in_november() -> None:
    sentinel = catalog_object("39634")  # Sentinel-1A, 06:00/18:00 node, 693 km
    assert eclipse_intervals(sentinel, START, START + timedelta(days=2)) == []


def test_geostationary_eclipses_only_near_the_equinoxes() -> None:
    equinox = datetime(2025, 3, 20, tzinfo=UTC)
    intervals = eclipse_intervals(geostationary(equinox), equinox, equinox + timedelta(days=2))
    whole = shadow_periods(intervals)
    assert len(whole) == 2
    for entry, exit_ in whole:
        assert 65 * 60 <= (exit_ - entry).total_seconds() <= 72 * 60
    umbrae = [i.duration_s for i in intervals if i.kind == "umbra"]
    assert all(60 * 60 < d < 70 * 60 for d in umbrae)
    solstice = datetime(2025, 6, 21, tzinfo=UTC)
    assert eclipse_intervals(geostationary(solstice), solstice, solstice + timedelta(days=2)) == []


def test_cylindrical_shadow_lies_between_umbra_and_penumbra() -> None:
    iss = catalog_object("25544")
    stop = START + timedelta(hours=3)
    conical = shadow_periods(eclipse_intervals(iss, START, stop))
    cylindrical = eclipse_intervals(iss, START, stop, model="cylindrical")
    assert {i.kind for i in cylindrical} == {"umbra"}
    assert len(cylindrical) == len(conical)
    for cylinder, (entry, exit_) in zip(cylindrical, conical, strict=True):
        assert entry <= cylinder.start and cylinder.stop <= exit_


def test_window_and_model_are_validated() -> None:
    with pytest.raises(ValueError, match="model"):
        eclipse_intervals(catalog_object("25544"), START, START + timedelta(hours=1), model="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after start"):
        eclipse_intervals(catalog_object("25544"), START, START)
