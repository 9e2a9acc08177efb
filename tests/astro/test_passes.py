"""Look angles against astropy's AltAz and passes against a brute-force 1 s scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ITRS, AltAz, CartesianRepresentation, EarthLocation
from astropy.time import Time
from tests.astro.test_groundtrack import catalog_object

from astroshield.astro.dynamics.frames import teme_to_itrf
from astroshield.astro.dynamics.propagation import propagate
from astroshield.astro.ground.passes import GroundStation, Pass, look_angles, passes

START = datetime(2024, 11, 1, tzinfo=UTC)
DELFT = GroundStation(52.0, 4.37, 0.0, "Delft")


def test_look_angles_match_astropy_altaz_on_100_random_cases() -> None:
    rng = np.random.default_rng(20241101)
    count = 100
    satellites = [catalog_object(n) for n in ("25544", "25338", "26824", "39634")]
    times = np.datetime64("2024-11-01T00:00", "us") + (
        rng.uniform(0, 3 * 86400, count) * 1e6
    ).astype("timedelta64[us]")
    lat = rng.uniform(-89.0, 89.0, count)
    lon = rng.uniform(-180.0, 180.0, count)
    height = rng.uniform(-0.1, 4.0, count)
    which = rng.integers(0, len(satellites), count)
    r_itrf = np.empty((count, 3))
    for index in range(count):
        state = propagate([satellites[which[index]]], times[index : index + 1])
        r_itrf[index], _ = teme_to_itrf(state.r_km[0, 0], state.v_km_s[0, 0], times[index])

    # Reference: astropy's own geodetic station and ITRS -> AltAz rotation, given the same
    # topocentric ITRS vector (a geocentric ITRS input would be routed through CIRS and pick
    # up stellar aberration, which does not apply to an Earth satellite).
    site = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, height * u.km)
    site_km = np.stack([site.x.to_value(u.km), site.y.to_value(u.km), site.z.to_value(u.km)], 1)
    obstime = Time(times, scale="utc")
    topocentric = ITRS(
        CartesianRepresentation((r_itrf - site_km).T * u.km), obstime=obstime, location=site
    )
    reference = topocentric.transform_to(AltAz(obstime=obstime, location=site, pressure=0 * u.hPa))

    for index in range(count):
        station = GroundStation(float(lat[index]), float(lon[index]), float(height[index]))
        ours = look_angles(satellites[which[index]], station, times[index : index + 1])
        az_error = (ours.azimuth_deg[0] - reference.az.deg[index] + 180.0) % 360.0 - 180.0
        assert abs(az_error) * np.cos(np.radians(ours.elevation_deg[0])) < 0.01
        assert abs(ours.elevation_deg[0] - reference.alt.deg[index]) < 0.01
        assert abs(ours.range_km[0] - reference.distance.to_value(u.km)[index]) < 0.010


def test_range_rate_is_the_derivative_of_range() -> None:
    iss = catalog_object("25544")
    times = np.datetime64("2024-11-01T01:04", "us") + np.array([-500, 0, 500], "timedelta64[ms]")
    angles = look_angles(iss, DELFT, times)
    numeric = (angles.range_km[2] - angles.range_km[0]) / 1.0
    assert angles.range_rate_km_s[1] == pytest.approx(numeric, abs=1e-4)


def _brute_force(
    satellite_number: str, station: GroundStation, days: float, min_el: float
) -> tuple[list[tuple[float, float]], np.ndarray]:
    seconds = np.arange(0, int(days * 86400) + 1)
    times = np.datetime64(START.replace(tzinfo=None), "us") + seconds * np.timedelta64(1, "s")
    elevation = look_angles(catalog_object(satellite_number), station, times).elevation_deg
    above = elevation > min_el
    edges = np.flatnonzero(np.diff(above.astype(int))) + 1
    rises = [int(e) for e in edges if above[e]]
    sets = [int(e) for e in edges if not above[e]]
    return list(zip(rises, sets, strict=True)), elevation


@pytest.mark.slow
@pytest.mark.parametrize(("number", "min_el"), [("25544", 0.0), ("25544", 10.0), ("25338", 5.0)])
def test_passes_match_a_one_second_scan(number: str, min_el: float) -> None:
    expected, elevation = _brute_force(number, DELFT, 1.0, min_el)
    found = passes(
        catalog_object(number), DELFT, START, START + timedelta(days=1), min_elevation_deg=min_el
    )
    assert len(found) == len(expected) >= 3
    for item, (rise_s, set_s) in zip(found, expected, strict=True):
        # The scan's first second above the mask is within 1 s after the true rise.
        assert 0 <= rise_s - (item.rise - START).total_seconds() <= 1.0 + 1e-6
        assert 0 <= set_s - (item.set - START).total_seconds() <= 1.0 + 1e-6
        # The peak, by a 10 ms scan within a second of the 1 s scan's highest sample.
        coarse_peak = rise_s + int(np.argmax(elevation[rise_s:set_s]))
        fine = np.datetime64(START.replace(tzinfo=None), "us") + (
            np.arange(-1000, 1001, 10) + coarse_peak * 1000
        ).astype("timedelta64[ms]")
        fine_elevation = look_angles(catalog_object(number), DELFT, fine).elevation_deg
        peak = int(np.argmax(fine_elevation))
        assert item.max_elevation_deg == pytest.approx(fine_elevation[peak], abs=0.01)
        peak_s = coarse_peak + (peak - 100) * 0.01
        assert abs((item.culmination - START).total_seconds() - peak_s) <= 1.0
        assert item.rise < item.culmination < item.set
        assert not item.starts_before_window and not item.ends_after_window


def test_a_grazing_pass_shorter_than_the_grid_step_is_found() -> None:
    full = passes(catalog_object("25544"), DELFT, START, START + timedelta(hours=8))
    lowest = min(full, key=lambda p: p.max_elevation_deg)
    mask = lowest.max_elevation_deg - 0.02  # above the mask for only a few seconds
    window_start = lowest.rise - timedelta(minutes=30)
    grazing = passes(
        catalog_object("25544"),
        DELFT,
        window_start,
        lowest.set + timedelta(minutes=30),
        min_elevation_deg=mask,
    )
    assert len(grazing) == 1
    assert 0 < grazing[0].duration_s < 60
    assert abs((grazing[0].culmination - lowest.culmination).total_seconds()) < 2


def test_a_pass_cut_by_the_window_is_flagged() -> None:
    (first, *_) = passes(catalog_object("25544"), DELFT, START, START + timedelta(hours=3))
    middle = first.culmination
    (cut,) = passes(catalog_object("25544"), DELFT, middle, middle + timedelta(minutes=30))
    assert cut.starts_before_window and cut.rise == middle
    assert cut.set == first.set or abs((cut.set - first.set).total_seconds()) < 0.2
    assert not cut.ends_after_window


def test_a_geostationary_satellite_is_always_in_view_from_below() -> None:
    geo = catalog_object("26824")  # Intelsat 901 near 27.5 W
    station = GroundStation(0.0, -27.5, 0.0)
    (always,) = passes(geo, station, START, START + timedelta(days=1))
    assert isinstance(always, Pass)
    assert always.starts_before_window and always.ends_after_window
    assert always.max_elevation_deg > 80


def test_station_and_window_are_validated() -> None:
    with pytest.raises(ValueError, match="lat_deg"):
        GroundStation(91.0, 0.0)
    with pytest.raises(ValueError, match="after start"):
        passes(catalog_object("25544"), DELFT, START, START)
