"""Typed SGP4 mean-element set shared by the TLE and OMM readers and the propagator.

Units follow the TLE/OMM conventions (CCSDS 502.0-B-3 with the SGP4 mean element theory), so a
value read from either format is stored exactly as written there: mean motion in rev/day,
angles in degrees, ``mean_motion_dot`` already divided by 2 (rev/day²) and
``mean_motion_ddot`` already divided by 6 (rev/day³), BSTAR in 1/earth radii.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sgp4.api import WGS72, Satrec

from astroshield.astro.dynamics.orbit import (
    EARTH_EQUATORIAL_RADIUS_KM,
    semi_major_axis_from_mean_motion,
)
from astroshield.astro.ids import (
    MAX_ALPHA5,
    normalize_catalog_number,
    normalize_cospar_id,
)

__all__ = [
    "EARLIEST_EPOCH",
    "LATEST_EPOCH",
    "MAX_MEAN_MOTION_REV_PER_DAY",
    "MIN_PERIGEE_RADIUS_KM",
    "SGP4_EPOCH_ORIGIN",
    "ElementSet",
    "ElementSetError",
    "epoch_to_julian_date",
    "normalize_object_id",
    "to_satrec",
]

# sgp4init counts epoch days from 1949-12-31 00:00 UTC (Julian date 2433281.5).
SGP4_EPOCH_ORIGIN = datetime(1949, 12, 31, tzinfo=UTC)
SGP4_EPOCH_ORIGIN_JD = 2433281.5
MICROSECONDS_PER_DAY = 86_400_000_000

# Unit conversions used by sgp4's own sgp4/omm.py (and SGP4.cpp twoline2rv): minutes per day
# and radians per revolution turn rev/day into rad/min.
_DEG_TO_RAD = math.pi / 180.0
_REV_PER_DAY_TO_RAD_PER_MIN = math.pi / 720.0
_NDOT_UNITS = 1036800.0 / math.pi
_NDDOT_UNITS = 2985984000.0 / 2.0 / math.pi


def normalize_object_id(value: str) -> str:
    """Canonical COSPAR id of a catalog object; launch-only designators (``1970-025``) kept."""
    return normalize_cospar_id(value, allow_launch_only=True)


class ElementSetError(ValueError):
    """An element set whose values SGP4 cannot use or no real orbit can have.

    ``field`` is the :class:`ElementSet` attribute at fault (readers map it to their TLE
    columns or OMM keyword); ``reason`` says what is wrong with its value.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# Physical bounds every element set from outside must meet (the readers of every format and
# the database loader construct ElementSet, so this is the one place they are checked).
EARLIEST_EPOCH = datetime(1957, 1, 1, tzinfo=UTC)  # the TLE two-digit years start at 1957
LATEST_EPOCH = datetime(2100, 1, 1, tzinfo=UTC)
# A circular orbit grazing the equator makes 17.07 rev/day; no Earth orbit is faster.
MAX_MEAN_MOTION_REV_PER_DAY = 17.0
# Published sets of objects in their last revolutions put the mean-element perigee a little
# under the surface (Vallado's SGP4-VER case 28872, a Minotaur R/B, 48 km under); a perigee
# deeper than a tenth of the Earth's radius is a typo (e = 0.7 for 0.007) or garbage.
MIN_PERIGEE_RADIUS_KM = 0.9 * EARTH_EQUATORIAL_RADIUS_KM
# Angles may arrive in -360..360 (the CCSDS OMM XML schema's range); they are stored in 0..360.
_ANGLE_LIMIT_DEG = 360.0
_NORMALISED_ANGLES = ("ra_of_asc_node_deg", "arg_of_pericenter_deg", "mean_anomaly_deg")
_FINITE_FIELDS = (
    "mean_motion_rev_per_day",
    "eccentricity",
    "inclination_deg",
    *_NORMALISED_ANGLES,
    "bstar_per_earth_radius",
    "mean_motion_dot_rev_per_day2",
    "mean_motion_ddot_rev_per_day3",
)
# Counters fit a 32-bit column; TLEs keep the last 4 and 5 digits of them.
_MAX_COUNTER = 999_999_999


@dataclass(frozen=True, slots=True)
class ElementSet:
    """One SGP4 (Kozai mean elements, TEME) element set.

    ``catalog_number`` is the canonical string from :func:`normalize_catalog_number`
    (``"25544"``, ``"100001"`` for Alpha-5 ``A0001``); ``object_id`` the canonical COSPAR id
    (``"1998-067A"``, or launch-only ``"1970-025"``, see :func:`normalize_object_id`) or ``None``
    when the source leaves it blank. ``epoch`` is timezone-aware
    UTC; a TLE epoch (8 decimal places of a day = multiples of 864 µs) is held exactly.

    Construction refuses, with :class:`ElementSetError` naming the field, any value no real
    Earth orbit can have: non-finite numbers, ``e`` outside ``0 <= e < 1``, inclination
    outside 0-180°, mean motion outside ``0 < n <= 17`` rev/day, a perigee deep inside the
    Earth, angles outside -360..360° and epochs outside 1957-2099. Node, argument of perigee
    and mean anomaly are stored normalised to ``0 <= angle < 360``.
    """

    catalog_number: str
    epoch: datetime
    mean_motion_rev_per_day: float
    eccentricity: float
    inclination_deg: float
    ra_of_asc_node_deg: float
    arg_of_pericenter_deg: float
    mean_anomaly_deg: float
    bstar_per_earth_radius: float
    mean_motion_dot_rev_per_day2: float
    mean_motion_ddot_rev_per_day3: float
    object_name: str | None = None
    object_id: str | None = None
    classification: str = "U"
    ephemeris_type: int = 0
    element_set_number: int = 999
    rev_at_epoch: int = 0

    def __post_init__(self) -> None:
        if normalize_catalog_number(self.catalog_number) != self.catalog_number:
            raise ElementSetError(
                "catalog_number",
                f"{self.catalog_number!r} is not canonical; "
                "pass it through normalize_catalog_number()",
            )
        if self.object_id is not None and normalize_object_id(self.object_id) != self.object_id:
            raise ElementSetError(
                "object_id",
                f"{self.object_id!r} is not canonical; pass it through normalize_object_id()",
            )
        self._check_epoch()
        for name in _FINITE_FIELDS:
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ElementSetError(name, f"{value!r} is not a finite number")
        self._check_shape()
        for name in _NORMALISED_ANGLES:
            value = getattr(self, name)
            if not -_ANGLE_LIMIT_DEG <= value <= _ANGLE_LIMIT_DEG:
                raise ElementSetError(name, f"{value!r} deg is outside -360..360")
            normalised = value % 360.0
            # -1e-17 % 360.0 rounds to 360.0 itself.
            object.__setattr__(self, name, 0.0 if normalised == 360.0 else normalised)
        if len(self.classification) != 1:
            raise ElementSetError(
                "classification", f"{self.classification!r} must be one character (U, C, S)"
            )
        for name in ("ephemeris_type", "element_set_number", "rev_at_epoch"):
            value = getattr(self, name)
            limit = 9 if name == "ephemeris_type" else _MAX_COUNTER
            if not 0 <= value <= limit:
                raise ElementSetError(name, f"{value!r} is outside 0..{limit}")

    def _check_epoch(self) -> None:
        if self.epoch.tzinfo is None or self.epoch.utcoffset() != timedelta(0):
            raise ElementSetError("epoch", f"{self.epoch!r} must be timezone-aware UTC")
        if not EARLIEST_EPOCH <= self.epoch < LATEST_EPOCH:
            raise ElementSetError(
                "epoch", f"{self.epoch.isoformat()} is outside 1957-01-01..2099-12-31"
            )

    def _check_shape(self) -> None:
        """Eccentricity, inclination, mean motion and the perigee they give."""
        e, n = self.eccentricity, self.mean_motion_rev_per_day
        if not 0.0 <= e < 1.0:
            raise ElementSetError("eccentricity", f"{e!r} is not within 0 <= e < 1")
        if not 0.0 <= self.inclination_deg <= 180.0:
            raise ElementSetError(
                "inclination_deg", f"{self.inclination_deg!r} deg is outside 0..180"
            )
        if not n > 0.0:
            raise ElementSetError("mean_motion_rev_per_day", f"{n!r} rev/day must be positive")
        if n > MAX_MEAN_MOTION_REV_PER_DAY:
            raise ElementSetError(
                "mean_motion_rev_per_day",
                f"{n!r} rev/day is faster than any Earth orbit "
                f"(at most {MAX_MEAN_MOTION_REV_PER_DAY:g})",
            )
        perigee_km = semi_major_axis_from_mean_motion(n) * (1.0 - e)
        if perigee_km < MIN_PERIGEE_RADIUS_KM:
            raise ElementSetError(
                "eccentricity",
                f"{e!r} with mean motion {n!r} rev/day puts the perigee "
                f"{EARTH_EQUATORIAL_RADIUS_KM - perigee_km:.0f} km below the Earth's surface "
                f"(at most {EARTH_EQUATORIAL_RADIUS_KM - MIN_PERIGEE_RADIUS_KM:.0f} km)",
            )


def epoch_to_julian_date(epoch: datetime) -> tuple[float, float]:
    """Split a UTC epoch into (whole Julian date at 0h, fraction of day), exact to 1 µs."""
    since_origin = epoch - SGP4_EPOCH_ORIGIN
    microseconds_of_day = since_origin.seconds * 1_000_000 + since_origin.microseconds
    return (
        SGP4_EPOCH_ORIGIN_JD + since_origin.days,
        microseconds_of_day / MICROSECONDS_PER_DAY,
    )


def to_satrec(elements: ElementSet, opsmode: str = "i") -> Satrec:
    """Initialise an sgp4 ``Satrec`` with ``sgp4init`` (WGS72), as ``sgp4.omm`` does.

    sgp4init derives the epoch split from one float of days since 1949, which rounds the
    epoch to ~0.3 µs (~2 mm along track for LEO); we overwrite the split with the exact one so
    OMM- and TLE-initialised records give the same position at epoch.
    """
    whole_jd, fraction = epoch_to_julian_date(elements.epoch)
    catalog_number = int(elements.catalog_number)
    # Satrec only labels records up to Alpha-5 Z9999; the number plays no part in the maths,
    # so 9-digit objects get 0 and callers keep the ElementSet for the identity.
    satrec_number = catalog_number if catalog_number <= MAX_ALPHA5 else 0
    satrec = Satrec()
    satrec.sgp4init(
        WGS72,
        opsmode,
        satrec_number,
        (whole_jd - SGP4_EPOCH_ORIGIN_JD) + fraction,
        elements.bstar_per_earth_radius,
        elements.mean_motion_dot_rev_per_day2 / _NDOT_UNITS,
        elements.mean_motion_ddot_rev_per_day3 / _NDDOT_UNITS,
        elements.eccentricity,
        elements.arg_of_pericenter_deg * _DEG_TO_RAD,
        elements.inclination_deg * _DEG_TO_RAD,
        elements.mean_anomaly_deg * _DEG_TO_RAD,
        elements.mean_motion_rev_per_day * _REV_PER_DAY_TO_RAD_PER_MIN,
        elements.ra_of_asc_node_deg * _DEG_TO_RAD,
    )
    satrec.jdsatepoch = whole_jd
    satrec.jdsatepochF = fraction
    satrec.classification = elements.classification
    satrec.ephtype = elements.ephemeris_type
    satrec.elnum = elements.element_set_number
    satrec.revnum = elements.rev_at_epoch
    # TLE short designator, the form twoline2rv stores ("1998-067A" -> "98067A").
    satrec.intldesg = elements.object_id[2:].replace("-", "") if elements.object_id else ""
    return satrec
