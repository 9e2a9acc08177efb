"""OMM keywords: CelesTrak's columns, the fields of an SGP4 element set and their units."""

from __future__ import annotations

CELESTRAK_COLUMNS: tuple[str, ...] = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
FLOAT_FIELDS: dict[str, str] = {
    "MEAN_MOTION": "mean_motion_rev_per_day",
    "ECCENTRICITY": "eccentricity",
    "INCLINATION": "inclination_deg",
    "RA_OF_ASC_NODE": "ra_of_asc_node_deg",
    "ARG_OF_PERICENTER": "arg_of_pericenter_deg",
    "MEAN_ANOMALY": "mean_anomaly_deg",
    "BSTAR": "bstar_per_earth_radius",
    "MEAN_MOTION_DOT": "mean_motion_dot_rev_per_day2",
    "MEAN_MOTION_DDOT": "mean_motion_ddot_rev_per_day3",
}
# Optional in CelesTrak data; CCSDS defaults where the standard gives one.
INT_FIELDS: dict[str, tuple[str, int]] = {
    "EPHEMERIS_TYPE": ("ephemeris_type", 0),
    "ELEMENT_SET_NO": ("element_set_number", 999),
    "REV_AT_EPOCH": ("rev_at_epoch", 0),
}
UNITS: dict[str, str] = {
    "MEAN_MOTION": "rev/day",
    "INCLINATION": "deg",
    "RA_OF_ASC_NODE": "deg",
    "ARG_OF_PERICENTER": "deg",
    "MEAN_ANOMALY": "deg",
    "BSTAR": "1/ER",
    "MEAN_MOTION_DOT": "rev/day**2",
    "MEAN_MOTION_DDOT": "rev/day**3",
}
# Metadata an SGP4 element set must carry if it is present at all.
REQUIRED_METADATA = {
    "CENTER_NAME": "EARTH",
    "REF_FRAME": "TEME",
    "TIME_SYSTEM": "UTC",
    "MEAN_ELEMENT_THEORY": "SGP4",
}
MEAN_ELEMENT_KEYS = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
)
TLE_PARAMETER_KEYS = (
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
OMM_VERSION = "3.0"
KVN_MARKER = "CCSDS_OMM_VERS"  # the first keyword of every KVN OMM
# The keyword of each ElementSet attribute, to locate range errors found by ElementSet itself.
ATTRIBUTE_KEYWORDS: dict[str, str] = {
    **{attribute: keyword for keyword, attribute in FLOAT_FIELDS.items()},
    **{attribute: keyword for keyword, (attribute, _) in INT_FIELDS.items()},
    "catalog_number": "NORAD_CAT_ID",
    "object_id": "OBJECT_ID",
    "epoch": "EPOCH",
    "classification": "CLASSIFICATION_TYPE",
}
