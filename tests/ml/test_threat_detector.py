"""The shipped ThreatDetectorNN (onnxruntime only): loads, refuses a tampered file, gives
probabilities, classifies fresh scenarios of a seed never used in training mostly right, and
the CLI's errors are one line with exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.ml.onnx_model import ModelFileError, metadata_path
from astroshield.ml.threat_detector import (
    CLASS_NAMES,
    FEATURE_NAMES,
    ThreatDetector,
    shipped_model_path,
)
from astroshield.ml.threat_metrics import macro_f1
from astroshield.ml.threat_scenarios import generate
from tests.ml.support import NOISE

# A seed the shipped model never saw: trained on seed 18 (metadata), evaluated on 1018 and 2018.
FRESH_SEED = 7777


@pytest.fixture(scope="module")
def detector() -> ThreatDetector:
    return ThreatDetector.load()


def test_the_shipped_model_loads_with_its_metadata(detector: ThreatDetector) -> None:
    assert detector.path == shipped_model_path()
    assert detector.metadata["class_names"] == list(CLASS_NAMES)
    assert detector.metadata["feature_names"] == list(FEATURE_NAMES)
    assert detector.metadata["dataset"]["seed"] != FRESH_SEED
    assert detector.temperature > 0
    assert detector.metadata["metrics"]["onnx_vs_torch_max_abs"] < 1e-5


def test_probabilities_sum_to_one(detector: ThreatDetector) -> None:
    batch = np.random.default_rng(0).normal(size=(64, len(FEATURE_NAMES))).astype(np.float32)
    probabilities = detector.predict(batch)
    assert probabilities.shape == (64, len(CLASS_NAMES))
    assert np.all(probabilities >= 0)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The temperature is in the graph: probabilities are softmax(logits / T).
    logits = detector.logits(batch).astype(np.float64) / detector.temperature
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(probabilities, expected, atol=1e-5)
    assert detector.predict(batch[0]).shape == (1, len(CLASS_NAMES))


def test_bad_feature_arrays_are_refused(detector: ThreatDetector) -> None:
    with pytest.raises(ValueError, match="shape"):
        detector.predict(np.zeros((2, 3), dtype=np.float32))
    bad = np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        detector.predict(bad)


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "threat_detector.onnx"
    shutil.copy(shipped_model_path(), copy)
    shutil.copy(metadata_path(shipped_model_path()), metadata_path(copy))
    ThreatDetector.load(copy)
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        ThreatDetector.load(copy)
    with pytest.raises(ModelFileError, match="registry"):
        ThreatDetector.load(shipped_model_path(), expected_sha256="0" * 64)


def test_fresh_scenarios_of_an_unseen_seed_are_mostly_right(detector: ThreatDetector) -> None:
    scenarios = generate(FRESH_SEED, 50, NOISE)
    labels = np.array([CLASS_NAMES.index(s.label) for s in scenarios])
    predicted = detector.predict(np.stack([s.features for s in scenarios])).argmax(axis=1)
    assert macro_f1(labels, predicted, len(CLASS_NAMES)) >= 0.8


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    metadata_path(bad).write_text(json.dumps({"sha256": "0" * 64}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ml", "evaluate", "threat-detector", "--model", str(bad)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert str(bad) in result.stderr
    args = ["ml", "train", "threat-detector", "--data", str(tmp_path), "--out", str(bad)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "samples.parquet" in result.stderr
