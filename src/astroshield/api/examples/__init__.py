"""Real messages shown as request-body examples in the OpenAPI document (/docs, /redoc).

Each file is a message a person could send as it is:

* ``annex_cdm.kvn``, ``annex_cdm.xml``: the sample CDM of CCSDS 508.0-B-1 (Annex), the same
  message as ``tests/data/cdm/annex_example.*`` (its README tells its source and edits).
* ``iss.tle``, ``iss_omm.csv``, ``iss_omm.xml``: the ISS (ZARYA) element set of CelesTrak's
  2024-11-01 catalog snapshot (``../shared/data/catalog``), as TLE, OMM CSV and OMM XML.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

# The ISS record of iss_omm.csv in CelesTrak's OMM JSON flavour (numbers as JSON numbers).
ISS_OMM_JSON: list[dict[str, Any]] = [
    {
        "OBJECT_NAME": "ISS (ZARYA)",
        "OBJECT_ID": "1998-067A",
        "EPOCH": "2024-10-31T13:56:02.456736",
        "MEAN_MOTION": 15.50886758,
        "ECCENTRICITY": 0.0008966,
        "INCLINATION": 51.6392,
        "RA_OF_ASC_NODE": 359.7717,
        "ARG_OF_PERICENTER": 122.2149,
        "MEAN_ANOMALY": 237.971,
        "EPHEMERIS_TYPE": 0,
        "CLASSIFICATION_TYPE": "U",
        "NORAD_CAT_ID": 25544,
        "ELEMENT_SET_NO": 999,
        "REV_AT_EPOCH": 47970,
        "BSTAR": 0.00060166,
        "MEAN_MOTION_DOT": 0.0003518,
        "MEAN_MOTION_DDOT": 0,
    }
]
# The same set as TLE lines: the trajectory requests' ``tle`` object.
ISS_TLE: dict[str, Any] = {
    "name": "ISS (ZARYA)",
    "line1": "1 25544U 98067A   24305.58058399  .00035180  00000-0  60166-3 0  9990",
    "line2": "2 25544  51.6392 359.7717 0008966 122.2149 237.9710 15.50886758479706",
}


@cache
def example_text(name: str) -> str:
    """The text of one example file of this package (read once)."""
    return (files("astroshield.api.examples") / name).read_text(encoding="utf-8")


def text_body(schema: dict[str, Any], example: str, summary: str) -> dict[str, Any]:
    """An OpenAPI media-type object: a body sent as it is (not JSON), with its example."""
    return {"schema": schema, "examples": {"example": {"summary": summary, "value": example}}}
