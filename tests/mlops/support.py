"""Shared pieces of the mlops tests: an app with the ML endpoints on, a second model
version made from the shipped one, and the real element-set history they score."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import onnx

from astroshield.ml.adversary_encoder import shipped_model_path
from tests.ml.support import SLICE_TLE
from tests.support.replicas import Replica, replicas

HISTORY_TLE = SLICE_TLE.read_text(encoding="utf-8")
SCORE = "/api/v1/ml/adversary-encoder/score"
MODELS = "/api/v1/ml/models"
PREDICTIONS = "/api/v1/ml/predictions"


@asynccontextmanager
async def ml_apps(
    database_url: str, count: int = 1, *, redis: bool = False, **overrides: Any
) -> AsyncIterator[list[Replica]]:
    """Running apps with the ML endpoints on (off by default in the environment)."""
    async with replicas(
        database_url, count, redis=redis, feature_ml_endpoints=True, **overrides
    ) as running:
        yield running


def second_version(directory: Path, version: str = "9.9.9", threshold: float = 2.5) -> Path:
    """A new version of the shipped AdversaryEncoder in ``directory``: the same graph with
    another doc string (so other bytes and another sha256) and another threshold."""
    model = onnx.load(str(shipped_model_path()))
    model.doc_string = f"adversary_encoder {version} (test copy)"
    onnx_path = directory / f"adversary_encoder-{version}.onnx"
    onnx.save(model, str(onnx_path))
    metadata = json.loads(shipped_model_path().with_suffix(".json").read_text(encoding="utf-8"))
    metadata.update(
        version=version,
        file=onnx_path.name,
        threshold=threshold,
        sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
    )
    onnx_path.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return onnx_path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
