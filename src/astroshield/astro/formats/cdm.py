"""CCSDS Conjunction Data Message (CDM, CCSDS 508.0-B-1) in KVN and XML: read, write, validate.

The message is held in frozen dataclasses (:class:`Cdm`, :class:`CdmHeader`,
:class:`CdmRelativeData`, :class:`CdmObject` with :class:`CdmObjectMetadata`,
:class:`CdmOdParameters`, :class:`CdmAdditionalParameters`, :class:`CdmStateVector`,
:class:`CdmCovariance`); ``write -> read`` gives an equal object in both encodings.

Conventions and limits:

* Units are those of the standard (508.0-B-1 tables 3-2 to 3-4) and are kept in the dataclasses:
  relative data in m and m/s, state vectors in km and km/s, the RTN covariance in m², m²/s and
  m²/s². A bracketed KVN unit or an XML ``units`` attribute that contradicts the standard's unit
  (e.g. ``MISS_DISTANCE = 0.7 [km]``) is rejected rather than converted.
* All CDM times are UTC (508.0-B-1 §3.2); epochs are naive :class:`datetime.datetime` UTC labels
  with microsecond resolution, parsed and written like the OEM module (no leap-second labels).
* The covariance is the RTN lower triangle (§3.5.3): the 21 position/velocity elements are
  mandatory, the drag / SRP / thrust rows (CDRG_*, CSRP_*, CTHR_*) optional but, when present,
  complete and in order, giving a 7x7, 8x8 or 9x9 matrix. The RTN axes of each object are built
  from that object's own state (R along r, N along r x v), velocities resolved along those axes
  (no frame-rotation term), as :func:`astroshield.astro.dynamics.frames.covariance_from_rtn`
  assumes.
* Keywords of the CDM 2.0 draft that fit this model (CLASSIFICATION, CONJUNCTION_ID, HBR, ...)
  are accepted as optional fields; other unknown keywords are errors (typos must not pass).
* A covariance that is not positive definite is *reported*, not refused: the reader warns with
  :class:`CdmWarning` and records the problem in :attr:`Cdm.issues` (``strict=True`` raises).

Every validation problem raises :class:`CdmError`, whose message names the keyword and the line
(``"line 31, CR_R: missing mandatory keyword"``).

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks (the reader of
:mod:`astroshield.astro.formats.ccsds`, shared with ``oem`` and ``omm``).
"""

from __future__ import annotations

import math
import re
import warnings
import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.dynamics import frames
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import XmlNode
from astroshield.astro.formats.ids import (
    IdentifierError,
    normalize_catalog_number,
    normalize_cospar_id,
)

FloatArray: TypeAlias = NDArray[np.float64]
Vector3: TypeAlias = tuple[float, float, float]

__all__ = [
    "COVARIANCE_KEYWORDS",
    "REF_FRAMES",
    "Cdm",
    "CdmAdditionalParameters",
    "CdmCovariance",
    "CdmError",
    "CdmHeader",
    "CdmObject",
    "CdmObjectMetadata",
    "CdmOdParameters",
    "CdmRelativeData",
    "CdmStateVector",
    "CdmWarning",
    "dumps_kvn",
    "dumps_xml",
    "loads",
    "loads_kvn",
    "loads_xml",
    "read_cdm",
    "write_cdm",
]

# 508.0-B-1 table 3-3 allows EME2000, GCRF and ITRF; the 2.0 draft defers to the SANA frame
# registry, of which we accept the frames astroshield.astro.dynamics.frames can actually handle.
REF_FRAMES: frozenset[str] = frozenset({"EME2000", "GCRF", "ITRF", "ICRF", "TEME"})

# Covariance keywords in CCSDS row order (508.0-B-1 table 3-4): rows R, T, N, RDOT, TDOT, NDOT
# (21 mandatory elements), then the optional DRG, SRP and THR rows.
_COV_ROWS: tuple[tuple[str, ...], ...] = (
    ("CR_R",),
    ("CT_R", "CT_T"),
    ("CN_R", "CN_T", "CN_N"),
    ("CRDOT_R", "CRDOT_T", "CRDOT_N", "CRDOT_RDOT"),
    ("CTDOT_R", "CTDOT_T", "CTDOT_N", "CTDOT_RDOT", "CTDOT_TDOT"),
    ("CNDOT_R", "CNDOT_T", "CNDOT_N", "CNDOT_RDOT", "CNDOT_TDOT", "CNDOT_NDOT"),
    ("CDRG_R", "CDRG_T", "CDRG_N", "CDRG_RDOT", "CDRG_TDOT", "CDRG_NDOT", "CDRG_DRG"),
    (
        "CSRP_R",
        "CSRP_T",
        "CSRP_N",
        "CSRP_RDOT",
        "CSRP_TDOT",
        "CSRP_NDOT",
        "CSRP_DRG",
        "CSRP_SRP",
    ),
    (
        "CTHR_R",
        "CTHR_T",
        "CTHR_N",
        "CTHR_RDOT",
        "CTHR_TDOT",
        "CTHR_NDOT",
        "CTHR_DRG",
        "CTHR_SRP",
        "CTHR_THR",
    ),
)
COVARIANCE_KEYWORDS: tuple[str, ...] = tuple(k for row in _COV_ROWS for k in row)
_COV_SIZES = (21, 28, 36, 45)


def _cov_unit(key: str) -> str:
    # Units from 508.0-B-1 table 3-4, derived from the row/column quantities.
    row, col = key[1:].split("_", 1)
    pos, vel = ("R", "T", "N"), ("RDOT", "TDOT", "NDOT")
    if row in pos:
        return "m**2"
    if row in vel:
        return "m**2/s" if col in pos else "m**2/s**2"
    if row in ("DRG", "SRP"):
        if col in pos:
            return "m**3/kg"
        if col in vel:
            return "m**3/(kg*s)"
        return "m**4/kg**2"
    # THR row
    if col in pos:
        return "m**2/s**2"
    if col in vel:
        return "m**2/s**3"
    if col in ("DRG", "SRP"):
        return "m**3/(kg*s**2)"
    return "m**2/s**4"


class CdmError(ccsds.CcsdsError):
    """An invalid CDM; ``keyword`` and ``line`` (1-based, None if unknown) locate the problem."""


class CdmWarning(UserWarning):
    """A CDM that parses but carries a data-quality problem (e.g. a non-PD covariance)."""

    def __init__(self, message: str, *, keyword: str | None = None, line: int | None = None):
        self.keyword = keyword
        self.line = line
        super().__init__(message)


# ----------------------------------------------------------------------------- field specs

_Kind = Literal["str", "float", "int", "epoch"]


@dataclass(frozen=True)
class _Spec:
    keyword: str
    attr: str
    kind: _Kind
    unit: str | None = None
    mandatory: bool = False


def _s(keyword: str, attr: str | None = None, *, mandatory: bool = False) -> _Spec:
    return _Spec(keyword, attr or keyword.lower(), "str", None, mandatory)


def _f(keyword: str, attr: str, unit: str | None = None, *, mandatory: bool = False) -> _Spec:
    return _Spec(keyword, attr, "float", unit, mandatory)


def _e(keyword: str, attr: str | None = None, *, mandatory: bool = False) -> _Spec:
    return _Spec(keyword, attr or keyword.lower(), "epoch", None, mandatory)


def _i(keyword: str) -> _Spec:
    return _Spec(keyword, keyword.lower(), "int")


# Header: 508.0-B-1 table 3-1 (CLASSIFICATION from the 2.0 draft).
_HEADER_SPECS: tuple[_Spec, ...] = (
    _s("CLASSIFICATION"),
    _e("CREATION_DATE", mandatory=True),
    _s("ORIGINATOR", mandatory=True),
    _s("MESSAGE_FOR"),
    _s("MESSAGE_ID", mandatory=True),
)

# Relative metadata/data: table 3-2 (CONJUNCTION_ID ... SCREEN_PC_THRESHOLD from the 2.0 draft).
_REL_SPECS: tuple[_Spec, ...] = (
    _s("CONJUNCTION_ID"),
    _e("TCA", mandatory=True),
    _f("MISS_DISTANCE", "miss_distance_m", "m", mandatory=True),
    _f("MAHALANOBIS_DISTANCE", "mahalanobis_distance"),
    _f("RELATIVE_SPEED", "relative_speed_m_s", "m/s"),
    _f("RELATIVE_POSITION_R", "relative_position_r_m", "m"),
    _f("RELATIVE_POSITION_T", "relative_position_t_m", "m"),
    _f("RELATIVE_POSITION_N", "relative_position_n_m", "m"),
    _f("RELATIVE_VELOCITY_R", "relative_velocity_r_m_s", "m/s"),
    _f("RELATIVE_VELOCITY_T", "relative_velocity_t_m_s", "m/s"),
    _f("RELATIVE_VELOCITY_N", "relative_velocity_n_m_s", "m/s"),
    _f("APPROACH_ANGLE", "approach_angle_deg", "deg"),
    _e("START_SCREEN_PERIOD"),
    _e("STOP_SCREEN_PERIOD"),
    _s("SCREEN_TYPE"),
    _s("SCREEN_VOLUME_FRAME"),
    _s("SCREEN_VOLUME_SHAPE"),
    _f("SCREEN_VOLUME_RADIUS", "screen_volume_radius_m", "m"),
    _f("SCREEN_VOLUME_X", "screen_volume_x_m", "m"),
    _f("SCREEN_VOLUME_Y", "screen_volume_y_m", "m"),
    _f("SCREEN_VOLUME_Z", "screen_volume_z_m", "m"),
    _e("SCREEN_ENTRY_TIME"),
    _e("SCREEN_EXIT_TIME"),
    _f("SCREEN_PC_THRESHOLD", "screen_pc_threshold"),
    _f("COLLISION_PROBABILITY", "collision_probability"),
    _s("COLLISION_PROBABILITY_METHOD"),
    _f("COLLISION_MAX_PROBABILITY", "collision_max_probability"),
    _s("COLLISION_MAX_PC_METHOD"),
)
_RELATIVE_STATE_KEYS = tuple(s.keyword for s in _REL_SPECS if s.keyword.startswith("RELATIVE_"))
_RELATIVE_STATE_KEYS = tuple(k for k in _RELATIVE_STATE_KEYS if k != "RELATIVE_SPEED")

# Object metadata: table 3-3 (ODM_MSG_LINK, ADM_MSG_LINK, COVARIANCE_SOURCE from the 2.0 draft).
_META_SPECS: tuple[_Spec, ...] = (
    _s("OBJECT", mandatory=True),
    _s("OBJECT_DESIGNATOR", mandatory=True),
    _s("CATALOG_NAME", mandatory=True),
    _s("OBJECT_NAME", mandatory=True),
    _s("INTERNATIONAL_DESIGNATOR", mandatory=True),
    _s("OBJECT_TYPE"),
    _s("OPERATOR_CONTACT_POSITION"),
    _s("OPERATOR_ORGANIZATION"),
    _s("OPERATOR_PHONE"),
    _s("OPERATOR_EMAIL"),
    _s("ODM_MSG_LINK"),
    _s("ADM_MSG_LINK"),
    _s("EPHEMERIS_NAME", mandatory=True),
    _s("COVARIANCE_METHOD", mandatory=True),
    _s("COVARIANCE_SOURCE"),
    _s("MANEUVERABLE", mandatory=True),
    _s("ORBIT_CENTER"),
    _s("REF_FRAME", mandatory=True),
    _s("GRAVITY_MODEL"),
    _s("ATMOSPHERIC_MODEL"),
    _s("N_BODY_PERTURBATIONS"),
    _s("SOLAR_RAD_PRESSURE"),
    _s("EARTH_TIDES"),
    _s("INTRACK_THRUST"),
)

# OD parameters: table 3-4 (all optional).
_OD_SPECS: tuple[_Spec, ...] = (
    _e("TIME_LASTOB_START"),
    _e("TIME_LASTOB_END"),
    _f("RECOMMENDED_OD_SPAN", "recommended_od_span_d", "d"),
    _f("ACTUAL_OD_SPAN", "actual_od_span_d", "d"),
    _i("OBS_AVAILABLE"),
    _i("OBS_USED"),
    _i("TRACKS_AVAILABLE"),
    _i("TRACKS_USED"),
    _f("RESIDUALS_ACCEPTED", "residuals_accepted_pct", "%"),
    _f("WEIGHTED_RMS", "weighted_rms"),
)

# Additional parameters: table 3-4 (AREA_PC_MIN/MAX, HBR, altitudes, inclination: 2.0 draft).
_ADD_SPECS: tuple[_Spec, ...] = (
    _f("AREA_PC", "area_pc_m2", "m**2"),
    _f("AREA_PC_MIN", "area_pc_min_m2", "m**2"),
    _f("AREA_PC_MAX", "area_pc_max_m2", "m**2"),
    _f("AREA_DRG", "area_drg_m2", "m**2"),
    _f("AREA_SRP", "area_srp_m2", "m**2"),
    _f("MASS", "mass_kg", "kg"),
    _f("CD_AREA_OVER_MASS", "cd_area_over_mass_m2_kg", "m**2/kg"),
    _f("CR_AREA_OVER_MASS", "cr_area_over_mass_m2_kg", "m**2/kg"),
    _f("THRUST_ACCELERATION", "thrust_acceleration_m_s2", "m/s**2"),
    _f("SEDR", "sedr_w_kg", "W/kg"),
    _f("HBR", "hbr_m", "m"),
    _f("APOAPSIS_ALTITUDE", "apoapsis_altitude_km", "km"),
    _f("PERIAPSIS_ALTITUDE", "periapsis_altitude_km", "km"),
    _f("INCLINATION", "inclination_deg", "deg"),
)

# State vector: table 3-4 (all mandatory, km and km/s).
_STATE_SPECS: tuple[_Spec, ...] = (
    _f("X", "x_km", "km", mandatory=True),
    _f("Y", "y_km", "km", mandatory=True),
    _f("Z", "z_km", "km", mandatory=True),
    _f("X_DOT", "x_dot_km_s", "km/s", mandatory=True),
    _f("Y_DOT", "y_dot_km_s", "km/s", mandatory=True),
    _f("Z_DOT", "z_dot_km_s", "km/s", mandatory=True),
)
_COV_SPECS: tuple[_Spec, ...] = tuple(
    _f(k, k.lower(), _cov_unit(k), mandatory=i < 21) for i, k in enumerate(COVARIANCE_KEYWORDS)
)

_BLOCKS: dict[str, tuple[_Spec, ...]] = {
    "header": _HEADER_SPECS,
    "relative": _REL_SPECS,
    "metadata": _META_SPECS,
    "od": _OD_SPECS,
    "additional": _ADD_SPECS,
    "state": _STATE_SPECS,
    "covariance": _COV_SPECS,
}
_BLOCK_OF: dict[str, str] = {s.keyword: b for b, specs in _BLOCKS.items() for s in specs}
_SPEC_OF: dict[str, _Spec] = {s.keyword: s for specs in _BLOCKS.values() for s in specs}
_SEGMENT_BLOCKS = ("metadata", "od", "additional", "state", "covariance")
_SEGMENT_ORDER: tuple[str, ...] = tuple(s.keyword for b in _SEGMENT_BLOCKS for s in _BLOCKS[b])

_ENUMS: dict[str, tuple[str, ...]] = {
    "OBJECT": ("OBJECT1", "OBJECT2"),
    "COVARIANCE_METHOD": ("CALCULATED", "DEFAULT"),
    "MANEUVERABLE": ("YES", "NO", "N/A"),
    "SCREEN_VOLUME_FRAME": ("RTN", "TVN"),
    "SCREEN_VOLUME_SHAPE": ("ELLIPSOID", "BOX", "SPHERE"),
}


# ----------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class CdmHeader:
    creation_date: datetime
    originator: str
    message_id: str
    version: str = "1.0"
    classification: str | None = None
    message_for: str | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdmRelativeData:
    """Relative metadata/data (508.0-B-1 §3.4): m, m/s, UTC epochs."""

    tca: datetime
    miss_distance_m: float
    conjunction_id: str | None = None
    mahalanobis_distance: float | None = None
    relative_speed_m_s: float | None = None
    relative_position_r_m: float | None = None
    relative_position_t_m: float | None = None
    relative_position_n_m: float | None = None
    relative_velocity_r_m_s: float | None = None
    relative_velocity_t_m_s: float | None = None
    relative_velocity_n_m_s: float | None = None
    approach_angle_deg: float | None = None
    start_screen_period: datetime | None = None
    stop_screen_period: datetime | None = None
    screen_type: str | None = None
    screen_volume_frame: str | None = None
    screen_volume_shape: str | None = None
    screen_volume_radius_m: float | None = None
    screen_volume_x_m: float | None = None
    screen_volume_y_m: float | None = None
    screen_volume_z_m: float | None = None
    screen_entry_time: datetime | None = None
    screen_exit_time: datetime | None = None
    screen_pc_threshold: float | None = None
    collision_probability: float | None = None
    collision_probability_method: str | None = None
    collision_max_probability: float | None = None
    collision_max_pc_method: str | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdmObjectMetadata:
    """Object metadata (508.0-B-1 §3.5.1)."""

    object: str
    object_designator: str
    catalog_name: str
    object_name: str
    international_designator: str
    ephemeris_name: str
    covariance_method: str
    maneuverable: str
    ref_frame: str
    object_type: str | None = None
    operator_contact_position: str | None = None
    operator_organization: str | None = None
    operator_phone: str | None = None
    operator_email: str | None = None
    odm_msg_link: str | None = None
    adm_msg_link: str | None = None
    covariance_source: str | None = None
    orbit_center: str | None = None
    gravity_model: str | None = None
    atmospheric_model: str | None = None
    n_body_perturbations: str | None = None
    solar_rad_pressure: str | None = None
    earth_tides: str | None = None
    intrack_thrust: str | None = None
    comments: tuple[str, ...] = ()

    def catalog_number(self) -> str | None:
        """Canonical catalog number (:mod:`astroshield.astro.formats.ids`) when CATALOG_NAME is
        SATCAT.

        None for other catalogs or a designator that is not a catalog number.
        """
        if self.catalog_name.strip().upper() != "SATCAT":
            return None
        try:
            return normalize_catalog_number(self.object_designator)
        except IdentifierError:
            return None

    def cospar_id(self) -> str | None:
        """Canonical COSPAR id of INTERNATIONAL_DESIGNATOR, None if it is not one (e.g. UNKNOWN)."""
        try:
            return normalize_cospar_id(self.international_designator)
        except IdentifierError:
            return None


@dataclass(frozen=True)
class CdmOdParameters:
    """Orbit-determination parameters (optional block of §3.5.2)."""

    time_lastob_start: datetime | None = None
    time_lastob_end: datetime | None = None
    recommended_od_span_d: float | None = None
    actual_od_span_d: float | None = None
    obs_available: int | None = None
    obs_used: int | None = None
    tracks_available: int | None = None
    tracks_used: int | None = None
    residuals_accepted_pct: float | None = None
    weighted_rms: float | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdmAdditionalParameters:
    """Additional parameters (optional block of §3.5.2; HBR etc. from the 2.0 draft)."""

    area_pc_m2: float | None = None
    area_pc_min_m2: float | None = None
    area_pc_max_m2: float | None = None
    area_drg_m2: float | None = None
    area_srp_m2: float | None = None
    mass_kg: float | None = None
    cd_area_over_mass_m2_kg: float | None = None
    cr_area_over_mass_m2_kg: float | None = None
    thrust_acceleration_m_s2: float | None = None
    sedr_w_kg: float | None = None
    hbr_m: float | None = None
    apoapsis_altitude_km: float | None = None
    periapsis_altitude_km: float | None = None
    inclination_deg: float | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdmStateVector:
    """State at TCA in the object's REF_FRAME (km, km/s)."""

    x_km: float
    y_km: float
    z_km: float
    x_dot_km_s: float
    y_dot_km_s: float
    z_dot_km_s: float
    comments: tuple[str, ...] = ()

    @property
    def position_km(self) -> FloatArray:
        return np.array([self.x_km, self.y_km, self.z_km], dtype=np.float64)

    @property
    def velocity_km_s(self) -> FloatArray:
        return np.array([self.x_dot_km_s, self.y_dot_km_s, self.z_dot_km_s], dtype=np.float64)


@dataclass(frozen=True)
class CdmCovariance:
    """RTN covariance lower triangle in CCSDS row order (see :data:`COVARIANCE_KEYWORDS`).

    21 elements (6x6 position/velocity, m², m²/s, m²/s²) or 28/36/45 with the drag, SRP and
    thrust rows (7x7 .. 9x9).
    """

    lower_triangle: tuple[float, ...]
    comments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.lower_triangle) not in _COV_SIZES:
            raise CdmError(
                f"covariance needs 21, 28, 36 or 45 lower-triangular elements, "
                f"got {len(self.lower_triangle)}",
                keyword="CR_R",
            )

    @property
    def size(self) -> int:
        return {21: 6, 28: 7, 36: 8, 45: 9}[len(self.lower_triangle)]

    @classmethod
    def from_matrix(cls, matrix: Any, comments: Sequence[str] = ()) -> CdmCovariance:
        """Build from a symmetric 6x6..9x9 RTN matrix in CDM units (its lower triangle is used)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] not in (6, 7, 8, 9):
            raise CdmError(f"covariance matrix must be 6x6 .. 9x9, got {m.shape}", keyword="CR_R")
        rows, cols = np.tril_indices(m.shape[0])
        return cls(tuple(float(x) for x in m[rows, cols]), tuple(comments))

    def matrix(self) -> FloatArray:
        """The full symmetric matrix (6x6 .. 9x9) in CDM units."""
        n = self.size
        m = np.zeros((n, n))
        rows, cols = np.tril_indices(n)
        m[rows, cols] = self.lower_triangle
        m[cols, rows] = self.lower_triangle
        return m


@dataclass(frozen=True)
class CdmObject:
    """One object segment: metadata and data (OD, additional, state vector, covariance)."""

    metadata: CdmObjectMetadata
    state: CdmStateVector
    covariance: CdmCovariance
    od_parameters: CdmOdParameters | None = None
    additional_parameters: CdmAdditionalParameters | None = None

    def position_km(self) -> FloatArray:
        return self.state.position_km

    def velocity_km_s(self) -> FloatArray:
        return self.state.velocity_km_s

    def covariance_rtn_m(self) -> FloatArray:
        """6x6 position/velocity covariance in the object's RTN frame (m², m²/s, m²/s²)."""
        return self.covariance.matrix()[:6, :6]

    def covariance_inertial_km(self) -> FloatArray:
        """6x6 covariance in the Cartesian axes of REF_FRAME, km units (km², km²/s, km²/s²).

        The RTN axes come from this object's state (508.0-B-1 §3.5.3); every element of the
        position/velocity block scales by the same 1e-6 from m to km.
        """
        return frames.covariance_from_rtn(
            self.covariance_rtn_m() * 1e-6, self.position_km(), self.velocity_km_s()
        )

    def hard_body_radius_m(self) -> tuple[float, str] | None:
        """This object's hard-body radius and its source keyword, if the CDM carries one.

        HBR (2.0 draft) is used as is; otherwise AREA_PC (508.0-B-1, the area used for Pc) is
        turned into the radius of the circle of equal area, ``sqrt(AREA_PC / pi)``.
        """
        add = self.additional_parameters
        if add is None:
            return None
        if add.hbr_m is not None:
            return add.hbr_m, "HBR"
        if add.area_pc_m2 is not None:
            return math.sqrt(add.area_pc_m2 / math.pi), "AREA_PC"
        return None


@dataclass(frozen=True)
class Cdm:
    header: CdmHeader
    relative: CdmRelativeData
    object1: CdmObject
    object2: CdmObject
    issues: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """Data-quality problems found while reading (not part of the message content)."""

    def validate(self) -> None:
        """Check the rules the readers enforce (not covariance definiteness); raise CdmError."""
        _check_text("header", _HEADER_SPECS, self.header, {})
        _check_text("relative", _REL_SPECS, self.relative, {})
        for expected, obj in (("OBJECT1", self.object1), ("OBJECT2", self.object2)):
            if obj.metadata.object != expected:
                raise CdmError(
                    f"segment must be {expected}, got {obj.metadata.object!r}", keyword="OBJECT"
                )
            _check_text("metadata", _META_SPECS, obj.metadata, {})
            _check_metadata(obj.metadata, {})
            for specs, part in (
                (_OD_SPECS, obj.od_parameters),
                (_ADD_SPECS, obj.additional_parameters),
                (_STATE_SPECS, obj.state),
            ):
                if part is not None:
                    _check_numbers(specs, part)
            for key, value in zip(COVARIANCE_KEYWORDS, obj.covariance.lower_triangle, strict=False):
                if not math.isfinite(value):
                    raise CdmError(f"non-finite value {value!r}", keyword=key)

    def covariance_issues(self) -> list[str]:
        """Positive-definiteness problems of both covariances (empty when both are fine)."""
        out = []
        for obj in (self.object1, self.object2):
            problem = _definiteness_problem(obj.covariance)
            if problem:
                out.append(f"{obj.metadata.object}: {problem}")
        return out


# ------------------------------------------------------------------------- value handling


@dataclass(frozen=True)
class _Raw:
    text: str
    line: int | None
    unit: str | None


def _norm_unit(unit: str) -> str:
    return unit.replace(" ", "").replace("^", "**").lower()


def _convert(spec: _Spec, raw: _Raw) -> Any:
    key, line, text = spec.keyword, raw.line, raw.text
    if raw.unit is not None and _norm_unit(raw.unit) not in ("", "n/a"):
        if spec.unit is None:
            raise CdmError(
                f"unit [{raw.unit}] given but the standard defines this value as unitless",
                keyword=key,
                line=line,
            )
        if _norm_unit(raw.unit) != _norm_unit(spec.unit):
            raise CdmError(
                f"unit [{raw.unit}] contradicts the standard's [{spec.unit}]",
                keyword=key,
                line=line,
            )
    if spec.kind == "str":
        return text
    if spec.kind == "epoch":
        try:
            return ccsds.parse_epoch(text, keyword=key, line=line)
        except ccsds.CcsdsError as exc:
            raise CdmError(f"bad epoch {text!r}", keyword=key, line=line) from exc
    if spec.kind == "int":
        if not re.fullmatch(r"[+]?\d+", text):
            raise CdmError(f"bad number {text!r} (non-negative integer)", keyword=key, line=line)
        return int(text)
    return ccsds.parse_float(text, keyword=key, line=line, error=CdmError)


def _format_value(spec: _Spec, value: Any) -> str:
    if spec.kind == "epoch":
        return ccsds.format_epoch(value, kind="CDM", error=CdmError)
    if spec.kind == "float":
        return ccsds.format_float(value, keyword=spec.keyword, error=CdmError)
    return ccsds.single_line(str(value), keyword=spec.keyword, error=CdmError)


def _first_line(raws: dict[str, _Raw]) -> int | None:
    lines = [r.line for r in raws.values() if r.line is not None]
    return min(lines) if lines else None


def _missing_line(
    key: str, order: Sequence[str], raws: dict[str, _Raw], fallback: int | None
) -> int | None:
    # Report the line where the keyword was expected: that of the next keyword present after
    # it in the standard's order, else the block's last line.
    after = order[order.index(key) + 1 :]
    for other in after:
        if other in raws and raws[other].line is not None:
            return raws[other].line
    return fallback


def _build(
    cls: type[Any],
    specs: Sequence[_Spec],
    raws: dict[str, _Raw],
    comments: Sequence[str],
    fallback_line: int | None,
    order: Sequence[str] | None = None,
) -> Any:
    kwargs: dict[str, Any] = {}
    for spec in specs:
        raw = raws.get(spec.keyword)
        if raw is None or raw.text == "":
            # An empty optional value is treated as absent (KVN cannot tell them apart).
            if spec.mandatory:
                line = (
                    raw.line
                    if raw is not None
                    else _missing_line(
                        spec.keyword,
                        order or [s.keyword for s in specs],
                        raws,
                        fallback_line,
                    )
                )
                raise CdmError("missing mandatory keyword", keyword=spec.keyword, line=line)
            continue
        kwargs[spec.attr] = _convert(spec, raw)
    return cls(**kwargs, comments=tuple(comments))


def _check_text(block: str, specs: Sequence[_Spec], obj: Any, where: dict[str, int]) -> None:
    for spec in specs:
        value = getattr(obj, spec.attr)
        if spec.mandatory and value is None:
            raise CdmError("missing mandatory keyword", keyword=spec.keyword)
        if value == "":
            raise CdmError("empty value", keyword=spec.keyword, line=where.get(spec.keyword))
        if value is not None and spec.keyword in _ENUMS:
            allowed = _ENUMS[spec.keyword]
            if value not in allowed:
                raise CdmError(
                    f"value {value!r} not allowed in the {block} block; expected one of "
                    + ", ".join(allowed),
                    keyword=spec.keyword,
                    line=where.get(spec.keyword),
                )


def _check_numbers(specs: Sequence[_Spec], obj: Any) -> None:
    for spec in specs:
        value = getattr(obj, spec.attr)
        if spec.kind == "float" and value is not None and not math.isfinite(value):
            raise CdmError(f"non-finite value {value!r}", keyword=spec.keyword)


def _check_metadata(meta: CdmObjectMetadata, where: dict[str, int]) -> None:
    if meta.ref_frame not in REF_FRAMES:
        raise CdmError(
            f"unknown REF_FRAME {meta.ref_frame!r}; expected one of "
            + ", ".join(sorted(REF_FRAMES)),
            keyword="REF_FRAME",
            line=where.get("REF_FRAME"),
        )


def _definiteness_problem(cov: CdmCovariance) -> str | None:
    m = cov.matrix()
    d = np.diag(m)
    if np.any(d <= 0.0):
        i = int(np.argmax(d <= 0.0))
        return f"diagonal element {i + 1} is {float(d[i]):.6e}, not positive"
    # Eigenvalues of the correlation matrix: unit-free, so m² and m²/s² rows weigh equally.
    s = 1.0 / np.sqrt(d)
    w = np.linalg.eigvalsh(m * s[:, None] * s[None, :])
    if float(w[0]) <= 0.0:
        return (
            f"covariance is not positive definite (smallest correlation-matrix eigenvalue "
            f"{float(w[0]):.6e})"
        )
    return None


def _report_covariances(
    cdm: Cdm, cov_lines: dict[str, int | None], *, strict: bool, stacklevel: int
) -> Cdm:
    issues: list[str] = []
    for obj in (cdm.object1, cdm.object2):
        problem = _definiteness_problem(obj.covariance)
        if problem is None:
            continue
        line = cov_lines.get(obj.metadata.object)
        err = CdmError(f"{obj.metadata.object} {problem}", keyword="CR_R", line=line)
        if strict:
            raise err
        issues.append(str(err))
        warnings.warn(CdmWarning(str(err), keyword="CR_R", line=line), stacklevel=stacklevel + 1)
    return replace(cdm, issues=tuple(issues)) if issues else cdm


# ------------------------------------------------------------------- shared block assembly


@dataclass
class _Segment:
    """Raw keyword values of one object segment, grouped by block."""

    line: int
    raws: dict[str, dict[str, _Raw]] = field(
        default_factory=lambda: {b: {} for b in _SEGMENT_BLOCKS}
    )
    comments: dict[str, list[str]] = field(default_factory=lambda: {b: [] for b in _SEGMENT_BLOCKS})
    present: set[str] = field(default_factory=set)
    last_line: int = 0


def _build_object(seg: _Segment) -> CdmObject:
    end = seg.last_line
    all_raws = {k: r for b in _SEGMENT_BLOCKS for k, r in seg.raws[b].items()}
    meta = _build(
        CdmObjectMetadata, _META_SPECS, all_raws, seg.comments["metadata"], end, _SEGMENT_ORDER
    )
    meta_where = {k: r.line for k, r in seg.raws["metadata"].items() if r.line is not None}
    _check_text("metadata", _META_SPECS, meta, meta_where)
    _check_metadata(meta, meta_where)
    od = (
        _build(CdmOdParameters, _OD_SPECS, seg.raws["od"], seg.comments["od"], end)
        if seg.raws["od"] or seg.comments["od"]
        else None
    )
    add = (
        _build(
            CdmAdditionalParameters,
            _ADD_SPECS,
            seg.raws["additional"],
            seg.comments["additional"],
            end,
        )
        if seg.raws["additional"] or seg.comments["additional"]
        else None
    )
    state = _build(
        CdmStateVector, _STATE_SPECS, all_raws, seg.comments["state"], end, _SEGMENT_ORDER
    )
    cov_raws = seg.raws["covariance"]
    for spec in _COV_SPECS[:21]:
        if spec.keyword not in cov_raws or cov_raws[spec.keyword].text == "":
            raw = cov_raws.get(spec.keyword)
            line = (
                raw.line
                if raw is not None
                else _missing_line(spec.keyword, _SEGMENT_ORDER, all_raws, end)
            )
            raise CdmError("missing mandatory keyword", keyword=spec.keyword, line=line)
    # Optional rows (DRG, SRP, THR) must be complete and without gaps to form a 7x7..9x9.
    count = 21
    for size in _COV_SIZES[1:]:
        row = COVARIANCE_KEYWORDS[count:size]
        if any(k in cov_raws for k in row) or any(
            k in cov_raws for k in COVARIANCE_KEYWORDS[size:]
        ):
            for key in row:
                if key not in cov_raws:
                    raise CdmError(
                        "incomplete optional covariance row (rows DRG, SRP, THR must be "
                        "complete and in order)",
                        keyword=key,
                        line=_missing_line(key, COVARIANCE_KEYWORDS, cov_raws, end),
                    )
            count = size
    values = tuple(float(_convert(_SPEC_OF[k], cov_raws[k])) for k in COVARIANCE_KEYWORDS[:count])
    cov = CdmCovariance(values, tuple(seg.comments["covariance"]))
    return CdmObject(meta, state, cov, od, add)


def _assemble(
    version: str,
    header: tuple[dict[str, _Raw], list[str]],
    relative: tuple[dict[str, _Raw], list[str]],
    segments: list[_Segment],
    last_line: int,
    *,
    strict: bool,
) -> Cdm:
    h_raws, h_comments = header
    r_raws, r_comments = relative
    hdr = _build(CdmHeader, _HEADER_SPECS, h_raws, h_comments, _first_line(r_raws) or last_line)
    hdr = replace(hdr, version=version)
    _check_text(
        "header", _HEADER_SPECS, hdr, {k: r.line for k, r in h_raws.items() if r.line is not None}
    )
    rel = _build(CdmRelativeData, _REL_SPECS, r_raws, r_comments, _first_line_or(segments))
    _check_text(
        "relative", _REL_SPECS, rel, {k: r.line for k, r in r_raws.items() if r.line is not None}
    )
    if not segments:
        raise CdmError("OBJECT1 segment missing", keyword="OBJECT", line=last_line)
    if len(segments) == 1:
        raise CdmError("OBJECT2 segment missing", keyword="OBJECT", line=last_line)
    objects = [_build_object(seg) for seg in segments]
    cdm = Cdm(hdr, rel, objects[0], objects[1])
    cov_lines: dict[str, int | None] = {
        obj.metadata.object: seg.raws["covariance"]["CR_R"].line
        for obj, seg in zip(objects, segments, strict=True)
    }
    return _report_covariances(cdm, cov_lines, strict=strict, stacklevel=4)


def _first_line_or(segments: list[_Segment]) -> int | None:
    return segments[0].line if segments else None


# ------------------------------------------------------------------------------- KVN read


def _check_truncated(seg: _Segment, last_line: int) -> None:
    # A message that stops inside the last segment: every mandatory keyword still missing
    # comes after the last keyword present in the standard's order (§3.5 order), so the
    # file was cut rather than a keyword forgotten.
    mandatory = [k for k in _SEGMENT_ORDER if _SPEC_OF[k].mandatory]
    missing = [k for k in mandatory if k not in seg.present]
    if not missing:
        return
    positions = [_SEGMENT_ORDER.index(k) for k in seg.present]
    last_pos = max(positions) if positions else -1
    if all(_SEGMENT_ORDER.index(k) > last_pos for k in missing):
        obj = seg.raws["metadata"].get("OBJECT")
        raise CdmError(
            f"truncated message: ends inside the {obj.text if obj else '?'} segment, "
            f"{len(missing)} mandatory keyword(s) from {missing[0]} on are missing",
            keyword=missing[0],
            line=last_line,
        )


def loads_kvn(text: str, *, strict: bool = False) -> Cdm:
    """Parse a KVN-encoded CDM (508.0-B-1 §4); see :func:`loads` for ``strict``."""
    items = ccsds.kvn_lines(text)
    if not items:
        raise CdmError("empty message", keyword="CCSDS_CDM_VERS", line=1)
    last_line = items[-1].line
    n = items[0].line
    if items[0].keyword != "CCSDS_CDM_VERS":
        raise CdmError("message must start with CCSDS_CDM_VERS", keyword="CCSDS_CDM_VERS", line=n)
    version = items[0].value
    if not version:
        raise CdmError("missing value", keyword="CCSDS_CDM_VERS", line=n)
    h_raws: dict[str, _Raw] = {}
    h_comments: list[str] = []
    r_raws: dict[str, _Raw] = {}
    r_comments: list[str] = []
    segments: list[_Segment] = []
    section = "header"
    pending: list[str] = []
    for item in items[1:]:
        n, line_text = item.line, item.text
        if item.comment is not None:
            pending.append(item.comment)
            continue
        if item.keyword is None:
            if n == last_line:
                raise CdmError(
                    f"truncated message: last line {line_text!r} is not 'KEYWORD = value'",
                    keyword=line_text.split("=")[0].strip() or None,
                    line=n,
                )
            raise CdmError(f"expected 'KEYWORD = value', got {line_text!r}", line=n)
        key, value, unit = item.keyword, item.value, item.unit
        spec = _SPEC_OF.get(key)
        if spec is not None and spec.kind == "str" and unit is not None:
            # Text values carry no unit: a bracket belongs to the value (e.g. a name).
            value, unit = item.full_value, None
        if n == last_line and value == "":
            raise CdmError("truncated message: keyword without value", keyword=key, line=n)
        block = _BLOCK_OF.get(key)
        if block is None:
            raise CdmError("unknown keyword", keyword=key, line=n)
        raw = _Raw(value, n, unit)
        if block == "header":
            if section != "header":
                raise CdmError("header keyword after the header", keyword=key, line=n)
            target, target_comments = h_raws, h_comments
        elif block == "relative":
            if section == "segment":
                raise CdmError(
                    "relative metadata/data keyword inside an object segment", keyword=key, line=n
                )
            section = "relative"
            target, target_comments = r_raws, r_comments
        else:
            if key == "OBJECT":
                expected = ("OBJECT1", "OBJECT2")
                if len(segments) >= 2:
                    raise CdmError("a CDM has exactly two object segments", keyword=key, line=n)
                want = expected[len(segments)]
                if value != want:
                    raise CdmError(
                        f"segments missing or out of order: expected OBJECT = {want}, "
                        f"got {value!r}",
                        keyword=key,
                        line=n,
                    )
                if section == "header":
                    raise CdmError(
                        "missing relative metadata/data before OBJECT1", keyword="TCA", line=n
                    )
                segments.append(_Segment(line=n))
                section = "segment"
            elif section != "segment":
                raise CdmError(
                    "object keyword before OBJECT: OBJECT1 segment missing",
                    keyword=key,
                    line=n,
                )
            seg = segments[-1]
            if key in seg.present:
                raise CdmError("duplicate keyword", keyword=key, line=n)
            if block == "metadata" and seg.present - set(seg.raws["metadata"]):
                raise CdmError("metadata keyword after the data section", keyword=key, line=n)
            seg.present.add(key)
            seg.last_line = n
            target, target_comments = seg.raws[block], seg.comments[block]
        if key in target:
            raise CdmError("duplicate keyword", keyword=key, line=n)
        target[key] = raw
        target_comments.extend(pending)
        pending = []
    if pending:
        # Comments after the last keyword: keep them with the last covariance block.
        if segments:
            segments[-1].comments["covariance"].extend(pending)
        else:
            r_comments.extend(pending)
    if segments:
        _check_truncated(segments[-1], last_line)
    if section == "header":
        _build(CdmHeader, _HEADER_SPECS, h_raws, h_comments, last_line)
        raise CdmError(
            "truncated message: ends before the relative metadata/data", keyword="TCA", line=n
        )
    return _assemble(
        version, (h_raws, h_comments), (r_raws, r_comments), segments, last_line, strict=strict
    )


# ------------------------------------------------------------------------------ KVN write


def _block_lines(specs: Sequence[_Spec], obj: Any, comments: Iterable[str]) -> list[str]:
    out = ccsds.kvn_comment_lines(comments, error=CdmError)
    for spec in specs:
        value = getattr(obj, spec.attr)
        if value is None:
            continue
        line = f"{spec.keyword:<28} = {_format_value(spec, value)}"
        if spec.unit is not None:
            line += f" [{spec.unit}]"
        out.append(line)
    return out


def _object_parts(obj: CdmObject) -> list[tuple[str, tuple[_Spec, ...], Any]]:
    cov_specs = _COV_SPECS[: len(obj.covariance.lower_triangle)]
    parts: list[tuple[str, tuple[_Spec, ...], Any]] = [("metadata", _META_SPECS, obj.metadata)]
    if obj.od_parameters is not None:
        parts.append(("odParameters", _OD_SPECS, obj.od_parameters))
    if obj.additional_parameters is not None:
        parts.append(("additionalParameters", _ADD_SPECS, obj.additional_parameters))
    parts.append(("stateVector", _STATE_SPECS, obj.state))
    parts.append(("covarianceMatrix", cov_specs, _CovView(obj.covariance)))
    return parts


class _CovView:
    """Attribute view (``cr_r`` ...) of a covariance, so it is written like the other blocks."""

    def __init__(self, cov: CdmCovariance) -> None:
        self._values = dict(zip(COVARIANCE_KEYWORDS, cov.lower_triangle, strict=False))
        self.comments = cov.comments

    def __getattr__(self, name: str) -> float | None:
        return self._values.get(name.upper())


def dumps_kvn(cdm: Cdm) -> str:
    """Serialise to KVN (validates first)."""
    cdm.validate()
    h = cdm.header
    out = [f"{'CCSDS_CDM_VERS':<28} = {h.version}"]
    out.extend(_block_lines(_HEADER_SPECS, h, h.comments))
    out.append("")
    out.extend(_block_lines(_REL_SPECS, cdm.relative, cdm.relative.comments))
    for obj in (cdm.object1, cdm.object2):
        out.append("")
        for _tag, specs, part in _object_parts(obj):
            out.extend(_block_lines(specs, part, part.comments))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- XML read


def _xml_fields(
    node: XmlNode, block_of: dict[str, str], flatten: Sequence[str] = ()
) -> tuple[dict[str, dict[str, _Raw]], list[str]]:
    """Leaf elements of ``node`` (and of the ``flatten`` sub-elements) grouped by block."""
    raws: dict[str, dict[str, _Raw]] = {}
    comments: list[str] = []
    for child in node.children:
        if child.tag == "COMMENT":
            comments.append(child.text)
            continue
        if child.tag in flatten:
            sub, sub_comments = _xml_fields(child, block_of)
            comments.extend(sub_comments)
            for b, d in sub.items():
                raws.setdefault(b, {}).update(d)
            continue
        block = block_of.get(child.tag)
        if block is None:
            raise CdmError(
                f"element not allowed in <{node.tag}>", keyword=child.tag, line=child.line
            )
        target = raws.setdefault(block, {})
        if child.tag in target:
            raise CdmError("duplicate element", keyword=child.tag, line=child.line)
        if child.children:
            raise CdmError("element must hold a value", keyword=child.tag, line=child.line)
        target[child.tag] = _Raw(child.text, child.line, child.attrs.get("units"))
    return raws, comments


_XML_DATA_BLOCKS = {
    "odParameters": "od",
    "additionalParameters": "additional",
    "stateVector": "state",
    "covarianceMatrix": "covariance",
}


def _xml_segment(node: XmlNode) -> _Segment:
    seg = _Segment(line=node.line, last_line=node.line)
    meta_node = node.child("metadata", error=CdmError)
    only = {k: b for k, b in _BLOCK_OF.items() if b == "metadata"}
    raws, comments = _xml_fields(meta_node, only)
    seg.raws["metadata"] = raws.get("metadata", {})
    seg.comments["metadata"] = comments
    data_node = node.child("data", error=CdmError)
    data_comments: list[str] = []
    first_block: str | None = None
    for child in data_node.children:
        if child.tag == "COMMENT":
            data_comments.append(child.text)
            continue
        block = _XML_DATA_BLOCKS.get(child.tag)
        if block is None:
            raise CdmError("element not allowed in <data>", keyword=child.tag, line=child.line)
        if seg.raws[block] or seg.comments[block]:
            raise CdmError("duplicate element", keyword=child.tag, line=child.line)
        first_block = first_block or block
        only = {k: b for k, b in _BLOCK_OF.items() if b == block}
        raws, comments = _xml_fields(child, only)
        seg.raws[block] = raws.get(block, {})
        seg.comments[block] = comments
        seg.last_line = max(seg.last_line, child.line)
        if block != "od" and block != "additional" and not seg.raws[block]:
            raise CdmError(
                f"<{child.tag}> is empty", keyword=_BLOCKS[block][0].keyword, line=child.line
            )
    # <data> comments have no KVN counterpart of their own: keep them with the first block.
    if data_comments:
        seg.comments[first_block or "state"][:0] = data_comments
    for block in _SEGMENT_BLOCKS:
        seg.present.update(seg.raws[block])
    if not seg.raws["state"]:
        raise CdmError("<data> has no <stateVector>", keyword="X", line=data_node.line)
    if not seg.raws["covariance"]:
        raise CdmError("<data> has no <covarianceMatrix>", keyword="CR_R", line=data_node.line)
    return seg


def loads_xml(text: str | bytes, *, strict: bool = False) -> Cdm:
    """Parse an XML-encoded CDM (NDM/XML ``<cdm>``); see :func:`loads` for ``strict``."""
    root = ccsds.parse_xml_tree(text, kind="CDM", error=CdmError)
    if root.tag != "cdm":
        raise CdmError(f"root element must be <cdm>, got <{root.tag}>", keyword=root.tag, line=1)
    version = root.attrs.get("version", "").strip()
    if not version:
        raise CdmError("<cdm> needs a version attribute", keyword="CCSDS_CDM_VERS", line=root.line)
    header_node = root.child("header", error=CdmError)
    raws, h_comments = _xml_fields(
        header_node, {k: "header" for k in _BLOCK_OF if _BLOCK_OF[k] == "header"}
    )
    h_raws = raws.get("header", {})
    body = root.child("body", error=CdmError)
    rel_node = body.child("relativeMetadataData", error=CdmError)
    rel_keys = {k: "relative" for k in _BLOCK_OF if _BLOCK_OF[k] == "relative"}
    raws, r_comments = _xml_fields(rel_node, rel_keys, flatten=("relativeStateVector",))
    r_raws = raws.get("relative", {})
    segments: list[_Segment] = []
    for child in body.children:
        if child.tag == "relativeMetadataData":
            if child is not rel_node:
                raise CdmError("duplicate element", keyword=child.tag, line=child.line)
            if segments:
                raise CdmError(
                    "<relativeMetadataData> must precede the segments",
                    keyword=child.tag,
                    line=child.line,
                )
            continue
        if child.tag != "segment":
            raise CdmError("element not allowed in <body>", keyword=child.tag, line=child.line)
        seg = _xml_segment(child)
        obj = seg.raws["metadata"].get("OBJECT")
        expected = ("OBJECT1", "OBJECT2")
        if len(segments) >= 2:
            raise CdmError(
                "a CDM has exactly two object segments", keyword="OBJECT", line=child.line
            )
        want = expected[len(segments)]
        if obj is None or obj.text != want:
            raise CdmError(
                f"segments missing or out of order: expected OBJECT = {want}, "
                f"got {obj.text if obj else None!r}",
                keyword="OBJECT",
                line=obj.line if obj else child.line,
            )
        segments.append(seg)
    last_line = body.line
    if segments:
        last_line = segments[-1].last_line
    return _assemble(
        version, (h_raws, h_comments), (r_raws, r_comments), segments, last_line, strict=strict
    )


# ------------------------------------------------------------------------------ XML write


def _xml_block(parent: ET.Element, specs: Sequence[_Spec], obj: Any) -> None:
    for c in obj.comments:
        ET.SubElement(parent, "COMMENT").text = c
    for spec in specs:
        value = getattr(obj, spec.attr)
        if value is None:
            continue
        attrs = {"units": spec.unit} if spec.unit is not None else {}
        ET.SubElement(parent, spec.keyword, attrs).text = _format_value(spec, value)


def dumps_xml(cdm: Cdm) -> str:
    """Serialise to NDM/XML (validates first)."""
    cdm.validate()
    h = cdm.header
    root = ET.Element("cdm", {"id": "CCSDS_CDM_VERS", "version": h.version})
    _xml_block(ET.SubElement(root, "header"), _HEADER_SPECS, h)
    body = ET.SubElement(root, "body")
    rel = ET.SubElement(body, "relativeMetadataData")
    # 508.0-B-1 XML groups RELATIVE_POSITION_*/RELATIVE_VELOCITY_* in <relativeStateVector>,
    # placed after RELATIVE_SPEED (and APPROACH_ANGLE, 2.0 draft).
    before = [s for s in _REL_SPECS if s.keyword not in _RELATIVE_STATE_KEYS]
    split = next(i for i, s in enumerate(before) if s.keyword == "START_SCREEN_PERIOD")
    _xml_block(rel, before[:split], cdm.relative)
    state_specs = [s for s in _REL_SPECS if s.keyword in _RELATIVE_STATE_KEYS]
    if any(getattr(cdm.relative, s.attr) is not None for s in state_specs):
        rsv = ET.SubElement(rel, "relativeStateVector")
        _xml_block(rsv, state_specs, _NoComments(cdm.relative))
    _xml_block(rel, before[split:], _NoComments(cdm.relative))
    for obj in (cdm.object1, cdm.object2):
        seg = ET.SubElement(body, "segment")
        data: ET.Element | None = None
        for tag, specs, part in _object_parts(obj):
            if tag == "metadata":
                _xml_block(ET.SubElement(seg, "metadata"), specs, part)
                data = ET.SubElement(seg, "data")
                continue
            assert data is not None
            _xml_block(ET.SubElement(data, tag), specs, part)
    return ccsds.xml_document(root) + "\n"


class _NoComments:
    """A view that hides ``comments`` (they were already written at the block start)."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self.comments: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


# ---------------------------------------------------------------------------- file helpers


def loads(text: str | bytes, *, strict: bool = False) -> Cdm:
    """Parse either encoding, detected from the first non-blank character.

    A covariance that is not positive definite is reported through :class:`CdmWarning` and
    :attr:`Cdm.issues`; with ``strict=True`` it raises :class:`CdmError` instead.
    """
    text = ccsds.decode_message(text)
    if ccsds.is_xml(text):
        return loads_xml(text, strict=strict)
    return loads_kvn(text, strict=strict)


def read_cdm(path: str | Path, *, strict: bool = False) -> Cdm:
    """Read a KVN or XML CDM file."""
    return loads(Path(path).read_bytes(), strict=strict)


def write_cdm(cdm: Cdm, path: str | Path, *, fmt: str = "kvn") -> None:
    """Write ``cdm`` to ``path`` as ``fmt`` = ``"kvn"`` or ``"xml"``."""
    if fmt == "kvn":
        text = dumps_kvn(cdm)
    elif fmt == "xml":
        text = dumps_xml(cdm)
    else:
        raise ValueError(f"fmt must be 'kvn' or 'xml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")
