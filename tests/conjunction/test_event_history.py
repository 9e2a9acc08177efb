"""One encounter over several CDMs: history order, trend, plots and the avoidance trade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_cdm, omitron_pc_for_20m
from tests.conjunction.conftest import Operator, operator_with, upload

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PRIMARY, SECONDARY = "43001", "43002"


async def _three_updates(client: httpx.AsyncClient, me: Operator) -> tuple[str, datetime]:
    """Three CDMs of one encounter, sent out of order, Pc rising as the combined hard-body
    radius grows 10 -> 20 -> 40 m (Pc ~ HBR² while HBR is small against the sigmas)."""
    now = datetime.now(UTC)
    tca = now + timedelta(days=3)
    updates = {
        # name: (creation, TCA refined by later CDMs within seconds, HBR of each object)
        "CDM-1": (now - timedelta(hours=30), tca + timedelta(seconds=40), 5.0),
        "CDM-2": (now - timedelta(hours=18), tca + timedelta(seconds=12), 10.0),
        "CDM-3": (now - timedelta(hours=6), tca, 20.0),
    }
    event_ids = set()
    for name in ("CDM-2", "CDM-1", "CDM-3"):
        creation, this_tca, hbr = updates[name]
        message = omitron_cdm(
            primary=PRIMARY,
            secondary=SECONDARY,
            tca=this_tca,
            creation=creation,
            message_id=name,
            hbr_each_m=hbr,
        )
        response = await upload(client, kvn(message), me.headers)
        assert response.status_code == 201, response.text
        event_ids.add(response.json()["event"]["id"])
    assert len(event_ids) == 1  # one encounter, one event
    return event_ids.pop(), tca


async def test_history_is_ordered_by_creation_and_trend_rises(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    event_id, tca = await _three_updates(client, me)
    detail = (await client.get(f"/api/v1/conjunctions/{event_id}", headers=me.headers)).json()
    assert [c["message_id"] for c in detail["cdms"]] == ["CDM-1", "CDM-2", "CDM-3"]
    pcs = [c["pc_2d_foster"] for c in detail["cdms"]]
    assert pcs == sorted(pcs)
    # The 20 m combined radius is the fixture's case: CARA's value, the fixture's tolerance.
    assert pcs[1] == pytest.approx(omitron_pc_for_20m(), rel=1e-3)
    # Doubling a small HBR multiplies Pc by about four.
    assert pcs[2] / pcs[1] == pytest.approx(4.0, rel=0.05)
    assert pcs[1] / pcs[0] == pytest.approx(4.0, rel=0.05)
    assert detail["pc_trend"]["trend"] == "rising"
    # log10(4) decades in 12 hours each: ~1.2 decades per day.
    assert detail["pc_trend"]["decades_per_day"] == pytest.approx(2 * 0.60206, rel=0.05)
    # The event carries the newest CDM (the last created, though not the last sent).
    assert detail["pc"] == pcs[2]
    assert detail["tier"] == "red"
    assert datetime.fromisoformat(detail["tca"]) == tca


async def test_plots_are_png(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await operator_with(factory, PRIMARY)
    event_id, _ = await _three_updates(client, me)
    for name in ("encounter.png", "pc-history.png"):
        response = await client.get(f"/api/v1/conjunctions/{event_id}/{name}", headers=me.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(PNG_SIGNATURE)


async def test_avoidance_trade_takes_pc_out_of_red(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    event_id, _ = await _three_updates(client, me)
    response = await client.get(
        f"/api/v1/conjunctions/{event_id}/avoidance",
        params={"lead_time_s": 3600, "direction": "along_track"},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    trade = response.json()
    assert trade["feasible"] is True
    assert trade["before"]["pc"] >= 1e-4
    assert trade["after"]["pc"] < 1e-4 <= trade["before"]["pc"]
    assert 0 < abs(trade["delta_v_m_s"]) <= 5.0
    # Moving the encounter point takes a miss larger than before.
    assert trade["after"]["miss_distance_km"] > trade["before"]["miss_distance_km"]
    bad = await client.get(
        f"/api/v1/conjunctions/{event_id}/avoidance",
        params={"lead_time_s": -5},
        headers=me.headers,
    )
    assert bad.status_code == 422
