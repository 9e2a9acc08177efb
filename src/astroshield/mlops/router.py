"""``/ml``: the model registry, the AdversaryEncoder endpoint and the prediction log.

Every route is behind the ``ml-endpoints`` feature flag (403 ``feature-disabled`` while it
is off for the caller). Models are platform-wide: any authenticated caller lists them and
uses the endpoints; which version every organisation is served is platform configuration:
registering and activating a version takes ``platform:config`` (platform administrators),
audited in the platform stream. The prediction log is per organisation.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from astroshield.api.deps import (
    ActorDep,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    require_scope,
)
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.api.side_effects import after_commit
from astroshield.api.state import state_of
from astroshield.ccdm.service import config_from as ccdm_config_from
from astroshield.features.catalogue import Flag
from astroshield.features.gate import require_feature
from astroshield.mlops import predict, service, strategies, threat
from astroshield.mlops.schemas import (
    AnomalyScores,
    ElementSetHistory,
    ModelRead,
    ModelRegistration,
    NamePath,
    PredictionRead,
    StrategyQuery,
    StrategyRead,
    ThreatPrediction,
    ThreatQuery,
    VersionPath,
)
from astroshield.mlops.serving import ModelServer
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(
    prefix="/ml", tags=["machine learning"], dependencies=[require_feature(Flag.ML_ENDPOINTS)]
)
MLAdmin = Annotated[Principal, Depends(require_scope(Scope.PLATFORM_CONFIG))]
# The threat detector reads what the CCDM intent assessment reads.
CcdmReader = Annotated[Principal, Depends(require_scope(Scope.CCDM_READ))]
ConjunctionReader = Annotated[Principal, Depends(require_scope(Scope.CONJUNCTIONS_READ))]


@router.get("/models")
async def list_models(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[ModelRead]:
    """Every registered model version (the shipped ones included), with its active flag,
    file and data-set hashes, metrics and training configuration."""
    rows = await service.list_models(
        session, after_id=cursor_value(page, "id", uuid.UUID), limit=page.limit + 1
    )
    return make_page(rows, page, render=service.to_read, key=id_key)


@router.post("/models", status_code=201)
async def register_model(
    registration: ModelRegistration, admin: MLAdmin, session: SessionDep, actor: ActorDep
) -> ModelRead:
    """Register an ONNX file on the server (its metadata JSON beside it) as a new,
    inactive version; refused (422) when the file's sha256 is not ``sha256`` or not the
    one in its metadata, 409 when that name and version are registered already."""
    model = await service.register_model(
        session, registration.file_path, registration.sha256, actor=actor
    )
    return service.to_read(model)


@router.post("/models/{name}/versions/{version}/activate")
async def activate_model(
    name: NamePath,
    version: VersionPath,
    admin: MLAdmin,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> ModelRead:
    """Serve this version of the model from now on, on every replica, without a restart
    (409 when its file is no longer the registered one)."""
    model = await service.activate_model(session, name, version, actor=actor)
    server = state_of(request).component(ModelServer)

    async def announce() -> None:
        await server.announce(name)

    after_commit(request, announce)
    return service.to_read(model)


@router.post("/adversary-encoder/score")
async def score_history(
    body: ElementSetHistory, principal: CurrentPrincipal, request: Request, session: SessionDep
) -> AnomalyScores:
    """AdversaryEncoder anomaly scores of one object's element-set history: one score per
    element set that ends a full window (higher = more anomalous; ``anomalous`` above the
    model's calibrated threshold), with the model version that answered. Logged in the
    prediction log (the input's sha256, not the input)."""
    server = state_of(request).component(ModelServer)
    return await predict.score_history(session, principal, server, body)


@router.post("/threat-detector/predict")
async def predict_threat(
    body: ThreatQuery,
    principal: CcdmReader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> ThreatPrediction:
    """ThreatDetectorNN: calibrated probabilities of the object's class relative to your
    spacecraft (nominal, collision_risk, maneuver_anomaly, rendezvous_proximity, unknown),
    from the inputs of the CCDM intent assessment, with the rule-based category on the same
    inputs beside them. Read only: no category is kept and no alert raised."""
    server = state_of(request).component(ModelServer)
    return await threat.predict_threat(session, principal, server, body, ccdm_config_from(settings))


@router.post("/strategies")
async def propose_strategies(
    body: StrategyQuery, principal: ConjunctionReader, request: Request, session: SessionDep
) -> StrategyRead:
    """Avoidance manoeuvres for the latest CDM of your conjunction: the StrategyGenerator's
    proposals (time, RTN Δv) and the ActorCritic's avoidance-and-return plan, each with its
    Pc recomputed by the physics (two-body around TCA; infeasible proposals are dropped and
    counted). Read only: nothing is planned or commanded."""
    server = state_of(request).component(ModelServer)
    return await strategies.strategies(session, principal, server, body)


@router.get("/predictions")
async def list_predictions(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[PredictionRead]:
    """Your organisation's ML predictions, newest first."""
    rows = await service.list_predictions(
        session, principal, after_id=cursor_value(page, "id", uuid.UUID), limit=page.limit + 1
    )
    return make_page(rows, page, render=service.prediction_to_read, key=id_key)
