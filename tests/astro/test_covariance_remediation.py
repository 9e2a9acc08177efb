"""CARA covariance remediation for non-positive-definite covariances (issue 21).

References are CARA's own published cases (tests/data/pc/cara_npd_cases.json, see its README);
where CARA publishes no Pc, the remediated Pc is checked against a closed form computed here
from the eigenvalue-clipped matrix, or against the same method run on a matrix clipped
independently in the test.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import special

from astroshield.astro.conjunction.pc import (
    pc_2d_result,
    pc_3d,
    pc_encounter_plane,
    pc_encounter_plane_batch,
    pc_encounter_plane_result,
    pc_max,
    pc_max_encounter_plane,
    pc_monte_carlo,
)
from astroshield.astro.conjunction.report import pc_report
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    NotRemediableCovarianceError,
    check_covariance,
)

CASES = Path(__file__).resolve().parents[1] / "data" / "pc" / "cara_npd_cases.json"


def _cases() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CASES.read_text(encoding="utf-8"))
    return data


def _sym2(v: list[float]) -> np.ndarray:
    return np.array([[v[0], v[1]], [v[1], v[2]]])


def _clip(c: np.ndarray, floor: float) -> np.ndarray:
    """The test's own eigenvalue clipping (Hall et al. 2017), independent of the library."""
    w, q = np.linalg.eigh(c)
    out: np.ndarray = q @ np.diag(np.maximum(w, floor)) @ q.T
    return 0.5 * (out + out.T)


@pytest.mark.parametrize("case", _cases()["remediate_2x2"]["cases"], ids=lambda c: c["name"])
def test_cara_remediate_covariance_2x2_cases(case: dict[str, Any]) -> None:
    raw = _sym2(case["projected_cov"])
    floor = (1e-4 * case["hbr"]) ** 2
    if case["arem"] is None:
        with pytest.raises(NotRemediableCovarianceError) as caught:
            check_covariance(raw, floor=floor)
        rem = caught.value.remediation
        assert rem.status == "not_remediable"
        assert "ill-conditioned" in rem.reason
        return
    chk = check_covariance(raw, floor=floor)
    assert chk.remediation.remediated is case["is_remediated"]
    assert np.all(np.linalg.eigvalsh(chk.matrix) > 0.0)
    # CARA prints 16 digits of ~1e12 entries: compare the change clipping made (~4e3 m^2 in
    # case 3) to 1e-5 of itself, which only the same eigenvector and eigenvalue shift meet.
    change = chk.matrix - raw
    cara_change = _sym2(case["arem"]) - raw
    np.testing.assert_allclose(change, cara_change, atol=0.02, rtol=0.0)
    if case["is_remediated"]:
        rem = chk.remediation
        assert rem.clipped_eigenvalues == (rem.eigenvalues[0],)
        assert rem.clipped_eigenvalues[0] < 0.0
        assert rem.floor >= floor


@pytest.mark.parametrize("case", _cases()["pccircle"]["cases"], ids=lambda c: c["name"])
def test_cara_pccircle_cases_including_npd(case: dict[str, Any]) -> None:
    res = pc_2d_result(
        case["r1"], case["v1"], case["cov1"], case["r2"], case["v2"], case["cov2"], case["hbr"]
    )
    assert res.undefined_reason is None
    assert res.covariance_remediation.remediated is case["npd"]
    if case["expected_pc"] == 0.0:
        assert res.value == 0.0
    else:
        assert res.value == pytest.approx(case["expected_pc"], rel=1e-8)
    if case["npd"]:
        assert res.covariance_remediation.eigenvalues[0] < 0.0
        with pytest.raises(CovarianceError, match="not positive definite"):
            pc_2d_result(
                case["r1"],
                case["v1"],
                case["cov1"],
                case["r2"],
                case["v2"],
                case["cov2"],
                case["hbr"],
                repair=False,
            )


def test_remediated_pc_equals_the_thin_gaussian_limit() -> None:
    # A projected covariance with one eigenvalue slightly negative (as a rank-deficient
    # covariance rounds): remediation clips it to (1e-4 HBR)^2, so the miss density is a line
    # along the major axis and Pc is the 1-D normal mass on the chord the disk cuts from it:
    # Phi((a + c) / s1) - Phi((a - c) / s1), c = sqrt(R^2 - b^2) (error ~ (1e-4)^2).
    hbr = 0.02
    ang = 0.3
    q = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    s1 = 0.05
    cov = q @ np.diag([s1**2, -1e-12]) @ q.T
    miss = q @ np.array([0.03, 0.012])  # a along the major axis, b across it
    res = pc_encounter_plane_result(miss, cov, hbr)
    assert res.covariance_remediation.status == "remediated"
    c = math.sqrt(hbr**2 - 0.012**2)
    expected = special.ndtr((0.03 + c) / s1) - special.ndtr((0.03 - c) / s1)
    assert res.value == pytest.approx(expected, rel=1e-6)
    # The vectorised method applies the same CARA clipping.
    batch = pc_encounter_plane_batch(miss[None, :], cov[None, :, :], hbr)
    assert batch[0] == pytest.approx(expected, rel=1e-6)


def test_two_non_positive_eigenvalues_give_an_undefined_pc() -> None:
    cov = np.array([[-1.0, 0.2], [0.2, -2.0]])
    res = pc_encounter_plane_result([0.1, 0.0], cov, 0.05)
    assert math.isnan(res.value)
    assert res.covariance_remediation.status == "not_remediable"
    assert res.undefined_reason is not None and "no positive eigenvalue" in res.undefined_reason
    assert math.isnan(pc_encounter_plane([0.1, 0.0], cov, 0.05, "chan"))
    pmax = pc_max_encounter_plane([0.1, 0.0], cov, 0.05)
    assert math.isnan(pmax.pc) and pmax.undefined_reason == res.undefined_reason
    good = np.diag([0.01, 0.02])
    batch = pc_encounter_plane_batch(
        np.array([[0.1, 0.0], [0.1, 0.0]]), np.stack([cov, good]), 0.05
    )
    assert math.isnan(batch[0])
    assert batch[1] == pytest.approx(pc_encounter_plane([0.1, 0.0], good, 0.05), rel=1e-6)


def test_negative_variance_and_nan_entries_are_not_remediable() -> None:
    negative_variance = np.array([[-4.0, 0.0], [0.0, 9.0]])
    with pytest.raises(NotRemediableCovarianceError, match="negative variance"):
        check_covariance(negative_variance, floor=1e-10)
    r1, v1, r2, v2 = [7000.0, 0.0, 0.0], [0.0, 7.5, 0.0], [7000.01, 0.0, 0.0], [0.0, 0.0, 7.5]
    bad = np.eye(3) * 1e-3
    bad[1, 1] = math.nan
    res = pc_2d_result(r1, v1, np.eye(3) * 1e-3, r2, v2, bad, 0.02)
    assert math.isnan(res.value)
    assert res.undefined_reason is not None and "NaN" in res.undefined_reason
    assert math.isnan(pc_max(r1, v1, np.eye(3) * 1e-3, r2, v2, bad, 0.02).pc)


def _npd_6x6() -> tuple[np.ndarray, np.ndarray]:
    """A LEO-like 6x6 (km, km/s) whose position-velocity correlation exceeds 1 in one pair,
    as in the CCSDS annex CDM: one negative eigenvalue; and a positive definite partner."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 6)) * np.array([0.05, 0.2, 0.03, 5e-5, 2e-4, 3e-5])[:, None]
    good = a @ a.T + np.diag([1e-4, 1e-3, 1e-4, 1e-10, 1e-9, 1e-10])
    bad = good.copy()
    bad[1, 4] = bad[4, 1] = 1.5 * math.sqrt(bad[1, 1] * bad[4, 4])
    assert np.linalg.eigvalsh(bad)[0] < 0.0
    return bad, good


def test_three_d_and_monte_carlo_apply_the_same_remediation() -> None:
    bad, good = _npd_6x6()
    r1, v1 = np.array([7000.0, 0.0, 0.0]), np.array([0.0, 7.5, 0.0])
    r2, v2 = np.array([7000.05, 0.0, 0.0]), np.array([0.0, 0.0, 7.5])
    clipped = _clip(bad, 0.0)
    # Coarse settings keep this cheap: both runs use the same ones, only the input differs.
    coarse: dict[str, Any] = {"n_theta": 4, "n_phi": 8, "rel_tol": 1e-4}
    p3 = pc_3d(r1, v1, bad, r2, v2, good, 0.02, **coarse)
    ref3 = pc_3d(r1, v1, clipped, r2, v2, good, 0.02, **coarse)
    assert [v.status for v in p3.covariance_remediation] == ["remediated", "positive_definite"]
    assert p3.covariance_repaired
    assert p3.value == pytest.approx(ref3.value, rel=1e-9)
    fast: dict[str, Any] = {"samples": 8_000, "seed": 5, "n_grid": 4, "newton_iterations": 4}
    mc = pc_monte_carlo(r1, v1, bad, r2, v2, good, 0.02, **fast)
    ref = pc_monte_carlo(r1, v1, clipped, r2, v2, good, 0.02, **fast)
    assert mc.covariance_remediation[0].status == "remediated"
    assert mc.covariance_remediation[0].floor == 0.0
    assert mc.hits == ref.hits > 0
    corrupt = good.copy()
    corrupt[0, 0] = -corrupt[0, 0]
    with pytest.raises(NotRemediableCovarianceError):
        pc_3d(r1, v1, corrupt, r2, v2, good, 0.02)
    with pytest.raises(NotRemediableCovarianceError):
        pc_monte_carlo(r1, v1, corrupt, r2, v2, good, 0.02, **fast)


# ---------------------------------------------------------------------------------------------
# Through the CDM report
# ---------------------------------------------------------------------------------------------


def test_report_of_cara_npd_cdm_is_remediated_with_caras_pc() -> None:
    from tests.conjunction.cdms import cara_npd_cdm

    tca = datetime(2024, 5, 1, 12, tzinfo=UTC)
    report = pc_report(cara_npd_cdm(tca=tca, creation=tca), mc_samples=2_000)
    assert report.pc_2d_foster == 0.0  # CARA PcCircle_UnitTest testNPDCovariance
    assert report.covariance_repaired
    stored = report.as_dict()
    summary = stored["covariance_remediation"]
    assert summary["status"] == "remediated"
    (plane,) = (c for c in summary["covariances"] if c["covariance"] == "projected 2x2 covariance")
    assert plane["status"] == "remediated"
    # CDM units: the clipped eigenvalue is the same -4.3e3 m^2 as in CARA's case 3 (the
    # same conjunction's projected covariance), and the floor at least (1e-4 * 52.84 m)^2.
    assert plane["clipped_eigenvalues"][0] == pytest.approx(-4324.7, rel=1e-3)
    assert plane["floor"] >= (1e-4 * 52.84) ** 2
    assert stored["pc_undefined_reason"] == {}
    assert json.loads(json.dumps(stored)) == stored


def test_report_of_a_corrupt_covariance_says_undefined_and_why() -> None:
    from tests.conjunction.cdms import cara_npd_cdm

    tca = datetime(2024, 5, 1, 12, tzinfo=UTC)
    report = pc_report(cara_npd_cdm(tca=tca, creation=tca, corrupt=True), mc_samples=1_000)
    assert report.pc_2d_foster is None and report.pc_2d_chan is None and report.pc_max is None
    assert report.pc_3d is None and report.pc_mc.value is None
    stored = report.as_dict()
    assert stored["pc_2d_foster"] is None
    assert stored["pc_mc"] == {"value": None, "ci95": None}
    assert set(stored["pc_undefined_reason"]) == {
        "pc_2d_foster",
        "pc_2d_chan",
        "pc_max",
        "pc_3d",
        "pc_mc",
    }
    assert "negative variance" in stored["pc_undefined_reason"]["pc_2d_foster"]
    assert "negative variance" in stored["pc_undefined_reason"]["pc_mc"]
    assert stored["covariance_remediation"]["status"] == "not_remediable"
    assert json.loads(json.dumps(stored)) == stored
