"""CDMs with non-positive-definite covariances through the API (issue 21).

A remediable one (CARA's PcCircle NPD unit-test conjunction, published Pc = 0) is stored with
its Pc and the remediation; a corrupt one (position covariances without a positive
eigenvalue) is still stored, so the event is tracked, with every Pc null and the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from astroshield.astro.conjunction.report import PcReport, pc_report
from astroshield.astro.formats.cdm import Cdm
from astroshield.conjunction.service import intake
from tests.conftest import Factory
from tests.conjunction.cdms import cara_npd_cdm, kvn
from tests.conjunction.conftest import operator_with, upload

PRIMARY = "12345"
METHODS = {"pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d", "pc_mc"}


async def test_remediable_npd_cdm_gives_caras_pc_and_says_it_was_remediated(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This conjunction's secondary spans thousands of km: the service's 1e5 Monte Carlo
    # samples over that window take ~20 s, and the Monte Carlo value is not under test here.
    def fewer_samples(message: Cdm, **kwargs: Any) -> PcReport:
        return pc_report(message, **(kwargs | {"mc_samples": 2_000}))

    monkeypatch.setattr(intake, "pc_report", fewer_samples)
    me = await operator_with(factory, PRIMARY)
    tca = datetime.now(UTC) + timedelta(days=1)
    message = cara_npd_cdm(primary=PRIMARY, tca=tca, creation=datetime.now(UTC))
    response = await upload(client, kvn(message), me.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["event"]["pc"] == 0.0  # CARA PcCircle_UnitTest testNPDCovariance
    assert body["cdm"]["covariance_remediation_status"] == "remediated"
    assert body["cdm"]["pc_undefined_reason"] == {}
    summary = body["report"]["covariance_remediation"]
    assert summary["status"] == "remediated"
    assert "projected 2x2 covariance" in summary["reason"]
    detail = await client.get(f"/api/v1/conjunctions/{body['event']['id']}", headers=me.headers)
    assert detail.json()["cdms"][0]["covariance_remediation_status"] == "remediated"


async def test_corrupt_covariance_is_stored_with_undefined_pc_and_the_reason(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    tca = datetime.now(UTC) + timedelta(days=1)
    message = cara_npd_cdm(primary=PRIMARY, tca=tca, creation=datetime.now(UTC), corrupt=True)
    response = await upload(client, kvn(message), me.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    event, cdm = body["event"], body["cdm"]
    assert event["pc"] is None
    assert "miss" in event["tier_basis"]  # no Pc: the tier rests on the miss distance
    assert all(cdm[method] is None for method in METHODS)
    assert cdm["covariance_remediation_status"] == "not_remediable"
    assert set(cdm["pc_undefined_reason"]) == METHODS
    assert "negative variance" in cdm["pc_undefined_reason"]["pc_2d_foster"]
    assert body["report"]["pc_undefined_reason"] == cdm["pc_undefined_reason"]
    event_id = event["id"]
    detail = (await client.get(f"/api/v1/conjunctions/{event_id}", headers=me.headers)).json()
    assert detail["cdms"][0]["pc_2d_foster"] is None
    assert detail["cdms"][0]["pc_undefined_reason"] == cdm["pc_undefined_reason"]
    plane = await client.get(f"/api/v1/conjunctions/{event_id}/encounter.png", headers=me.headers)
    assert plane.status_code == 409
    history = await client.get(
        f"/api/v1/conjunctions/{event_id}/pc-history.png", headers=me.headers
    )
    assert history.status_code == 200  # no point to draw, still a plot
    assert plane.headers["content-type"] == "application/problem+json"
    trade = await client.get(
        f"/api/v1/conjunctions/{event_id}/avoidance",
        params={"lead_time_s": 3600, "direction": "along_track"},
        headers=me.headers,
    )
    assert trade.status_code == 409
    assert "undefined" in trade.json()["detail"]
