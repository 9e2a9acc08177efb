"""AdversaryEncoder served with onnxruntime: anomaly scores for an element-set history.

The model is a small 1-D convolutional sequence autoencoder over windows of ``window``
consecutive feature rows of one object (:mod:`astroshield.ml.features`: per-object robust
z-scores of the consecutive-set jumps). It is trained on nominal windows only
(:mod:`astroshield.ml.training.adversary_encoder`), so it reconstructs the scatter of normal
element sets and not a step; the *score* of an element set is the mean squared reconstruction
error of its row in a window that ends ``lag`` sets after it (higher = more anomalous): the
shipped model waits for two more sets (``lag`` 2 in its metadata), which is what tells a
burn's step, that persists, from one bad set, that does not, and lets the along-track slope
break (the ``hinge`` feature) see both sides of the interval. The ONNX
graph computes both the reconstruction and that score. The decision threshold in the metadata
is a quantile of the scores of simulated nominal sets never used in training.

The ONNX file ships in ``models/`` with a JSON file beside it (version, file sha256, data-set
hash, training configuration, metrics, threshold); :meth:`AdversaryEncoder.load` refuses a
file whose hash differs from its metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.features import FEATURE_NAMES, history_features, windows
from astroshield.ml.onnx_model import (
    ModelFileError,
    inference_session,
    read_checked_metadata,
    shipped_path,
)

MODEL_NAME = "adversary_encoder"
MODEL_VERSION = "0.2.0"
INPUT_NAME = "windows"
OUTPUT_NAMES = ("reconstruction", "score")


@dataclass(frozen=True, slots=True)
class ScoredSet:
    """The anomaly score of the element set at ``epoch`` (the interval since ``previous``)."""

    epoch: datetime
    previous: datetime
    score: float


def shipped_model_path(version: str = MODEL_VERSION) -> Path:
    return shipped_path(MODEL_NAME, version)


class AdversaryEncoder:
    """An ONNX AdversaryEncoder and its metadata; scores histories without torch."""

    def __init__(self, onnx_path: Path, metadata: dict[str, Any]) -> None:
        self.path = onnx_path
        self.metadata = metadata
        self.window = int(metadata["window"])
        self.lag = int(metadata.get("lag", 0))
        self.threshold = float(metadata["threshold"])
        self._session = inference_session(onnx_path)

    @classmethod
    def load(
        cls, onnx_path: Path | None = None, expected_sha256: str | None = None
    ) -> AdversaryEncoder:
        """The model at ``onnx_path`` (default: the one shipped in the package), after
        checking its sha256 against its metadata JSON (and a registry's, when given)."""
        path = onnx_path or shipped_model_path()
        metadata = read_checked_metadata(path, expected_sha256)
        if list(metadata.get("feature_names", [])) != list(FEATURE_NAMES):
            raise ModelFileError(f"{path}: features {metadata.get('feature_names')} are not ours")
        return cls(path, metadata)

    def run(self, batch: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], ...]:
        """(reconstruction, score) of a ``(batch, window, features)`` float32 array."""
        if batch.shape[0] == 0:
            return (np.zeros_like(batch), np.zeros(0, dtype=np.float32))
        outputs = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})
        return tuple(np.asarray(item, dtype=np.float32) for item in outputs)

    def score_windows(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        scores = [self.run(batch[start : start + 4096])[1] for start in range(0, len(batch), 4096)]
        if not scores:
            return np.zeros(0)
        return np.concatenate(scores).astype(np.float64)

    def score_history(self, elements: Sequence[ElementSet]) -> list[ScoredSet]:
        """One score per element set that ends a full window (the first ``window`` usable
        sets of the history give the context and are not scored; with a ``lag`` in the
        metadata, the scored set is ``lag`` sets before the window's end, and the last
        ``lag`` sets wait for later ones)."""
        features = history_features(elements)
        batch = windows(features.values, self.window)
        scores = self.score_windows(batch)
        offset = self.window - 1 - self.lag
        return [
            ScoredSet(features.epochs[offset + k], features.previous[offset + k], float(value))
            for k, value in enumerate(scores.tolist())
        ]
