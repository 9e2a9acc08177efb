"""How each served model is loaded: model name -> a callable taking the ONNX path and the
sha256 the registry expects, returning the model object (it must refuse a file whose hash
differs, with :class:`astroshield.ml.onnx_model.ModelFileError`).

Serving another model is two lines: import its serving class, add ``NAME: Class.load``
below (``load(onnx_path, expected_sha256)``, as ``AdversaryEncoder.load``). A registered
name without a loader can be listed and activated, but not served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from astroshield.ml.actor_critic import MODEL_NAME as ACTOR_CRITIC
from astroshield.ml.actor_critic import ActorCritic
from astroshield.ml.adversary_encoder import MODEL_NAME as ADVERSARY_ENCODER
from astroshield.ml.adversary_encoder import AdversaryEncoder
from astroshield.ml.strategy_generator import MODEL_NAME as STRATEGY_GENERATOR
from astroshield.ml.strategy_generator import StrategyGenerator
from astroshield.ml.threat_detector import MODEL_NAME as THREAT_DETECTOR
from astroshield.ml.threat_detector import ThreatDetector

Loader = Callable[[Path, str], Any]

LOADERS: Mapping[str, Loader] = {
    ADVERSARY_ENCODER: AdversaryEncoder.load,
    THREAT_DETECTOR: ThreatDetector.load,
    STRATEGY_GENERATOR: StrategyGenerator.load,
    ACTOR_CRITIC: ActorCritic.load,
}
