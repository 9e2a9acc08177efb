"""On-board time counts <-> UTC across leap seconds, against astropy as the reference."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from astropy.time import Time

from astroshield.tm import timecodes

INSTANTS = [
    datetime(2000, 1, 1, 11, 58, 55, 816000, tzinfo=UTC),  # J2000 itself
    datetime(2015, 6, 30, 23, 59, 59, tzinfo=UTC),  # just before a leap second
    datetime(2015, 7, 1, 0, 0, 0, tzinfo=UTC),  # just after it
    datetime(2016, 12, 31, 23, 59, 58, 500000, tzinfo=UTC),
    datetime(2017, 1, 1, 0, 0, 1, 250000, tzinfo=UTC),
    datetime(2026, 11, 29, 6, 30, 0, 123456, tzinfo=UTC),
]


def astropy_count_us(epoch: str, moment: datetime) -> int:
    time = Time(moment)
    if epoch == "GPS":
        seconds = (time.tai - Time("1980-01-06T00:00:19", scale="tai")).to_value("s")
    elif epoch == "J2000":
        seconds = (time.tt - Time("J2000", scale="tt")).to_value("s")
    elif epoch == "TAI":
        seconds = (time.tai - Time("1958-01-01T00:00:00", scale="tai")).to_value("s")
    else:  # POSIX time, by definition blind to leap seconds: Python's own timestamp
        return round(moment.timestamp() * 1e6)
    return round(seconds * 1e6)


@pytest.mark.parametrize("epoch", ["GPS", "J2000", "TAI", "UNIX"])
@pytest.mark.parametrize("moment", INSTANTS, ids=lambda m: m.isoformat())
def test_counts_match_astropy_and_round_trip(epoch: str, moment: datetime) -> None:
    parsed = timecodes.parse_epoch(epoch)
    count = timecodes.utc_to_count_us(parsed, moment)
    assert count == astropy_count_us(epoch, moment)
    assert timecodes.count_to_utc(parsed, count) == moment


def test_a_count_inside_a_leap_second_maps_to_the_last_instant_before_it() -> None:
    gps = timecodes.parse_epoch("GPS")
    before = timecodes.utc_to_count_us(gps, datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC))
    inside = before + 1_500_000  # 23:59:60.5
    assert timecodes.count_to_utc(gps, inside) == datetime(
        2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC
    )


def test_iso_epochs_and_unknown_names() -> None:
    mission = timecodes.parse_epoch("2010-01-01T00:00:00Z")
    assert timecodes.count_to_utc(mission, 86_400_000_000) == datetime(2010, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither J2000"):
        timecodes.parse_epoch("MARS")
