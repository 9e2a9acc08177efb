"""CDM keyword tables (508.0-B-1 tables 3-1 to 3-4, plus the CDM 2.0 draft keywords we accept).

Pure data: each block's keywords in the standard's order with the dataclass attribute, value
kind, unit and whether the keyword is mandatory. Readers, writers and checks are driven by these
tables so the order and units are written down once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
COV_SIZES = (21, 28, 36, 45)


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


Kind = Literal["str", "float", "int", "epoch"]


@dataclass(frozen=True)
class Spec:
    """One keyword: its dataclass attribute, value kind, unit (None: unitless) and presence."""

    keyword: str
    attr: str
    kind: Kind
    unit: str | None = None
    mandatory: bool = False


def _s(keyword: str, attr: str | None = None, *, mandatory: bool = False) -> Spec:
    return Spec(keyword, attr or keyword.lower(), "str", None, mandatory)


def _f(keyword: str, attr: str, unit: str | None = None, *, mandatory: bool = False) -> Spec:
    return Spec(keyword, attr, "float", unit, mandatory)


def _e(keyword: str, attr: str | None = None, *, mandatory: bool = False) -> Spec:
    return Spec(keyword, attr or keyword.lower(), "epoch", None, mandatory)


def _i(keyword: str) -> Spec:
    return Spec(keyword, keyword.lower(), "int")


# Header: 508.0-B-1 table 3-1 (CLASSIFICATION from the 2.0 draft).
HEADER_SPECS: tuple[Spec, ...] = (
    _s("CLASSIFICATION"),
    _e("CREATION_DATE", mandatory=True),
    _s("ORIGINATOR", mandatory=True),
    _s("MESSAGE_FOR"),
    _s("MESSAGE_ID", mandatory=True),
)

# Relative metadata/data: table 3-2 (CONJUNCTION_ID ... SCREEN_PC_THRESHOLD from the 2.0 draft).
REL_SPECS: tuple[Spec, ...] = (
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
# RELATIVE_POSITION_* and RELATIVE_VELOCITY_*: XML groups them in <relativeStateVector>.
RELATIVE_STATE_KEYS: tuple[str, ...] = tuple(
    s.keyword
    for s in REL_SPECS
    if s.keyword.startswith("RELATIVE_") and s.keyword != "RELATIVE_SPEED"
)

# Object metadata: table 3-3 (ODM_MSG_LINK, ADM_MSG_LINK, COVARIANCE_SOURCE from the 2.0 draft).
META_SPECS: tuple[Spec, ...] = (
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
OD_SPECS: tuple[Spec, ...] = (
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
ADD_SPECS: tuple[Spec, ...] = (
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
STATE_SPECS: tuple[Spec, ...] = (
    _f("X", "x_km", "km", mandatory=True),
    _f("Y", "y_km", "km", mandatory=True),
    _f("Z", "z_km", "km", mandatory=True),
    _f("X_DOT", "x_dot_km_s", "km/s", mandatory=True),
    _f("Y_DOT", "y_dot_km_s", "km/s", mandatory=True),
    _f("Z_DOT", "z_dot_km_s", "km/s", mandatory=True),
)
COV_SPECS: tuple[Spec, ...] = tuple(
    _f(k, k.lower(), _cov_unit(k), mandatory=i < 21) for i, k in enumerate(COVARIANCE_KEYWORDS)
)

BLOCKS: dict[str, tuple[Spec, ...]] = {
    "header": HEADER_SPECS,
    "relative": REL_SPECS,
    "metadata": META_SPECS,
    "od": OD_SPECS,
    "additional": ADD_SPECS,
    "state": STATE_SPECS,
    "covariance": COV_SPECS,
}
BLOCK_OF: dict[str, str] = {s.keyword: b for b, specs in BLOCKS.items() for s in specs}
SPEC_OF: dict[str, Spec] = {s.keyword: s for specs in BLOCKS.values() for s in specs}
SEGMENT_BLOCKS = ("metadata", "od", "additional", "state", "covariance")
SEGMENT_ORDER: tuple[str, ...] = tuple(s.keyword for b in SEGMENT_BLOCKS for s in BLOCKS[b])

ENUMS: dict[str, tuple[str, ...]] = {
    "OBJECT": ("OBJECT1", "OBJECT2"),
    "COVARIANCE_METHOD": ("CALCULATED", "DEFAULT"),
    "MANEUVERABLE": ("YES", "NO", "N/A"),
    "SCREEN_VOLUME_FRAME": ("RTN", "TVN"),
    "SCREEN_VOLUME_SHAPE": ("ELLIPSOID", "BOX", "SPHERE"),
}
