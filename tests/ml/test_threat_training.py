"""Training ThreatDetectorNN (torch, the [ml] extra): a tiny run learns a separable toy set,
the ONNX export computes what PyTorch computes (within 1e-5), and temperature scaling lowers
the ECE of a deliberately overconfident model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from astroshield.ml.threat_detector import CLASS_NAMES, FEATURE_NAMES
from astroshield.ml.threat_metrics import expected_calibration_error, fit_temperature, macro_f1
from astroshield.ml.training import threat_detector as training


def _toy(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Five well separated Gaussian clusters in the feature space (class k near 4·e_k)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), size=samples)
    features = rng.normal(size=(samples, len(FEATURE_NAMES))).astype(np.float32) * 0.5
    features[np.arange(samples), labels] += 4.0
    return features, labels.astype(np.int64)


def test_a_tiny_training_run_learns_a_separable_toy_set() -> None:
    features, labels = _toy(600, 0)
    config = training.TrainingConfig(seed=1, epochs=30, hidden=16, learning_rate=1e-2)
    result = training.train(features, labels, config)
    assert result.validation_loss[-1] < result.validation_loss[0]
    test_x, test_y = _toy(300, 1)
    predicted = training.torch_probabilities(result.model, test_x).argmax(axis=1)
    assert macro_f1(test_y, predicted, len(CLASS_NAMES)) > 0.98


def test_onnx_matches_pytorch_within_1e_5(tmp_path: Path) -> None:
    features, labels = _toy(300, 2)
    result = training.train(features, labels, training.TrainingConfig(seed=2, epochs=2))
    training.set_temperature(result.model, 1.7)
    path = tmp_path / "model.onnx"
    path.write_bytes(training.export_onnx(result.model))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = (np.random.default_rng(3).normal(size=(128, len(FEATURE_NAMES))) * 3).astype(np.float32)
    probabilities, logits = session.run(["probabilities", "logits"], {"features": batch})
    with torch.no_grad():
        expected_p, expected_logits = result.model(torch.from_numpy(batch))
    assert np.max(np.abs(probabilities - expected_p.numpy())) < 1e-5
    assert np.max(np.abs(logits - expected_logits.numpy())) < 1e-5
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_temperature_scaling_lowers_the_ece_of_an_overconfident_model() -> None:
    # Overlapping classes (labels 30 % random) and a long run: the net becomes overconfident.
    features, labels = _toy(800, 4)
    rng = np.random.default_rng(5)
    noisy = rng.uniform(size=len(labels)) < 0.3
    labels[noisy] = rng.integers(0, len(CLASS_NAMES), size=int(noisy.sum()))
    config = training.TrainingConfig(seed=4, epochs=40, hidden=64, weight_decay=0.0)
    result = training.train(features, labels, config)
    logits, truth = result.validation_logits, result.validation_labels
    temperature = fit_temperature(logits, truth)
    from astroshield.ml.threat_metrics import softmax

    before = expected_calibration_error(softmax(logits), truth)
    after = expected_calibration_error(softmax(logits, temperature), truth)
    assert temperature > 1.0  # softened: the model was overconfident
    assert after < before
