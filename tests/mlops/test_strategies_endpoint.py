"""POST /ml/strategies: on a red conjunction of the organisation (a CARA test case uploaded
as a CDM), every proposal the StrategyGenerator returns is under the threshold by physics
computed here without the avoidance module, the ActorCritic's plan is flown around TCA,
another organisation's event is not found, an empty burn window is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from astroshield.ml.actor_critic import MODEL_VERSION as ACTOR_VERSION
from astroshield.ml.avoidance_episode import orbit_period_s
from astroshield.ml.encounter_scenarios import Conjunction
from astroshield.ml.strategy_generator import MODEL_VERSION as GENERATOR_VERSION
from tests.conftest import Factory
from tests.conjunction.cdms import kvn, omitron_case, omitron_cdm
from tests.conjunction.conftest import operator_with, upload
from tests.ml.test_strategy_scenarios import independent_pc
from tests.mlops.support import PREDICTIONS, ml_apps

STRATEGIES = "/api/v1/ml/strategies"
PRIMARY, SECONDARY = "43011", "43012"
HBR_EACH_M = 20.0


def _conjunction(time_to_tca_s: float) -> Conjunction:
    """The CARA Omitron case A as the CDM carries it (our spacecraft first)."""
    case = omitron_case()
    return Conjunction(
        np.asarray(case["r1"]), np.asarray(case["v1"]), np.asarray(case["C1"]),
        np.asarray(case["r2"]), np.asarray(case["v2"]), np.asarray(case["C2"]),
        2 * HBR_EACH_M / 1e3, time_to_tca_s,
    )  # fmt: skip


async def test_proposals_and_the_plan_are_checked_by_physics(
    database_url: str, factory: Factory
) -> None:
    me = await operator_with(factory, PRIMARY)
    stranger = await factory.login(await factory.organisation(), role="analyst")
    tca = datetime.now(UTC) + timedelta(days=1)
    message = omitron_cdm(
        primary=PRIMARY,
        secondary=SECONDARY,
        tca=tca,
        creation=datetime.now(UTC) - timedelta(hours=1),
        message_id="ML-STRATEGY-1",
        hbr_each_m=HBR_EACH_M,
    )
    query = {"earliest_burn_before_tca_s": 43_200, "latest_burn_before_tca_s": 1_800}
    async with ml_apps(database_url) as (replica,):
        client = replica.client
        uploaded = await upload(client, kvn(message), me.headers)
        assert uploaded.status_code == 201, uploaded.text
        event_id = uploaded.json()["event"]["id"]
        response = await client.post(
            STRATEGIES, json={"conjunction_id": event_id, **query}, headers=me.headers
        )
        other = await client.post(
            STRATEGIES, json={"conjunction_id": event_id, **query}, headers=stranger
        )
        empty = await client.post(
            STRATEGIES,
            json={
                "conjunction_id": event_id,
                "earliest_burn_before_tca_s": 600,
                "latest_burn_before_tca_s": 1_800,
            },
            headers=me.headers,
        )
        logged = await client.get(PREDICTIONS, headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["strategy_generator"] == GENERATOR_VERSION
    assert body["pc_before"] >= body["red_pc"] == 1e-4
    assert body["proposals"], body
    conjunction = _conjunction((tca - datetime.now(UTC)).total_seconds())
    deltas = [p["delta_v_m_s"] for p in body["proposals"]]
    assert deltas == sorted(deltas)
    for proposal in body["proposals"]:
        assert 1_800 <= proposal["burn_before_tca_s"] <= 43_200
        assert proposal["delta_v_m_s"] <= 1.0
        assert abs(np.linalg.norm(proposal["dv_rtn_m_s"]) - proposal["delta_v_m_s"]) < 1e-12
        pc = independent_pc(conjunction, proposal["burn_before_tca_s"], proposal["dv_rtn_m_s"])
        assert pc < 1e-4
        assert abs(pc - proposal["pc_after"]) <= 1e-2 * proposal["pc_after"] + 1e-12
    rollout = body["rollout"]
    assert rollout is not None and rollout["actor_critic"] == ACTOR_VERSION
    period = orbit_period_s(conjunction.r1, conjunction.v1)
    for burn in rollout["burns"]:
        offset = (datetime.fromisoformat(burn["time"]) - tca).total_seconds()
        assert -period - 1 <= offset <= period + 1
    flown = sum(float(np.linalg.norm(b["dv_rtn_m_s"])) for b in rollout["burns"])
    assert abs(rollout["total_delta_v_m_s"] - flown) < 1e-9
    assert rollout["success"] == (rollout["pc_at_tca"] < 1e-4 and rollout["slot_error_km"] < 0.5)
    assert other.status_code == 404, other.text
    assert empty.status_code == 422, empty.text
    assert ["body", "latest_burn_before_tca_s"] in [e["loc"] for e in empty.json()["errors"]]
    entries = [e for e in logged.json()["items"] if e["endpoint"] == "strategies"]
    assert sorted((e["model_name"], e["model_version"]) for e in entries) == [
        ("actor_critic", ACTOR_VERSION),
        ("strategy_generator", GENERATOR_VERSION),
    ]
