"""CDM -> Pc report, end to end against the public CARA Omitron case A.

The fixture (../shared/fixtures/pc/public_cases.json, from NASA CARA_Analysis_Tools unit tests)
gives km-based inertial states and 3x3 position covariances. The test turns it into a CDM the
way an operator would (covariances rotated into each object's own RTN frame, km² -> m²), writes
and re-reads it, and requires ``pc_report`` to reproduce the fixture's 2-D Pc: a wrong RTN
convention, object mix-up or unit slip would move the value by far more than 1e-3.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.astro.paths import CDM_DATA, PC_CASES_JSON, load_pc_cases
from tests.support.shared import SHARED_ROOT, shared_path

from astroshield.astro.conjunction.report import format_tca, pc_report
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
    CdmWarning,
)

TCA = datetime(2024, 5, 1, 12, 0, 0, 123456)  # noqa: DTZ001  # CDM epochs are naive UTC labels
# The fixture is position-only; the CDM needs a 6x6, so velocities get a small independent
# variance (0.1 m/s sigma) that the 2-D Pc (position block only) does not see.
VEL_VAR_KM2_S2 = (1e-4) ** 2
REQUIRED_KEYS = {
    "pc_2d_foster",
    "pc_2d_chan",
    "pc_max",
    "pc_3d",
    "pc_mc",
    "miss_distance_m",
    "tca",
}


@pytest.fixture(scope="module")
def case_a() -> dict[str, Any]:
    shared_path(PC_CASES_JSON.relative_to(SHARED_ROOT).as_posix())
    data = load_pc_cases()
    case: dict[str, Any] = data["omitron_case_A"]
    assert case["units"]["r"] == "km"
    assert case["units"]["C"] == "km^2"
    assert case["units"]["HBR"] == "km"
    return case


def _object(
    name: str, r_km: Any, v_km_s: Any, cov6_km: Any, frame: str, hbr_m: float | None = None
) -> CdmObject:
    r = np.asarray(r_km, dtype=np.float64)
    v = np.asarray(v_km_s, dtype=np.float64)
    cov_rtn_m = frames.covariance_to_rtn(np.asarray(cov6_km), r, v) * 1e6
    add = None if hbr_m is None else CdmAdditionalParameters(hbr_m=hbr_m)
    return CdmObject(
        metadata=CdmObjectMetadata(
            object=name,
            object_designator="1" if name == "OBJECT1" else "2",
            catalog_name="SATCAT",
            object_name=f"OMITRON {name}",
            international_designator="UNKNOWN",
            ephemeris_name="NONE",
            covariance_method="CALCULATED",
            maneuverable="N/A",
            ref_frame=frame,
        ),
        state=CdmStateVector(
            x_km=float(r[0]),
            y_km=float(r[1]),
            z_km=float(r[2]),
            x_dot_km_s=float(v[0]),
            y_dot_km_s=float(v[1]),
            z_dot_km_s=float(v[2]),
        ),
        covariance=CdmCovariance.from_matrix(cov_rtn_m),
        additional_parameters=add,
    )


def _cov6(c3: Any) -> Any:
    c = np.zeros((6, 6))
    c[:3, :3] = np.asarray(c3, dtype=np.float64)
    c[3:, 3:] = np.eye(3) * VEL_VAR_KM2_S2
    return c


def _case_cdm(case: dict[str, Any], *, hbr_each_m: float | None = None) -> Cdm:
    r1, r2 = np.array(case["r1"]), np.array(case["r2"])
    miss_m = float(np.linalg.norm(r1 - r2)) * 1e3
    return Cdm(
        header=CdmHeader(creation_date=TCA, originator="ASTROSHIELD-TEST", message_id="OMITRON-A"),
        relative=CdmRelativeData(tca=TCA, miss_distance_m=miss_m),
        object1=_object("OBJECT1", r1, case["v1"], _cov6(case["C1"]), "GCRF", hbr_each_m),
        object2=_object("OBJECT2", r2, case["v2"], _cov6(case["C2"]), "GCRF", hbr_each_m),
    )


def _reread(msg: Cdm, tmp_path: Path, fmt: str) -> Cdm:
    path = tmp_path / f"case_a.{fmt}"
    cdm_mod.write_cdm(msg, path, fmt=fmt)
    return cdm_mod.read_cdm(path, strict=True)


@pytest.mark.parametrize("fmt", ["kvn", "xml"])
def test_omitron_case_a_reproduces_cara_pc(
    case_a: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    msg = _reread(_case_cdm(case_a), tmp_path, fmt)
    report = pc_report(msg, hbr_m=case_a["HBR"] * 1e3, mc_samples=20_000)
    expected = case_a["expected"]["Pc2D_circle"]["value"]
    assert report.pc_2d_foster == pytest.approx(expected, rel=1e-3)
    assert report.hbr_m == pytest.approx(20.0)
    assert report.hbr_source == "request"
    assert report.frame == "GCRF"
    assert report.covariance_repaired is False
    assert report.miss_distance_discrepancy_m == pytest.approx(0.0, abs=1e-6)
    assert report.issues == ()


def test_report_shape_and_other_methods(case_a: dict[str, Any]) -> None:
    report = pc_report(_case_cdm(case_a), hbr_m=20.0, mc_samples=200_000, seed=3)
    stored = report.as_dict()
    assert set(stored) >= REQUIRED_KEYS
    assert set(stored["pc_mc"]) == {"value", "ci95"}
    assert len(stored["pc_mc"]["ci95"]) == 2
    assert json.loads(json.dumps(stored)) == stored  # JSON-ready: plain floats, lists, strings
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", report.tca)
    assert report.tca == "2024-05-01T12:00:00.123Z"
    expected = case_a["expected"]["Pc2D_circle"]["value"]
    # Chan's series is an approximation (the fixture notes up to ~0.5 % on Chan's own cases).
    assert report.pc_2d_chan == pytest.approx(expected, rel=1e-2)
    # Alfano's maximum can only be above the Pc at the actual covariance.
    assert report.pc_max >= expected
    # Fast encounter (|v_rel| ~ 14 km/s, sub-second) with a nearly certain velocity: the 3-D
    # collision rate integrates to the 2-D value (Coppola 2012, Hall 2021).
    assert report.pc_3d == pytest.approx(expected, rel=1e-3)
    lo, hi = report.pc_mc.ci95
    assert lo <= expected <= hi
    v_rel = np.subtract(case_a["v1"], case_a["v2"])
    assert report.relative_speed_m_s == pytest.approx(float(np.linalg.norm(v_rel)) * 1e3)
    assert report.miss_distance_m == pytest.approx(
        float(np.linalg.norm(np.subtract(case_a["r1"], case_a["r2"]))) * 1e3
    )


def test_stored_form_keeps_its_keys_and_json_types(case_a: dict[str, Any]) -> None:
    # The dict is stored with every CDM and served by the API: its keys, their order and the
    # JSON types (lists, not tuples) are part of the contract.
    report = pc_report(_case_cdm(case_a), hbr_m=20.0, mc_samples=1_000)
    stored = report.as_dict()
    assert list(stored) == [
        "pc_2d_foster",
        "pc_2d_chan",
        "pc_max",
        "pc_3d",
        "pc_mc",
        "miss_distance_m",
        "tca",
        "hbr_m",
        "hbr_source",
        "frame",
        "relative_speed_m_s",
        "miss_distance_recomputed_m",
        "miss_distance_discrepancy_m",
        "covariance_repaired",
        "cdm_collision_probability",
        "pc_mc_samples",
        "pc_mc_hits",
        "issues",
        "covariance_remediation",
        "pc_undefined_reason",
    ]
    assert report.pc_mc.ci95 is not None
    assert stored["pc_mc"] == {"value": report.pc_mc.value, "ci95": list(report.pc_mc.ci95)}
    assert stored["issues"] == []
    assert stored["pc_undefined_reason"] == {}
    summary = stored["covariance_remediation"]
    assert summary["status"] == "positive_definite"
    assert [c["covariance"] for c in summary["covariances"]] == [
        "projected 2x2 covariance",
        "OBJECT1 6x6 covariance",
        "OBJECT2 6x6 covariance",
    ]
    assert stored["pc_mc_hits"] == report.pc_mc_hits


def test_hbr_from_the_cdm(case_a: dict[str, Any], tmp_path: Path) -> None:
    # HBR (2.0 draft field) of 10 m per object: combined 20 m, the fixture's HBR.
    msg = _reread(_case_cdm(case_a, hbr_each_m=10.0), tmp_path, "kvn")
    report = pc_report(msg, mc_samples=1_000)
    assert report.hbr_m == 20.0
    assert report.hbr_source == "cdm:HBR+HBR"
    expected = case_a["expected"]["Pc2D_circle"]["value"]
    assert report.pc_2d_foster == pytest.approx(expected, rel=1e-3)
    # AREA_PC of a 10 m-radius disk per object gives the same combined radius.
    area = math.pi * 100.0
    objs = [
        replace(o, additional_parameters=CdmAdditionalParameters(area_pc_m2=area))
        for o in (msg.object1, msg.object2)
    ]
    report = pc_report(replace(msg, object1=objs[0], object2=objs[1]), mc_samples=1_000)
    assert report.hbr_source == "cdm:AREA_PC+AREA_PC"
    assert report.hbr_m == pytest.approx(20.0, rel=1e-14)


def test_missing_hbr_is_a_clear_error(case_a: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="hard-body radius"):
        pc_report(_case_cdm(case_a), mc_samples=1_000)


def test_miss_distance_discrepancy_is_reported(case_a: dict[str, Any]) -> None:
    msg = _case_cdm(case_a)
    stated = msg.relative.miss_distance_m + 50.0
    bad = replace(msg, relative=replace(msg.relative, miss_distance_m=stated))
    report = pc_report(bad, hbr_m=20.0, mc_samples=1_000)
    assert report.miss_distance_m == stated
    assert report.miss_distance_discrepancy_m == pytest.approx(-50.0, abs=1e-6)
    assert any("MISS_DISTANCE" in s for s in report.issues)
    expected = case_a["expected"]["Pc2D_circle"]["value"]
    assert report.pc_2d_foster == pytest.approx(expected, rel=1e-3)


def test_mixed_frames_itrf_object(case_a: dict[str, Any], tmp_path: Path) -> None:
    # Object 2 delivered in ITRF (state and covariance mapped from the inertial fixture at TCA,
    # RTN then built from the ITRF state): the report must map it back and find the same Pc.
    msg = _case_cdm(case_a)
    r2, v2 = np.array(case_a["r2"]), np.array(case_a["v2"])
    eye = np.eye(6)
    rr, vv = frames.gcrf_to_itrf(eye[:, :3], eye[:, 3:], TCA)
    jac = np.vstack([np.asarray(rr).T, np.asarray(vv).T])
    x_itrf = jac @ np.concatenate([r2, v2])
    cov_itrf = jac @ _cov6(case_a["C2"]) @ jac.T
    obj2 = _object("OBJECT2", x_itrf[:3], x_itrf[3:], cov_itrf, "ITRF")
    mixed = _reread(replace(msg, object2=obj2), tmp_path, "xml")
    report = pc_report(mixed, hbr_m=20.0, mc_samples=1_000)
    assert report.frame == "GCRF"
    expected = case_a["expected"]["Pc2D_circle"]["value"]
    assert report.pc_2d_foster == pytest.approx(expected, rel=1e-3)
    assert report.miss_distance_discrepancy_m == pytest.approx(0.0, abs=1e-3)


def test_non_pd_annex_example_is_repaired_not_fatal() -> None:
    with pytest.warns(CdmWarning, match="CR_R"):
        msg = cdm_mod.read_cdm(CDM_DATA / "annex_example.kvn")
    report = pc_report(msg, mc_samples=2_000)
    assert report.covariance_repaired is True
    assert any("CR_R" in s for s in report.issues)
    assert report.hbr_source == "cdm:AREA_PC+AREA_PC"
    # The message's MISS_DISTANCE (715 m) is the states' 715.75 m rounded: within tolerance.
    assert abs(report.miss_distance_discrepancy_m) < 1.0
    assert not any("MISS_DISTANCE" in s for s in report.issues)
    assert report.tca == "2010-03-13T22:37:52.618Z"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        json.dumps(report.as_dict())


def test_format_tca_rounds_to_the_millisecond() -> None:
    t = datetime(2024, 12, 31, 23, 59, 59, 999600)  # noqa: DTZ001
    assert format_tca(t) == "2025-01-01T00:00:00.000Z"
    assert format_tca(datetime(2024, 1, 2, 3, 4, 5, 4499)) == "2024-01-02T03:04:05.004Z"  # noqa: DTZ001
