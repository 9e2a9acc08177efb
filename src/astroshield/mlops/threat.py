"""``POST /ml/threat-detector/predict``: ThreatDetectorNN class probabilities of an object
relative to one of the organisation's spacecraft.

The inputs are exactly those of the CCDM intent assessment (:func:`astroshield.ccdm.service.
assess_pair`: the same window, histories, pattern of life, proximity report and conjunction),
so the answer carries the rule-based category beside the network's probabilities, the
baseline the model was measured against. Read only: unlike ``GET /ccdm/.../intent``, a
prediction neither keeps a category nor raises the threat alert.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.catalog.service import parse_catalog_number
from astroshield.ccdm import service as ccdm
from astroshield.ml.threat_detector import (
    CLASS_NAMES,
    ThreatDetector,
    baseline_class,
    threat_features,
)
from astroshield.ml.threat_detector import MODEL_NAME as THREAT_DETECTOR
from astroshield.mlops import service
from astroshield.mlops.schemas import ThreatPrediction, ThreatQuery
from astroshield.mlops.serving import ModelServer
from astroshield.observability.domain_metrics import ML_PREDICTION_SECONDS
from astroshield.security.principal import Principal

ENDPOINT = "threat-detector/predict"


async def predict_threat(
    session: AsyncSession,
    principal: Principal,
    server: ModelServer,
    query: ThreatQuery,
    config: ccdm.CcdmConfig,
) -> ThreatPrediction:
    evaluation = await ccdm.assess_pair(
        session,
        principal,
        query.spacecraft_id,
        parse_catalog_number(query.catalog_number, ["body", "catalog_number"]),
        query.days,
        None,
        config,
        datetime.now(UTC),
        in_body=True,
    )
    inputs = evaluation.inputs
    features = await asyncio.to_thread(
        threat_features,
        now=inputs.now,
        proximity=evaluation.report,
        pattern=inputs.pattern,
        conjunction=inputs.conjunction,
        since=inputs.start,
        protected=max(inputs.protected.elements, key=lambda s: s.epoch),
        history=inputs.other.elements,
    )
    served = await server.model(session, THREAT_DETECTOR)
    detector: ThreatDetector = served.model
    started = time.perf_counter()
    probabilities = (await asyncio.to_thread(detector.predict, features[np.newaxis, :]))[0]
    ML_PREDICTION_SECONDS.labels(served.name, served.version).observe(time.perf_counter() - started)
    by_class = {name: float(p) for name, p in zip(CLASS_NAMES, probabilities, strict=True)}
    predicted = max(by_class, key=by_class.__getitem__)
    rule_class = baseline_class(evaluation.assessment)
    await service.log_prediction(
        session,
        principal,
        model=served.name,
        version=served.version,
        endpoint=ENDPOINT,
        input_sha256=hashlib.sha256(features.tobytes()).hexdigest(),
        summary={"class": predicted, "probability": by_class[predicted], "rule_class": rule_class},
    )
    return ThreatPrediction(
        model=served.name,
        version=served.version,
        spacecraft_id=evaluation.pair.spacecraft.id,
        protected_catalog_number=evaluation.pair.protected_number,
        catalog_number=evaluation.pair.catalog_number,
        window_start=inputs.start,
        window_stop=inputs.stop,
        predicted_class=predicted,
        probabilities=by_class,
        rule_category=evaluation.assessment.category.value,
        rule_class=rule_class,
    )
