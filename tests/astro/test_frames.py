"""Frame transforms, geodetic conversion and RTN, checked against astropy/ERFA and hand cases.

References: ``astropy.coordinates`` (TEME/ITRS/GCRS with CartesianDifferential velocities) for
the rotations, ``erfa.gc2gd``/``erfa.gd2gc`` for WGS84 geodetic coordinates, and closed-form
geometry for RTN. Requirement tolerances: 1 m in position and 1 mm/s in velocity.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import astropy.units as u
import erfa  # type: ignore[import-untyped]
import numpy as np
import pytest
from astropy.coordinates import GCRS, ITRS, TEME, CartesianDifferential, CartesianRepresentation
from astropy.time import Time
from astropy.utils import iers

from astroshield.astro.dynamics import frames, timescales

MU_EARTH = 398600.4418  # km^3/s^2, WGS84/EGM96 value
POS_TOL_KM = 1e-3  # 1 m, requirement
VEL_TOL_KM_S = 1e-6  # 1 mm/s, requirement


@contextmanager
def astropy_reference() -> Iterator[None]:
    """astropy configured on the same bundled IERS data, offline, allowed past the table end.

    The bundled IERS-A table (through IERS_A, not IERS_Auto, whose behaviour depends on the
    wall-clock age of the table) is the data our implementation uses too, so differences
    measure the transform implementation, not the data.
    """
    with (
        iers.conf.set_temp("auto_download", False),
        iers.conf.set_temp("iers_degraded_accuracy", "ignore"),
        iers.earth_orientation_table.set(iers.IERS_A.open(iers.IERS_A_FILE)),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def random_states(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random epochs 2000-2035 and states with radii LEO..GEO, speeds ~circular."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2000-01-01T00:00:00", "ns")
    span_ns = (np.datetime64("2035-12-31T23:59:59", "ns") - t0).astype(np.int64)
    times = t0 + (rng.random(n) * span_ns).astype(np.int64).astype("timedelta64[ns]")
    radius = rng.uniform(6578.0, 42500.0, n)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    vdir = np.cross(direction, rng.normal(size=(n, 3)))
    vdir /= np.linalg.norm(vdir, axis=1)[:, None]
    speed = np.sqrt(MU_EARTH / radius) * rng.uniform(0.8, 1.2, n)
    return times, direction * radius[:, None], vdir * speed[:, None]


def astropy_xyz(coord: object) -> tuple[np.ndarray, np.ndarray]:
    r = coord.cartesian.xyz.to_value(u.km).T  # type: ignore[attr-defined]
    v = coord.velocity.d_xyz.to_value(u.km / u.s).T  # type: ignore[attr-defined]
    return r, v


def max_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.linalg.norm(a - b, axis=-1)))


# --------------------------------------------------------------------- time scales


def test_utc_jd_matches_astropy_including_leap_second_day() -> None:
    # 2016-12-31 ended with a leap second: ERFA quasi-JD uses an 86401-s day there.
    stamps = ["2016-12-31T12:00:00.123456", "2017-01-01T00:00:00", "2024-02-29T23:59:59.5"]
    jd1, jd2 = timescales.utc_jd(np.array(stamps, dtype="datetime64[ns]"))
    with astropy_reference():
        ref = Time(stamps, scale="utc")
        ref_jd1, ref_jd2 = ref.jd1, ref.jd2
    # 1e-11 day ~ 1 us
    np.testing.assert_allclose((jd1 - ref_jd1) + (jd2 - ref_jd2), 0.0, atol=1e-11)


def test_datetime_inputs_equivalent() -> None:
    aware = datetime(2021, 6, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2021, 6, 1, 12, 0, 0)  # noqa: DTZ001  # naive means UTC by contract
    a = timescales.utc_jd(aware)
    b = timescales.utc_jd([naive])
    c = timescales.utc_jd(np.datetime64("2021-06-01T12:00:00"))
    d = timescales.utc_jd(Time("2021-06-01T12:00:00", scale="utc"))
    for other in (b, c, d):
        assert other[0][0] + other[1][0] == pytest.approx(a[0][0] + a[1][0], abs=1e-12)


def test_eop_beyond_table_warns_and_uses_mean_pole() -> None:
    far = datetime(2034, 1, 1, tzinfo=UTC)
    jd1, jd2 = timescales.utc_jd(far)
    with pytest.warns(timescales.EopExtrapolationWarning):
        eop = timescales.earth_orientation(jd1, jd2)
    assert not eop.in_table[0]
    # astropy _DEFAULT_PM = (0.035", 0.29")
    assert eop.xp_rad[0] == pytest.approx(0.035 / 206264.80624709636, rel=1e-12)
    assert eop.yp_rad[0] == pytest.approx(0.29 / 206264.80624709636, rel=1e-12)


def test_no_download_configured_and_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    import astropy.utils.data

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(astropy.utils.data, "download_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert iers.conf.auto_download is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", timescales.EopExtrapolationWarning)
        frames.teme_to_gcrf([7000.0, 0.0, 0.0], [0.0, 7.5, 0.0], datetime(2040, 1, 1, tzinfo=UTC))


# ------------------------------------------------------------- rotations vs astropy


def test_teme_to_gcrf_and_itrf_match_astropy_1000_random_states() -> None:
    times, r, v = random_states(1000, seed=20251125)
    with astropy_reference():
        obstime = Time(times, scale="utc")
        rep = CartesianRepresentation(
            r.T * u.km, differentials=CartesianDifferential(v.T * u.km / u.s)
        )
        teme = TEME(rep, obstime=obstime)
        ref_gcrs = astropy_xyz(teme.transform_to(GCRS(obstime=obstime)))
        ref_itrs = astropy_xyz(teme.transform_to(ITRS(obstime=obstime)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", timescales.EopExtrapolationWarning)
        r_g, v_g = frames.teme_to_gcrf(r, v, times)
        r_i, v_i = frames.teme_to_itrf(r, v, times)
    # Measured 2026-11-25: GCRS 2.2e-6 m / 2.8e-3 mm/s, ITRS 1.9e-6 m / 8.8e-3 mm/s.
    assert max_err(r_g, ref_gcrs[0]) < POS_TOL_KM
    assert max_err(v_g, ref_gcrs[1]) < VEL_TOL_KM_S
    assert max_err(r_i, ref_itrs[0]) < POS_TOL_KM
    assert max_err(v_i, ref_itrs[1]) < VEL_TOL_KM_S


def test_inverse_transforms_match_astropy() -> None:
    times, r, v = random_states(300, seed=7)
    with astropy_reference():
        obstime = Time(times, scale="utc")
        rep = CartesianRepresentation(
            r.T * u.km, differentials=CartesianDifferential(v.T * u.km / u.s)
        )
        gcrs = GCRS(rep, obstime=obstime)
        itrs = ITRS(rep, obstime=obstime)
        ref_g2t = astropy_xyz(gcrs.transform_to(TEME(obstime=obstime)))
        ref_i2t = astropy_xyz(itrs.transform_to(TEME(obstime=obstime)))
        ref_g2i = astropy_xyz(gcrs.transform_to(ITRS(obstime=obstime)))
        ref_i2g = astropy_xyz(itrs.transform_to(GCRS(obstime=obstime)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", timescales.EopExtrapolationWarning)
        ours = {
            "g2t": frames.gcrf_to_teme(r, v, times),
            "i2t": frames.itrf_to_teme(r, v, times),
            "g2i": frames.gcrf_to_itrf(r, v, times),
            "i2g": frames.itrf_to_gcrf(r, v, times),
        }
    refs = {"g2t": ref_g2t, "i2t": ref_i2t, "g2i": ref_g2i, "i2g": ref_i2g}
    for key, (r_ref, v_ref) in refs.items():
        assert max_err(ours[key][0], r_ref) < POS_TOL_KM, key
        assert max_err(ours[key][1], v_ref) < VEL_TOL_KM_S, key


def test_round_trip_and_single_epoch_broadcast() -> None:
    _, r, v = random_states(50, seed=3)
    epoch = datetime(2024, 3, 20, 3, 6, tzinfo=UTC)
    r_g, v_g = frames.teme_to_gcrf(r, v, epoch)
    r_back, v_back = frames.gcrf_to_teme(r_g, v_g, epoch)
    np.testing.assert_allclose(r_back, r, atol=1e-9)
    np.testing.assert_allclose(v_back, v, atol=1e-12)
    # single state in, single state out, same numbers as the batched call
    r1, v1 = frames.teme_to_gcrf(r[5], v[5], epoch)
    assert r1.shape == (3,)
    np.testing.assert_allclose(r1, r_g[5], atol=1e-12)
    np.testing.assert_allclose(v1, v_g[5], atol=1e-15)


def test_mismatched_epoch_count_rejected() -> None:
    _, r, v = random_states(4, seed=1)
    times = np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]")
    with pytest.raises(ValueError, match="4 states but 2 epochs"):
        frames.teme_to_itrf(r, v, times)


# -------------------------------------------------------------------- geodetic


def test_geodetic_matches_erfa_gc2gd() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    lat = np.arcsin(rng.uniform(-1.0, 1.0, n))
    lon = rng.uniform(-np.pi, np.pi, n)
    h_km = rng.uniform(-0.5, 40000.0, n)
    # ERFA reference: WGS84 is ERFA ellipsoid id 1; ERFA works in metres.
    xyz_m = erfa.gd2gc(1, lon, lat, h_km * 1e3)
    r_km = xyz_m / 1e3
    np.testing.assert_allclose(frames.geodetic_to_itrf(lat, lon, h_km), r_km, atol=1e-9)
    ref_lon, ref_lat, ref_h_m = erfa.gc2gd(1, xyz_m)
    g_lat, g_lon, g_h = frames.itrf_to_geodetic(r_km)
    np.testing.assert_allclose(g_lat, ref_lat, atol=1e-12)  # ~6 um on the surface
    np.testing.assert_allclose(g_lon, ref_lon, atol=1e-12)
    np.testing.assert_allclose(g_h, ref_h_m / 1e3, atol=1e-9)  # 1 um


def test_geodetic_hand_cases() -> None:
    a = frames.WGS84_A_KM
    b = a * (1 - frames.WGS84_F)  # 6356.7523142 km (NIMA TR8350.2)
    lat, lon, h = frames.itrf_to_geodetic(np.array([[a + 500, 0, 0], [0, 0, b], [0, a, 0]]))
    np.testing.assert_allclose(lat, [0.0, np.pi / 2, 0.0], atol=1e-14)
    np.testing.assert_allclose(lon[[0, 2]], [0.0, np.pi / 2], atol=1e-14)
    np.testing.assert_allclose(h, [500.0, 0.0, 0.0], atol=1e-9)
    assert b == pytest.approx(6356.7523142, abs=1e-7)
    with pytest.raises(ValueError, match="geocentre"):
        frames.itrf_to_geodetic([0.0, 0.0, 0.0])


# ------------------------------------------------------------------------- RTN


def test_rtn_hand_case_circular_orbit() -> None:
    # r along +y, v along -x (prograde, counter-clockwise about +z):
    # R = +y, N = r x v / |r x v| = +z, T = N x R = -x.
    r = np.array([0.0, 7000.0, 0.0])
    v = np.array([-np.sqrt(MU_EARTH / 7000.0), 0.0, 0.0])
    m = frames.rtn_rotation(r, v)
    np.testing.assert_allclose(m, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-15)
    cov = np.diag([1.0, 4.0, 9.0])  # sigma_x=1, sigma_y=2, sigma_z=3 km
    np.testing.assert_allclose(frames.covariance_to_rtn(cov, r, v), np.diag([4.0, 1.0, 9.0]))
    # polar orbit at the ascending node: r=+x, v=+z -> R=+x, N = x × z = -y, T = N × R = +z
    m2 = frames.rtn_rotation([7000.0, 0, 0], [0, 0, 7.5])
    np.testing.assert_allclose(m2, [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-15)


def test_rtn_orthonormal_and_covariance_round_trip() -> None:
    _, r, v = random_states(200, seed=5)
    m = frames.rtn_rotation(r, v)
    eye = np.broadcast_to(np.eye(3), m.shape)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), eye, atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-14)  # right-handed
    rng = np.random.default_rng(9)
    a = rng.normal(size=(200, 6, 6))
    cov6 = a @ np.swapaxes(a, -1, -2)
    for rotating in (False, True):
        c_rtn = frames.covariance_to_rtn(cov6, r, v, rotating=rotating)
        back = frames.covariance_from_rtn(c_rtn, r, v, rotating=rotating)
        np.testing.assert_allclose(back, cov6, rtol=1e-10, atol=1e-10)
    cov3 = cov6[:, :3, :3]
    back3 = frames.covariance_from_rtn(frames.covariance_to_rtn(cov3, r, v), r, v)
    np.testing.assert_allclose(back3, cov3, rtol=1e-12, atol=1e-12)
    # block-diagonal default: the position block is the 3x3 rotation
    np.testing.assert_allclose(
        frames.covariance_to_rtn(cov6, r, v)[:, :3, :3],
        frames.covariance_to_rtn(cov3, r, v),
        atol=1e-12,
    )


def test_rotating_rtn_along_track_neighbour_is_stationary() -> None:
    # Two points on the same circular orbit, phase offset dtheta: in the rotating RTN frame the
    # neighbour sits at T = r*dtheta with zero relative velocity (to first order in dtheta).
    radius = 7000.0
    n = np.sqrt(MU_EARTH / radius**3)
    dtheta = 1e-6

    def state(theta: float) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(theta), np.sin(theta)
        return radius * np.array([c, s, 0.0]), radius * n * np.array([-s, c, 0.0])

    r0, v0 = state(0.3)
    r1, v1 = state(0.3 + dtheta)
    rel = np.concatenate([r1 - r0, v1 - v0])
    rot = frames.rtn_state_jacobian(r0, v0, rotating=True) @ rel
    np.testing.assert_allclose(rot[:3], [0.0, radius * dtheta, 0.0], atol=radius * dtheta**2)
    np.testing.assert_allclose(rot[3:], 0.0, atol=radius * n * dtheta**2)
    # the non-rotating (CDM) convention instead shows the full -n*r*dtheta radial velocity
    inert = frames.rtn_state_jacobian(r0, v0) @ rel
    assert inert[3] == pytest.approx(-radius * n * dtheta, rel=1e-5)


def test_extrapolation_warning_points_at_caller() -> None:
    with pytest.warns(timescales.EopExtrapolationWarning) as record:
        frames.teme_to_itrf([7000.0, 0.0, 0.0], [0.0, 7.5, 0.0], datetime(2045, 1, 1, tzinfo=UTC))
    assert record[0].filename == __file__


def test_teme_to_itrf_vallado_2006_published_case() -> None:
    # Vallado, Crawford, Hujsak, Kelso, "Revisiting Spacetrack Report #3", AIAA 2006-6753,
    # TEME -> ITRF example at 2004-04-06 07:51:28.386009 UTC. The paper used
    # dUT1 = -0.4399619 s, xp = -0.140682", yp = 0.333309"; the bundled IERS C04 values differ
    # by 0.48 ms in dUT1, i.e. omega * 7968 km * 0.48 ms = 0.28 m along the equator, so the
    # tolerance is 0.5 m and 0.5 mm/s instead of the paper's printed precision.
    epoch = np.datetime64("2004-04-06T07:51:28.386009", "ns")
    r_teme = np.array([5094.18016210, 6127.64465950, 6380.34453270])
    v_teme = np.array([-4.746131487, 0.785818041, 5.531931288])
    r_itrf, v_itrf = frames.teme_to_itrf(r_teme, v_teme, epoch)
    np.testing.assert_allclose(r_itrf, [-1033.4793830, 7901.2952754, 6380.3565958], atol=5e-4)
    np.testing.assert_allclose(v_itrf, [-3.225636520, -2.872451450, 5.531924446], atol=5e-7)
