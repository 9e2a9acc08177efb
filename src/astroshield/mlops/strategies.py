"""``POST /ml/strategies``: avoidance manoeuvres for one of the organisation's conjunctions,
proposed by the StrategyGenerator and flown by the ActorCritic, each with its Pc recomputed
by the physics (two-body around TCA, 2-D Pc of the burnt orbit; never a network's estimate).

The encounter is the event's latest CDM (:func:`astroshield.conjunction.service.avoidance.
latest_encounter`): another organisation's event is 404, as for the avoidance trade. The
ActorCritic plans from one orbit before TCA to one orbit after it (avoidance, then return to
slot), so it answers only when TCA is at least an orbit away.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.conjunction.avoidance import AvoidanceConstraints
from astroshield.astro.conjunction.pc.encounters import Encounter
from astroshield.conjunction.service.avoidance import EventEncounter, latest_encounter
from astroshield.errors import ConflictError, FieldError, InvalidInputError
from astroshield.ml.actor_critic import MODEL_NAME as ACTOR_CRITIC
from astroshield.ml.actor_critic import ActorCritic
from astroshield.ml.avoidance_episode import Constraints, orbit_period_s
from astroshield.ml.encounter_scenarios import Conjunction
from astroshield.ml.strategy_generator import MODEL_NAME as STRATEGY_GENERATOR
from astroshield.ml.strategy_generator import StrategyGenerator
from astroshield.mlops import service
from astroshield.mlops.schemas import (
    BurnRead,
    ProposalRead,
    RolloutRead,
    StrategyQuery,
    StrategyRead,
)
from astroshield.mlops.serving import ModelServer, ServedModel
from astroshield.observability.domain_metrics import ML_PREDICTION_SECONDS
from astroshield.security.principal import Principal

ENDPOINT = "strategies"
# Proposals returned (cheapest first); the rest of the feasible ones are counted.
MAX_PROPOSALS = 5


def _window(query: StrategyQuery, time_to_tca_s: float) -> AvoidanceConstraints:
    earliest = min(query.earliest_burn_before_tca_s or time_to_tca_s, time_to_tca_s)
    if query.latest_burn_before_tca_s > earliest:
        raise InvalidInputError(
            f"no burn time: the latest burn ({query.latest_burn_before_tca_s:g} s before TCA) "
            f"comes before the earliest ({earliest:g} s before TCA; TCA is "
            f"{time_to_tca_s:.0f} s away)",
            errors=[FieldError(["body", "latest_burn_before_tca_s"], "after the earliest burn")],
        )
    return AvoidanceConstraints(
        min_lead_s=query.latest_burn_before_tca_s,
        max_lead_s=earliest,
        max_delta_v_m_s=query.max_delta_v_m_s,
        red_pc=query.red_pc,
    )


def _timed(served: ServedModel, started: float) -> None:
    ML_PREDICTION_SECONDS.labels(served.name, served.version).observe(time.perf_counter() - started)


async def strategies(
    session: AsyncSession, principal: Principal, server: ModelServer, query: StrategyQuery
) -> StrategyRead:
    encounter = await latest_encounter(session, principal, query.conjunction_id)
    now = datetime.now(UTC)
    time_to_tca_s = (encounter.tca - now).total_seconds()
    if time_to_tca_s <= query.latest_burn_before_tca_s:
        raise ConflictError(
            f"TCA {encounter.tca.isoformat()} is {time_to_tca_s:.0f} s away: too late for a "
            f"burn at least {query.latest_burn_before_tca_s:g} s before it"
        )
    constraints = _window(query, time_to_tca_s)
    pair = encounter.pair
    conjunction = Conjunction(
        pair.r1, pair.v1, pair.c1, pair.r2, pair.v2, pair.c2, encounter.hbr_km, time_to_tca_s
    )
    generator_served = await server.model(session, STRATEGY_GENERATOR)
    generator: StrategyGenerator = generator_served.model
    started = time.perf_counter()
    proposed = await asyncio.to_thread(generator.propose, conjunction, constraints)
    _timed(generator_served, started)
    rollout = await _rollout(session, server, encounter, query, time_to_tca_s)
    proposals = [
        ProposalRead(
            burn_time=encounter.tca - timedelta(seconds=p.burn_time_before_tca_s),
            burn_before_tca_s=p.burn_time_before_tca_s,
            dv_rtn_m_s=list(p.dv_rtn_m_s),
            delta_v_m_s=p.delta_v_m_s,
            pc_after=p.pc_after,
            miss_after_km=p.miss_after_km,
            source=p.source,
        )
        for p in proposed.feasible[:MAX_PROPOSALS]
    ]
    input_sha256 = hashlib.sha256(
        f"{encounter.cdm_id}|{query.model_dump_json()}".encode()
    ).hexdigest()
    await service.log_prediction(
        session,
        principal,
        model=generator_served.name,
        version=generator_served.version,
        endpoint=ENDPOINT,
        input_sha256=input_sha256,
        summary={
            "feasible": len(proposed.feasible),
            "dropped": proposed.dropped,
            "cheapest_m_s": proposals[0].delta_v_m_s if proposals else None,
        },
    )
    if rollout is not None:
        await service.log_prediction(
            session,
            principal,
            model=ACTOR_CRITIC,
            version=rollout.actor_critic,
            endpoint=ENDPOINT,
            input_sha256=input_sha256,
            summary={
                "success": rollout.success,
                "total_delta_v_m_s": rollout.total_delta_v_m_s,
                "pc_at_tca": rollout.pc_at_tca,
            },
        )
    return StrategyRead(
        conjunction_id=query.conjunction_id,
        cdm_id=encounter.cdm_id,
        tca=encounter.tca,
        pc_before=conjunction.pc(),
        red_pc=query.red_pc,
        strategy_generator=generator_served.version,
        proposals=proposals,
        feasible=len(proposed.feasible),
        dropped=proposed.dropped,
        rollout=rollout,
    )


async def _rollout(
    session: AsyncSession,
    server: ModelServer,
    encounter: EventEncounter,
    query: StrategyQuery,
    time_to_tca_s: float,
) -> RolloutRead | None:
    """The ActorCritic's plan, when TCA is at least an orbit away (its first decision)."""
    pair = encounter.pair
    if time_to_tca_s < orbit_period_s(pair.r1, pair.v1):
        return None
    served = await server.model(session, ACTOR_CRITIC)
    agent: ActorCritic = served.model
    started = time.perf_counter()
    flown = await asyncio.to_thread(
        agent.rollout,
        Encounter(
            str(encounter.cdm_id),
            pair.r1,
            pair.v1,
            pair.c1,
            pair.r2,
            pair.v2,
            pair.c2,
            encounter.hbr_km,
            (-60.0, 60.0),
        ),
        Constraints(red_pc=query.red_pc),
    )
    _timed(served, started)
    return RolloutRead(
        actor_critic=served.version,
        burns=[
            BurnRead(
                time=encounter.tca + timedelta(seconds=b.time_s),
                dv_rtn_m_s=list(b.dv_rtn_m_s),
            )
            for b in flown.burns
            if b.magnitude_m_s > 0.0
        ],
        total_delta_v_m_s=flown.total_dv_m_s,
        pc_at_tca=flown.pc_at_tca,
        miss_at_tca_km=flown.miss_km,
        slot_error_km=flown.slot_error_km,
        success=flown.success,
    )
