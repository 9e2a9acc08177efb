"""OEM keywords (502.0-B-3): header, metadata, state vector and covariance element names."""

from __future__ import annotations

COVARIANCE_ELEMENTS: tuple[str, ...] = (
    "CX_X",
    "CY_X",
    "CY_Y",
    "CZ_X",
    "CZ_Y",
    "CZ_Z",
    "CX_DOT_X",
    "CX_DOT_Y",
    "CX_DOT_Z",
    "CX_DOT_X_DOT",
    "CY_DOT_X",
    "CY_DOT_Y",
    "CY_DOT_Z",
    "CY_DOT_X_DOT",
    "CY_DOT_Y_DOT",
    "CZ_DOT_X",
    "CZ_DOT_Y",
    "CZ_DOT_Z",
    "CZ_DOT_X_DOT",
    "CZ_DOT_Y_DOT",
    "CZ_DOT_Z_DOT",
)
STATE_ELEMENTS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
ACCEL_ELEMENTS = ("X_DDOT", "Y_DDOT", "Z_DDOT")
HEADER_KEYS = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
HEADER_REQUIRED = ("CREATION_DATE", "ORIGINATOR")
META_KEYS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "REF_FRAME_EPOCH",
    "TIME_SYSTEM",
    "START_TIME",
    "USEABLE_START_TIME",
    "USEABLE_STOP_TIME",
    "STOP_TIME",
    "INTERPOLATION",
    "INTERPOLATION_DEGREE",
)
META_REQUIRED = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "TIME_SYSTEM",
    "START_TIME",
    "STOP_TIME",
)
