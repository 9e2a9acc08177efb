"""The CDM as frozen dataclasses, in the units of the standard (508.0-B-1 tables 3-2 to 3-4).

Relative data in m and m/s, state vectors in km and km/s, the RTN covariance in m², m²/s and
m²/s²; epochs are naive UTC :class:`datetime.datetime` labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias, TypeGuard

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.dynamics import frames
from astroshield.astro.formats.cdm.covariance import definiteness_problem
from astroshield.astro.formats.cdm.errors import CdmError
from astroshield.astro.formats.cdm.keywords import (
    ADD_SPECS,
    COV_SIZES,
    COVARIANCE_KEYWORDS,
    HEADER_SPECS,
    META_SPECS,
    OD_SPECS,
    REL_SPECS,
    STATE_SPECS,
)
from astroshield.astro.formats.cdm.values import check_metadata, check_numbers, check_text
from astroshield.astro.ids import (
    IdentifierError,
    normalize_catalog_number,
    normalize_cospar_id,
)

FloatArray: TypeAlias = NDArray[np.float64]


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
        """Canonical catalog number (:mod:`astroshield.astro.ids`) when CATALOG_NAME is
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
        if len(self.lower_triangle) not in COV_SIZES:
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

        In the order of the CDM 2.0 draft's additional parameters: HBR (the object's hard-body
        radius) as is; else AREA_PC (the area to use for Pc) and, failing that, AREA_PC_MAX
        (its upper bound: the conservative choice) as the radius of the circle of equal area,
        ``sqrt(AREA / pi)``. A value that is not positive and finite (CARA writes ``NaN`` for
        unknown sizes) counts as absent. AREA_PC_MIN is never used: it would understate Pc.
        """
        add = self.additional_parameters
        if add is None:
            return None
        if _usable(add.hbr_m):
            return add.hbr_m, "HBR"
        for keyword, area in (("AREA_PC", add.area_pc_m2), ("AREA_PC_MAX", add.area_pc_max_m2)):
            if _usable(area):
                return math.sqrt(area / math.pi), keyword
        return None


def _usable(size: float | None) -> TypeGuard[float]:
    return size is not None and math.isfinite(size) and size > 0.0


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
        check_text("header", HEADER_SPECS, self.header, {})
        check_text("relative", REL_SPECS, self.relative, {})
        for expected, obj in (("OBJECT1", self.object1), ("OBJECT2", self.object2)):
            if obj.metadata.object != expected:
                raise CdmError(
                    f"segment must be {expected}, got {obj.metadata.object!r}", keyword="OBJECT"
                )
            check_text("metadata", META_SPECS, obj.metadata, {})
            check_metadata(obj.metadata, {})
            for specs, part in (
                (OD_SPECS, obj.od_parameters),
                (ADD_SPECS, obj.additional_parameters),
                (STATE_SPECS, obj.state),
            ):
                if part is not None:
                    check_numbers(specs, part)
            for key, value in zip(COVARIANCE_KEYWORDS, obj.covariance.lower_triangle, strict=False):
                if not math.isfinite(value):
                    raise CdmError(f"non-finite value {value!r}", keyword=key)

    def covariance_issues(self) -> list[str]:
        """Positive-definiteness problems of both covariances (empty when both are fine)."""
        out = []
        for obj in (self.object1, self.object2):
            problem = definiteness_problem(obj.covariance)
            if problem:
                out.append(f"{obj.metadata.object}: {problem}")
        return out
