"""Ground track against astropy's TEME -> ITRS -> WGS84 geodetic chain, segments, PNG output."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ITRS, TEME, CartesianDifferential, CartesianRepresentation
from astropy.time import Time
from matplotlib.image import imread
from tests.astro.paths import CATALOG_CSV

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.propagation import propagate
from astroshield.astro.formats.omm import parse_omm_csv
from astroshield.astro.ground.groundtrack import StationMarker, ground_track, ground_track_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def catalog_object(catalog_number: str) -> ElementSet:
    """One object of the CelesTrak snapshot (2024-11-01), by catalog number."""
    header, *rows = CATALOG_CSV.read_text(encoding="utf-8").splitlines()
    (row,) = [line for line in rows if line.split(",")[11] == catalog_number]
    (elements,) = parse_omm_csv([header, row])
    return elements


def minutes(start: str, count: int, step_s: int = 60) -> np.ndarray:
    return np.datetime64(start, "us") + np.arange(count) * np.timedelta64(step_s, "s")


def test_geodetic_track_matches_astropy() -> None:
    iss = catalog_object("25544")
    times = minutes("2024-11-01T00:00", 200, step_s=37)
    track = ground_track(iss, times)
    states = propagate([iss], times)
    obstime = Time(times, scale="utc")
    teme = TEME(
        CartesianRepresentation(
            states.r_km[0].T * u.km,
            differentials=CartesianDifferential(states.v_km_s[0].T * u.km / u.s),
        ),
        obstime=obstime,
    )
    location = teme.transform_to(ITRS(obstime=obstime)).earth_location
    lon, lat, height = location.to_geodetic("WGS84")
    assert np.all(track.valid)
    np.testing.assert_allclose(track.latitude_deg, lat.deg, atol=1e-6)
    delta_lon = (track.longitude_deg - lon.deg + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(delta_lon, 0.0, atol=1e-6)
    np.testing.assert_allclose(track.altitude_km, height.to_value(u.km), atol=1e-3)


def test_latitude_reaches_the_inclination_and_altitude_is_leo() -> None:
    iss = catalog_object("25544")
    track = ground_track(iss, minutes("2024-11-01T00:00", 24 * 60))
    # Geodetic latitude overshoots the (geocentric) inclination by up to ~0.2 deg.
    assert abs(np.max(np.abs(track.latitude_deg)) - iss.inclination_deg) < 0.3
    assert np.min(track.altitude_km) > 400 and np.max(track.altitude_km) < 440


def test_segments_split_at_the_antimeridian_and_cover_every_point() -> None:
    track = ground_track(catalog_object("25544"), minutes("2024-11-01T00:00", 6 * 60))
    segments = track.segments()
    assert len(segments) >= 4  # ~4 orbits, each crossing +-180 once
    assert sum(s.stop - s.start for s in segments) == len(track.times)
    for segment in segments:
        assert np.all(np.abs(np.diff(track.longitude_deg[segment])) < 180.0)


def test_failed_sgp4_points_are_reported_not_plotted() -> None:
    doomed = ElementSet(
        catalog_number="99001",
        epoch=datetime(2024, 11, 1, tzinfo=UTC),
        mean_motion_rev_per_day=16.3,
        eccentricity=0.001,
        inclination_deg=51.6,
        ra_of_asc_node_deg=0.0,
        arg_of_pericenter_deg=0.0,
        mean_anomaly_deg=0.0,
        bstar_per_earth_radius=0.01,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )
    track = ground_track(doomed, minutes("2024-11-01T00:00", 60, step_s=3600))
    assert track.valid[0] and not track.valid[-1]
    assert np.all(track.error_codes[~track.valid] > 0)
    assert np.all(np.isnan(track.latitude_deg[~track.valid]))
    covered = sum(s.stop - s.start for s in track.segments())
    assert covered == int(np.count_nonzero(track.valid))


def test_decimation_keeps_the_ends() -> None:
    track = ground_track(catalog_object("25544"), minutes("2024-11-01T00:00", 1000))
    small = track.decimated(101)
    assert len(small.times) <= 101
    assert small.times[0] == track.times[0] and small.times[-1] == track.times[-1]


def test_plot_writes_a_png_to_a_path_and_a_buffer(tmp_path: Path) -> None:
    track = ground_track(catalog_object("25544"), minutes("2024-11-01T00:00", 180))
    path = tmp_path / "track.png"
    stations = [StationMarker(52.0, 4.4, "Noordwijk")]
    ground_track_plot(track, path, title="ISS", stations=stations)
    buffer = io.BytesIO()
    ground_track_plot(track, buffer)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert buffer.getvalue()[:8] == PNG_SIGNATURE
    height, width, _ = imread(path).shape
    assert (width, height) == (1000, 540)


@pytest.mark.parametrize("count", [1, 2])
def test_tiny_tracks(count: int) -> None:
    track = ground_track(catalog_object("25544"), minutes("2024-11-01T00:00", count))
    assert len(track.segments()) == 1
