"""CDMs for the conjunction tests, built from the public CARA Omitron case A.

The fixture (../shared/fixtures/pc/public_cases.json, NASA CARA_Analysis_Tools unit tests)
gives inertial km states and 3x3 position covariances, and an independently computed 2-D Pc
for a combined hard-body radius of 20 m. The CDM carries the covariances in each object's own
RTN frame in m² (as an operator would send them) and a hard-body radius per object, so the
combined radius, and with it Pc, is chosen per message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from astroshield.astro.dynamics import frames
from astroshield.astro.formats import cdm as cdm_mod
from astroshield.astro.formats.cdm import (
    Cdm,
    CdmAdditionalParameters,
    CdmCovariance,
    CdmHeader,
    CdmObject,
    CdmObjectMetadata,
    CdmRelativeData,
    CdmStateVector,
)
from tests.astro.paths import CDM_DATA, load_pc_cases

ANNEX_KVN = CDM_DATA / "annex_example.kvn"
ANNEX_XML = CDM_DATA / "annex_example.xml"
ANNEX_OBJECT1 = "12345"
ANNEX_OBJECT2 = "30337"
# Velocities get a small independent variance: the CDM needs a 6x6 and the 2-D Pc does not
# see it.
_VELOCITY_VARIANCE_KM2_S2 = (1e-4) ** 2


def omitron_case() -> dict[str, Any]:
    case: dict[str, Any] = load_pc_cases()["omitron_case_A"]
    assert case["units"]["r"] == "km" and case["units"]["C"] == "km^2"
    assert case["units"]["HBR"] == "km"
    return case


def omitron_pc_for_20m() -> float:
    """CARA PcCircle for the fixture's combined HBR of 0.02 km."""
    case = omitron_case()
    assert case["HBR"] == 0.02
    return float(case["expected"]["Pc2D_circle"]["value"])


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _segment(
    label: str, number: str, r: Any, v: Any, c3: Any, hbr_m: float, name: str
) -> CdmObject:
    r_km, v_km_s = np.asarray(r, dtype=float), np.asarray(v, dtype=float)
    cov = np.zeros((6, 6))
    cov[:3, :3] = np.asarray(c3, dtype=float)
    cov[3:, 3:] = np.eye(3) * _VELOCITY_VARIANCE_KM2_S2
    cov_rtn_m = frames.covariance_to_rtn(cov, r_km, v_km_s) * 1e6
    return CdmObject(
        metadata=CdmObjectMetadata(
            object=label,
            object_designator=number,
            catalog_name="SATCAT",
            object_name=name,
            international_designator="UNKNOWN",
            ephemeris_name="NONE",
            covariance_method="CALCULATED",
            maneuverable="YES" if label == "OBJECT1" else "NO",
            ref_frame="GCRF",
        ),
        state=CdmStateVector(*(float(x) for x in (*r_km, *v_km_s))),
        covariance=CdmCovariance.from_matrix(cov_rtn_m),
        additional_parameters=CdmAdditionalParameters(hbr_m=hbr_m),
    )


def omitron_cdm(
    *,
    primary: str,
    secondary: str,
    tca: datetime,
    creation: datetime,
    message_id: str,
    hbr_each_m: float = 10.0,
    primary_is_object2: bool = False,
) -> Cdm:
    """Omitron case A between ``primary`` (the fixture's object 1) and ``secondary``."""
    case = omitron_case()
    r1, r2 = np.asarray(case["r1"]), np.asarray(case["r2"])
    ours = _segment("OBJECT1", primary, r1, case["v1"], case["C1"], hbr_each_m, "OUR SAT")
    theirs = _segment("OBJECT2", secondary, r2, case["v2"], case["C2"], hbr_each_m, "DEBRIS")
    if primary_is_object2:
        ours, theirs = (
            _segment("OBJECT1", secondary, r2, case["v2"], case["C2"], hbr_each_m, "DEBRIS"),
            _segment("OBJECT2", primary, r1, case["v1"], case["C1"], hbr_each_m, "OUR SAT"),
        )
    return Cdm(
        header=CdmHeader(
            creation_date=_naive(creation), originator="TEST-CARA", message_id=message_id
        ),
        relative=CdmRelativeData(
            tca=_naive(tca), miss_distance_m=float(np.linalg.norm(r1 - r2)) * 1e3
        ),
        object1=ours,
        object2=theirs,
    )


def kvn(message: Cdm) -> bytes:
    return cdm_mod.dumps_kvn(message).encode()


def xml(message: Cdm) -> bytes:
    return cdm_mod.dumps_xml(message).encode()


CARA_NPD_CASES = Path(__file__).resolve().parents[1] / "data" / "pc" / "cara_npd_cases.json"


def cara_npd_cdm(
    *,
    primary: str = "12345",
    secondary: str = "99999",
    tca: datetime,
    creation: datetime,
    message_id: str = "CARA-NPD-1",
    corrupt: bool = False,
) -> Cdm:
    """CARA's PcCircle NPD unit-test conjunction (tests/data/pc/cara_npd_cases.json) as a CDM.

    The secondary's position covariance has one negative eigenvalue: CARA remediates it and
    publishes Pc = 0 for the combined HBR of 52.84 m (26.42 m each here). With ``corrupt`` both
    position covariances are negated: no positive eigenvalue, nothing to remediate.
    """
    cases = json.loads(CARA_NPD_CASES.read_text(encoding="utf-8"))["pccircle"]["cases"]
    case = next(c for c in cases if c["name"] == "npd_covariance")
    assert case["units"] == "m"
    sign = -1.0 if corrupt else 1.0
    r1, r2 = np.asarray(case["r1"]) / 1e3, np.asarray(case["r2"]) / 1e3
    v1, v2 = np.asarray(case["v1"]) / 1e3, np.asarray(case["v2"]) / 1e3
    c1 = sign * np.asarray(case["cov1"]) / 1e6
    c2 = sign * np.asarray(case["cov2"]) / 1e6
    half = case["hbr"] / 2.0
    return Cdm(
        header=CdmHeader(
            creation_date=_naive(creation), originator="TEST-CARA", message_id=message_id
        ),
        relative=CdmRelativeData(
            tca=_naive(tca), miss_distance_m=float(np.linalg.norm(r1 - r2)) * 1e3
        ),
        object1=_segment("OBJECT1", primary, r1, v1, c1, half, "OUR SAT"),
        object2=_segment("OBJECT2", secondary, r2, v2, c2, half, "DEBRIS"),
    )
