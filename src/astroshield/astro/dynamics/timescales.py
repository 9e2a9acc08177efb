"""UTC time handling for the frame transforms: two-part Julian dates, TT, UT1 and polar motion.

Everything works offline. Earth orientation parameters (UT1-UTC, polar motion) come from the
IERS-A table bundled with ``astropy-iers-data`` (``finals2000A.all``, which astropy merges with
IERS-B final values); the leap-second table comes from the same package. Importing this module
sets ``astropy.utils.iers.conf.auto_download = False`` so that neither we nor astropy code
running in the same process fetch anything at run time.

Outside the span of the bundled table (before 1973, or more than about a year after the data
package was built) the following documented approximation is used, chosen to match what
astropy itself does in the same situation so that results stay comparable:

* UT1-UTC is held at the first/last tabulated value (astropy's interpolator clips the same way);
* polar motion is the 50-year mean pole, x = 0.035", y = 0.29" (astropy's ``_DEFAULT_PM``);
* no leap seconds are assumed after the last one in the bundled leap-second table.

The error this introduces grows with distance from the table: UT1-UTC drifts with the
accumulated length-of-day excess (historically 0-1 ms/day, i.e. up to a few tenths of a second
per year), and every ms rotates Earth-fixed vs inertial positions by ω·r·1 ms (0.5 m at LEO
radius, 3 m at GEO); the pole wanders up to ~0.3" from its mean (~10 m at GEO radius). So a few
years past the table, Earth-fixed/inertial conversions can be off by hundreds of metres. TEME
<-> GCRF is practically unaffected: UT1 and polar motion enter both halves of the chain
(TEME -> ITRF -> GCRF) and cancel to first order. An
:class:`EopExtrapolationWarning` is issued when this happens.

Julian dates follow the ERFA convention: two doubles ``(jd1, jd2)`` whose sum is the date, and
UTC uses ERFA's "quasi-JD" in which the day fraction is scaled by the length of the day (86401 s
on a day ending in a leap second).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeAlias

import erfa  # pyerfa ships no stubs; pyproject overrides omit it
import numpy as np
from astropy.utils import iers
from numpy.typing import NDArray

iers.conf.auto_download = False

FloatArray: TypeAlias = NDArray[np.float64]
TimeLike: TypeAlias = datetime | Sequence[datetime] | NDArray[np.datetime64] | Any
"""Accepted time inputs: a datetime, a sequence of datetimes, a numpy datetime64 array, an
astropy ``Time``, or a ``(jd1, jd2)`` tuple of UTC Julian-date arrays. Naive datetimes and
datetime64 values are taken to be UTC."""

SECONDS_PER_DAY = 86400.0
_ARCSEC_TO_RAD = np.pi / (180.0 * 3600.0)
# astropy.coordinates.builtin_frames.utils._DEFAULT_PM: 50-yr mean pole used out of range.
MEAN_POLE_X_RAD = 0.035 * _ARCSEC_TO_RAD
MEAN_POLE_Y_RAD = 0.29 * _ARCSEC_TO_RAD


class EopExtrapolationWarning(UserWarning):
    """Some epochs lie outside the bundled IERS table; approximate EOP values were used."""


@dataclass(frozen=True)
class EarthOrientation:
    """Earth orientation parameters at a set of UTC epochs (arrays of shape (N,))."""

    dut1_s: FloatArray
    """UT1 - UTC in seconds."""
    xp_rad: FloatArray
    """Polar motion x in radians."""
    yp_rad: FloatArray
    """Polar motion y in radians."""
    in_table: NDArray[np.bool_]
    """True where the epoch lies inside the tabulated IERS range (no approximation used)."""


@lru_cache(maxsize=1)
def _iers_table() -> Any:
    # Explicitly the bundled file through IERS_A (not IERS_Auto): IERS_Auto refuses predictive
    # values once the table is older than auto_max_age, which would make results depend on the
    # wall-clock date.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return iers.IERS_A.open(iers.IERS_A_FILE)


@lru_cache(maxsize=1)
def _ensure_leap_seconds() -> None:
    # pyerfa's compiled leap-second table may be older than the one astropy-iers-data ships.
    from astropy.time import update_leap_seconds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        update_leap_seconds([iers.IERS_LEAP_SECOND_FILE])


def _datetime64_to_utc_jd(values: NDArray[np.datetime64]) -> tuple[FloatArray, FloatArray]:
    ns = values.astype("datetime64[ns]")
    if np.any(np.isnat(ns)):
        raise ValueError("times contain NaT")
    days = ns.astype("datetime64[D]")
    ns_of_day = (ns - days).astype(np.int64)
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (days - months).astype(np.int64) + 1
    hour = ns_of_day // 3_600_000_000_000
    minute = (ns_of_day // 60_000_000_000) % 60
    sec = (ns_of_day % 60_000_000_000) / 1e9
    _ensure_leap_seconds()
    # dtf2d applies the quasi-JD leap-second-day scaling, exactly as astropy's Time does.
    with warnings.catch_warnings():
        # "dubious year" past the leap-second table's expiry: no new leap seconds assumed.
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        jd1, jd2 = erfa.dtf2d("UTC", year, month, day, hour, minute, sec)
    return np.asarray(jd1, dtype=np.float64), np.asarray(jd2, dtype=np.float64)


def _datetime_to_np(value: datetime) -> np.datetime64:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(value, "us")


def utc_jd(times: TimeLike) -> tuple[FloatArray, FloatArray]:
    """Return the UTC two-part quasi Julian date ``(jd1, jd2)`` of ``times`` as 1-D arrays."""
    if isinstance(times, tuple) and len(times) == 2 and not isinstance(times[0], datetime):
        jd1, jd2 = np.broadcast_arrays(
            np.atleast_1d(np.asarray(times[0], dtype=np.float64)),
            np.atleast_1d(np.asarray(times[1], dtype=np.float64)),
        )
        return jd1.ravel().copy(), jd2.ravel().copy()
    if hasattr(times, "jd1") and hasattr(times, "utc"):  # astropy Time, without importing it
        utc = times.utc
        return (
            np.atleast_1d(np.asarray(utc.jd1, dtype=np.float64)),
            np.atleast_1d(np.asarray(utc.jd2, dtype=np.float64)),
        )
    if isinstance(times, datetime):
        arr = np.array([_datetime_to_np(times)])
    elif isinstance(times, np.ndarray) and np.issubdtype(times.dtype, np.datetime64):
        arr = np.atleast_1d(times)
    elif isinstance(times, np.datetime64):
        arr = np.atleast_1d(np.asarray(times))
    else:
        items = list(times)
        arr = np.array(
            [_datetime_to_np(t) if isinstance(t, datetime) else np.datetime64(t) for t in items],
            dtype="datetime64[ns]",
        )
    return _datetime64_to_utc_jd(arr.ravel())


def utc_to_tt(jd1: FloatArray, jd2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convert a UTC quasi-JD to TT (via TAI, with the bundled leap-second table)."""
    _ensure_leap_seconds()
    with warnings.catch_warnings():
        # "dubious year" past the leap-second table's expiry: we assume no new leap seconds.
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        tai1, tai2 = erfa.utctai(jd1, jd2)
    tt1, tt2 = erfa.taitt(tai1, tai2)
    return np.asarray(tt1, dtype=np.float64), np.asarray(tt2, dtype=np.float64)


def earth_orientation(
    jd1_utc: FloatArray, jd2_utc: FloatArray, *, stacklevel: int = 2
) -> EarthOrientation:
    """Interpolate UT1-UTC and polar motion from the bundled IERS table (see module notes).

    ``stacklevel`` is passed to the :class:`EopExtrapolationWarning` so wrappers can point it at
    their own caller.
    """
    table = _iers_table()
    dut1_q, status_ut1 = table.ut1_utc(jd1_utc, jd2_utc, return_status=True)
    xp_q, yp_q, status_pm = table.pm_xy(jd1_utc, jd2_utc, return_status=True)
    out_codes = (iers.TIME_BEFORE_IERS_RANGE, iers.TIME_BEYOND_IERS_RANGE)
    out_pm = np.isin(np.atleast_1d(status_pm), out_codes)
    out_ut1 = np.isin(np.atleast_1d(status_ut1), out_codes)
    dut1 = np.atleast_1d(np.asarray(dut1_q.to_value("s"), dtype=np.float64))
    xp = np.atleast_1d(np.asarray(xp_q.to_value("rad"), dtype=np.float64)).copy()
    yp = np.atleast_1d(np.asarray(yp_q.to_value("rad"), dtype=np.float64)).copy()
    xp[out_pm] = MEAN_POLE_X_RAD
    yp[out_pm] = MEAN_POLE_Y_RAD
    in_table = ~(out_pm | out_ut1)
    if not np.all(in_table):
        warnings.warn(
            f"{int(np.count_nonzero(~in_table))} epoch(s) outside the bundled IERS table "
            f"(MJD {float(table['MJD'][0].value):.0f}-{float(table['MJD'][-1].value):.0f}); "
            "using the last tabulated UT1-UTC and the mean pole",
            EopExtrapolationWarning,
            stacklevel=stacklevel,
        )
    return EarthOrientation(dut1_s=dut1, xp_rad=xp, yp_rad=yp, in_table=in_table)


def utc_to_ut1(
    jd1: FloatArray, jd2: FloatArray, dut1_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Convert a UTC quasi-JD to UT1 given UT1-UTC in seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        u1, u2 = erfa.utcut1(jd1, jd2, dut1_s)
    return np.asarray(u1, dtype=np.float64), np.asarray(u2, dtype=np.float64)
