"""Vectorised SGP4 propagation of many element sets over many UTC times.

Times are taken as UTC and split into a whole Julian date (ending in .5) and a fraction of a
day, which is what ``SatrecArray.sgp4(jd, fr)`` wants for full precision: the split keeps
~1e-16 day resolution where one float Julian date would only keep ~40 µs.

Accepted times (all 1-D):

* ``numpy.datetime64`` array (any unit; naive, read as UTC),
* a sequence of timezone-aware :class:`datetime.datetime`,
* :class:`JulianDates` (whole + fraction arrays), used as given.

Output states are TEME (the SGP4 frame), km and km/s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
from sgp4.api import Satrec, SatrecArray

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.ids import IdentifierError, normalize_catalog_number

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "JulianDates",
    "PropagationFailure",
    "PropagationResult",
    "SGP4ErrorCode",
    "Satellite",
    "TimesLike",
    "iter_propagate",
    "julian_dates",
    "propagate",
]

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.uint8]


class TleLike(Protocol):
    """A parsed TLE (:class:`astroshield.astro.formats.tle.TLE`, a layer above): it builds
    its own Satrec, so the propagator keeps SGP4's reading of the original lines."""

    @property
    def elements(self) -> ElementSet: ...

    def satrec(self) -> Satrec: ...


Satellite: TypeAlias = ElementSet | TleLike | Satrec

# 1024 objects x 1441 times of r, v and codes is ~72 MB per chunk: bounded memory for a whole
# catalog while each C++ call still has plenty of work to amortise the Python overhead.
DEFAULT_CHUNK_SIZE = 1024
_UNIX_EPOCH_JD = 2440587.5
_NANOSECONDS_PER_DAY = 86_400_000_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SGP4ErrorCode(IntEnum):
    """Codes set by Vallado's SGP4 (``satrec.error``)."""

    OK = 0
    MEAN_ECCENTRICITY_OUT_OF_RANGE = 1
    MEAN_MOTION_NEGATIVE = 2
    PERTURBED_ECCENTRICITY_OUT_OF_RANGE = 3
    SEMI_LATUS_RECTUM_NEGATIVE = 4
    EPOCH_ELEMENTS_SUBORBITAL = 5  # no longer set by sgp4 2.x, kept so old codes have a name
    DECAYED = 6

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    SGP4ErrorCode.OK: "no error",
    SGP4ErrorCode.MEAN_ECCENTRICITY_OUT_OF_RANGE: "mean eccentricity not within 0 <= e < 1",
    SGP4ErrorCode.MEAN_MOTION_NEGATIVE: "mean motion less than zero",
    SGP4ErrorCode.PERTURBED_ECCENTRICITY_OUT_OF_RANGE: (
        "perturbed eccentricity not within 0 <= e <= 1"
    ),
    SGP4ErrorCode.SEMI_LATUS_RECTUM_NEGATIVE: "semi-latus rectum less than zero",
    SGP4ErrorCode.EPOCH_ELEMENTS_SUBORBITAL: "epoch elements are sub-orbital",
    SGP4ErrorCode.DECAYED: "satellite has decayed (radius below the Earth's surface)",
}


@dataclass(frozen=True, slots=True)
class JulianDates:
    """UTC instants as whole Julian dates (at 0h, so ending in .5) plus day fractions."""

    whole: FloatArray
    fraction: FloatArray

    def __post_init__(self) -> None:
        if self.whole.shape != self.fraction.shape or self.whole.ndim != 1:
            raise ValueError(
                f"whole {self.whole.shape} and fraction {self.fraction.shape} "
                "must be 1-D arrays of the same length"
            )

    def __len__(self) -> int:
        return int(self.whole.shape[0])


TimesLike: TypeAlias = npt.NDArray[np.datetime64] | Sequence[datetime] | JulianDates


def julian_dates(times: TimesLike) -> JulianDates:
    """Convert accepted time inputs to contiguous float64 (whole, fraction) arrays."""
    if isinstance(times, JulianDates):
        return JulianDates(
            np.ascontiguousarray(times.whole, dtype=np.float64),
            np.ascontiguousarray(times.fraction, dtype=np.float64),
        )
    if isinstance(times, np.ndarray):
        if not np.issubdtype(times.dtype, np.datetime64):
            raise TypeError(f"times array must be datetime64, got {times.dtype}")
        if times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {times.shape}")
        if np.isnat(times).any():
            raise ValueError("times contain NaT")
        nanoseconds = times.astype("datetime64[ns]").astype(np.int64)
    else:
        nanoseconds = np.fromiter(
            (_nanoseconds_since_unix_epoch(moment) for moment in times), dtype=np.int64
        )
    days, remainder = np.divmod(nanoseconds, _NANOSECONDS_PER_DAY)
    return JulianDates(
        whole=_UNIX_EPOCH_JD + days.astype(np.float64),
        fraction=remainder.astype(np.float64) / _NANOSECONDS_PER_DAY,
    )


def _nanoseconds_since_unix_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(
            f"datetime {moment!r} is naive; pass timezone-aware UTC datetimes "
            "(or numpy datetime64, which is read as UTC)"
        )
    delta = moment - _UNIX_EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1_000


@dataclass(frozen=True, slots=True)
class PropagationFailure:
    """An object for which SGP4 reported an error at one or more times."""

    object_index: int
    catalog_number: str | None
    code: SGP4ErrorCode
    first_failed_time_index: int
    failed_time_count: int

    @property
    def reason(self) -> str:
        return self.code.reason

    def __str__(self) -> str:
        label = self.catalog_number or f"object {self.object_index}"
        return (
            f"{label}: SGP4 error {int(self.code)} ({self.code.name}: {self.reason}) "
            f"from time index {self.first_failed_time_index}, "
            f"{self.failed_time_count} failed times"
        )


@dataclass(frozen=True, slots=True)
class PropagationResult:
    """States of ``len(catalog_numbers)`` objects at ``len(times)`` times (TEME, km, km/s).

    Where ``error_codes`` is non-zero the state is not valid: sgp4 writes NaN for codes 1-4
    but still returns a position for code 6 (decayed), so always check the codes (or
    :meth:`failures`) rather than looking for NaN. ``object_offset`` is the index of the
    first object of this result in the caller's sequence (non-zero for chunks).
    """

    r_km: FloatArray
    v_km_s: FloatArray
    error_codes: CodeArray
    times: JulianDates
    catalog_numbers: tuple[str | None, ...]
    object_offset: int = 0

    @property
    def all_ok(self) -> bool:
        return not self.error_codes.any()

    def failures(self) -> list[PropagationFailure]:
        """One entry per object with any error, with the code at its first failing time."""
        failed_rows = np.flatnonzero(self.error_codes.any(axis=1))
        failures = []
        for row in failed_rows:
            codes = self.error_codes[row]
            failed = codes != 0
            first = int(np.argmax(failed))
            failures.append(
                PropagationFailure(
                    object_index=self.object_offset + int(row),
                    catalog_number=self.catalog_numbers[row],
                    code=SGP4ErrorCode(int(codes[first])),
                    first_failed_time_index=first,
                    failed_time_count=int(np.count_nonzero(failed)),
                )
            )
        return failures


def _as_satrec(satellite: Satellite) -> Satrec:
    if isinstance(satellite, Satrec):
        return satellite
    if isinstance(satellite, ElementSet):
        return to_satrec(satellite)
    return satellite.satrec()


def _catalog_number(satellite: Satellite) -> str | None:
    if isinstance(satellite, ElementSet):
        return satellite.catalog_number
    if not isinstance(satellite, Satrec):
        return satellite.elements.catalog_number
    try:
        return normalize_catalog_number(str(satellite.satnum_str))
    except IdentifierError:
        return None  # satnum 0: an element set whose number does not fit Satrec


def _propagate_into(
    satrecs: list[Satrec],
    dates: JulianDates,
    codes: CodeArray,
    r_km: FloatArray,
    v_km_s: FloatArray,
) -> None:
    # SatrecArray._sgp4 writes into caller-owned C-contiguous buffers; the public .sgp4()
    # allocates fresh arrays, which we would then have to copy (a whole extra pass over
    # ~1.9 GB for a catalog-day). sgp4 is pinned to 2.27, where this method exists.
    SatrecArray(satrecs)._sgp4(dates.whole, dates.fraction, codes, r_km, v_km_s)


def _allocate(objects: int, times: int) -> tuple[CodeArray, FloatArray, FloatArray]:
    return (
        np.empty((objects, times), dtype=np.uint8),
        np.empty((objects, times, 3), dtype=np.float64),
        np.empty((objects, times, 3), dtype=np.float64),
    )


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")


def propagate(
    satellites: Sequence[Satellite],
    times: TimesLike,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PropagationResult:
    """Propagate every satellite to every time; arrays shaped (objects, times[, 3]).

    The output (48 bytes + 1 per state) is allocated once; the SGP4 records are built and
    propagated ``chunk_size`` objects at a time so only one chunk of records exists at once.
    For output larger than memory use :func:`iter_propagate`.
    """
    _check_chunk_size(chunk_size)
    dates = julian_dates(times)
    codes, r_km, v_km_s = _allocate(len(satellites), len(dates))
    for start in range(0, len(satellites), chunk_size):
        stop = min(start + chunk_size, len(satellites))
        chunk = [_as_satrec(satellite) for satellite in satellites[start:stop]]
        _propagate_into(chunk, dates, codes[start:stop], r_km[start:stop], v_km_s[start:stop])
    return PropagationResult(
        r_km=r_km,
        v_km_s=v_km_s,
        error_codes=codes,
        times=dates,
        catalog_numbers=tuple(_catalog_number(satellite) for satellite in satellites),
    )


def iter_propagate(
    satellites: Sequence[Satellite],
    times: TimesLike,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[PropagationResult]:
    """Like :func:`propagate`, one result per chunk of objects, so memory stays bounded.

    Each result owns fresh arrays (safe to keep); ``object_offset`` locates it.
    """
    _check_chunk_size(chunk_size)
    dates = julian_dates(times)
    for start in range(0, len(satellites), chunk_size):
        members = satellites[start : start + chunk_size]
        codes, r_km, v_km_s = _allocate(len(members), len(dates))
        _propagate_into([_as_satrec(item) for item in members], dates, codes, r_km, v_km_s)
        yield PropagationResult(
            r_km=r_km,
            v_km_s=v_km_s,
            error_codes=codes,
            times=dates,
            catalog_numbers=tuple(_catalog_number(item) for item in members),
            object_offset=start,
        )
