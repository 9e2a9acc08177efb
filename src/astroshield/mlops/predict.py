"""The ML endpoints' work: parse the input, run the served model, log the prediction.

Each endpoint is one function here (and one route): the served model comes from
:class:`astroshield.mlops.serving.ModelServer` (loaded from the registry, hot-swapped),
inference runs in a worker thread, the prediction is logged in the request's transaction.
ThreatDetectorNN and StrategyGenerator/ActorCritic endpoints follow the same shape.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.catalog.formats import ParsedUpload, parse_upload
from astroshield.errors import FieldError, InvalidInputError
from astroshield.ml.adversary_encoder import MODEL_NAME as ADVERSARY_ENCODER
from astroshield.ml.adversary_encoder import AdversaryEncoder
from astroshield.mlops import service
from astroshield.mlops.schemas import AnomalyScores, ElementSetHistory, ScoredSetRead
from astroshield.mlops.serving import ModelServer
from astroshield.observability.domain_metrics import ML_PREDICTION_SECONDS
from astroshield.security.principal import Principal

SCORE_ENDPOINT = "adversary-encoder/score"


def _relocated(error: InvalidInputError, field: str) -> InvalidInputError:
    """The parser's 422 with its locations under the body member that held the sets."""
    errors = [
        FieldError(["body", field, *entry["loc"][1:]], entry["msg"]) for entry in error.errors
    ]
    return InvalidInputError(f"{field}: {error.detail}", errors=errors)


def history_of(body: ElementSetHistory) -> tuple[list[ElementSet], str, str]:
    """The element sets of one object (a bad set is a 422 naming it: a history with a
    set missing would score the next one against the wrong gap), the body member they
    came from, and the sha256 of the input."""
    if body.tle is not None:
        field, raw = "tle", body.tle.encode("utf-8")
        media_type = "text/plain"
    else:
        field, raw = "omm", json.dumps(body.omm, sort_keys=True).encode("utf-8")
        media_type = "application/json"
    try:
        parsed = parse_upload(raw, media_type, strict=True)
    except InvalidInputError as error:
        raise _relocated(error, field) from None
    _one_object(parsed, field)
    return parsed.sets, field, hashlib.sha256(raw).hexdigest()


def _one_object(parsed: ParsedUpload, field: str) -> None:
    first = parsed.sets[0].catalog_number
    for index, (item, line) in enumerate(zip(parsed.sets, parsed.lines, strict=True)):
        if item.catalog_number != first:
            where = f"line {line}" if line is not None else f"record {index + 1}"
            raise InvalidInputError(
                f"{field}: {where} is of {item.catalog_number}; a history is one object's "
                f"(the first set is of {first})",
                errors=[FieldError(["body", field, where], "a second object")],
            )


async def score_history(
    session: AsyncSession, principal: Principal, server: ModelServer, body: ElementSetHistory
) -> AnomalyScores:
    """AdversaryEncoder anomaly scores of an element-set history, one per set it scores."""
    sets, field, input_sha256 = history_of(body)
    served = await server.model(session, ADVERSARY_ENCODER)
    encoder: AdversaryEncoder = served.model
    started = time.perf_counter()
    scored = await asyncio.to_thread(encoder.score_history, sets)
    ML_PREDICTION_SECONDS.labels(served.name, served.version).observe(time.perf_counter() - started)
    if not scored:
        raise InvalidInputError(
            f"{field}: {len(sets)} element sets are too few to score; the model needs more "
            f"than {encoder.window + encoder.lag} consecutive usable sets",
            errors=[
                FieldError(["body", field], f"needs more than {encoder.window + encoder.lag} sets")
            ],
        )
    items = [
        ScoredSetRead(epoch=s.epoch, score=s.score, anomalous=s.score > encoder.threshold)
        for s in scored
    ]
    await service.log_prediction(
        session,
        principal,
        model=served.name,
        version=served.version,
        endpoint=SCORE_ENDPOINT,
        input_sha256=input_sha256,
        summary=_summary(items),
    )
    return AnomalyScores(
        model=served.name, version=served.version, threshold=encoder.threshold, items=items
    )


def _summary(items: Sequence[ScoredSetRead]) -> dict[str, object]:
    return {
        "scored": len(items),
        "anomalous": sum(item.anomalous for item in items),
        "max_score": max(item.score for item in items),
    }
