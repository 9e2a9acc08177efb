"""Spacecraft time codes: seconds counted from an XTCE epoch <-> UTC datetimes.

On-board clocks count uniform seconds, with no leap seconds, so converting the count to UTC
needs the leap-second table (TAI-UTC, from ERFA). The XTCE named epochs (CCSDS 660.1-G-2
4.3.2.4.9) are supported:

* ``J2000``: seconds of TT since 2000-01-01T12:00:00 TT (= 11:58:55.816 UTC), the usual
  epoch of CCSDS Unsegmented Code (CUC) time in mission secondary headers;
* ``TAI``: seconds of TAI since 1958-01-01T00:00:00 TAI (the CCSDS 301.0-B-4 level 1 epoch);
* ``GPS``: GPS seconds since 1980-01-06T00:00:00 UTC (GPS = TAI - 19 s);
* ``UNIX`` / ``POSIX``: POSIX seconds since 1970-01-01T00:00:00 UTC (leap seconds are not
  counted, by definition);
* an ``xs:dateTime`` (e.g. ``2010-01-01T00:00:00``): read as a UTC instant with POSIX-style
  counting, as ground software usually treats a mission-elapsed-time epoch.

Times are exact to the microsecond (``datetime``'s resolution); a count that falls inside a
positive leap second (23:59:60) is reported as 23:59:59.999999 since ``datetime`` cannot
represent it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import erfa

_MICROSECONDS = 1_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Epoch:
    """Where the count starts (as UTC) and whether it counts leap seconds.

    ``tai_minus_utc_at_epoch`` is the TAI-UTC offset the counting scale shares with UTC at
    the epoch, so that ``count = (utc - utc_epoch) + (TAI-UTC(utc) - tai_minus_utc_at_epoch)``
    for uniform scales.
    """

    name: str
    utc: datetime
    uniform: bool
    tai_minus_utc_at_epoch: float = 0.0


def _named_epochs() -> dict[str, Epoch]:
    return {
        # TT = TAI + 32.184 s; at J2000 TAI-UTC was 32 s, so 12:00:00 TT = 11:58:55.816 UTC.
        "J2000": Epoch("J2000", datetime(2000, 1, 1, 11, 58, 55, 816000, tzinfo=UTC), True, 32.0),
        # TAI and UT2 coincided at 1958-01-01; before 1972 ERFA's drift model applies.
        "TAI": Epoch("TAI", datetime(1958, 1, 1, tzinfo=UTC), True, 0.0),
        "GPS": Epoch("GPS", datetime(1980, 1, 6, tzinfo=UTC), True, 19.0),
        "UNIX": Epoch("UNIX", _UNIX_EPOCH, False),
        "POSIX": Epoch("POSIX", _UNIX_EPOCH, False),
    }


def parse_epoch(text: str) -> Epoch:
    """An XTCE ``<Epoch>`` value; raises ValueError for anything else."""
    value = text.strip()
    named = _named_epochs().get(value.upper())
    if named is not None:
        return named
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"epoch {text!r} is neither J2000, TAI, GPS, UNIX, POSIX nor an ISO 8601 date-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Epoch(value, parsed.astimezone(UTC), False)


@lru_cache(maxsize=4096)
def _tai_minus_utc_on(day: date) -> float:
    # Constant over a UTC day since 1972 (leap seconds are inserted at the end of a day);
    # the pre-1972 drift is evaluated at midday, well within its own uncertainty.
    with warnings.catch_warnings():
        # "dubious year": past the table's horizon no new leap seconds are assumed.
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        return float(erfa.dat(day.year, day.month, day.day, 0.5))


def tai_minus_utc(utc: datetime) -> float:
    return _tai_minus_utc_on(utc.astimezone(UTC).date())


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _MICROSECONDS + delta.microseconds


def utc_to_count_us(epoch: Epoch, utc: datetime) -> int:
    """Microseconds the on-board clock shows at ``utc``."""
    elapsed = _micros(utc.astimezone(UTC) - epoch.utc)
    if epoch.uniform:
        leap = tai_minus_utc(utc) - epoch.tai_minus_utc_at_epoch
        elapsed += round(leap * _MICROSECONDS)
    return elapsed


def count_to_utc(epoch: Epoch, count_us: int) -> datetime:
    """UTC of an on-board count of ``count_us`` microseconds since ``epoch``."""
    naive = epoch.utc + timedelta(microseconds=count_us)
    if not epoch.uniform:
        return naive
    # Leap seconds elapsed since the epoch are evaluated at the answer itself; two passes
    # settle it, since the offset only changes at a day boundary.
    guess = naive
    for _ in range(2):
        leap = tai_minus_utc(guess) - epoch.tai_minus_utc_at_epoch
        guess = naive - timedelta(microseconds=round(leap * _MICROSECONDS))
    if utc_to_count_us(epoch, guess) != count_us:
        # Inside an inserted leap second: the last representable instant before it.
        end_of_day = datetime.combine(guess.date(), datetime.min.time(), tzinfo=UTC)
        return end_of_day - timedelta(microseconds=1)
    return guess
