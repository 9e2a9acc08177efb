"""Training the AdversaryEncoder (torch, the [ml] extra): deterministic by seed, and the
exported ONNX model computes what the PyTorch model computes (within 1e-5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from astroshield.ml.adversary_encoder import AdversaryEncoder
from astroshield.ml.dataset import load_dataset, write_dataset
from astroshield.ml.features import FEATURE_NAMES
from astroshield.ml.onnx_model import metadata_path
from astroshield.ml.simulate import simulate
from tests.ml.support import NOISE

torch = pytest.importorskip("torch")
training = pytest.importorskip("astroshield.ml.training.adversary_encoder")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sim")
    write_dataset(directory, simulate(3, 12, NOISE, sets=50), seed=3, noise=NOISE)
    return directory


def test_same_seed_gives_the_same_onnx_file_and_metrics(dataset: Path, tmp_path: Path) -> None:
    config = training.TrainingConfig(seed=7, epochs=2)
    first = training.fit_and_export(dataset, tmp_path / "a.onnx", config)
    second = training.fit_and_export(dataset, tmp_path / "b.onnx", config)
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert first["sha256"] == second["sha256"]
    assert first["metrics"] == second["metrics"]
    assert first["threshold"] == second["threshold"]
    other = training.fit_and_export(
        dataset, tmp_path / "c.onnx", config.__class__(seed=8, epochs=2)
    )
    assert other["sha256"] != first["sha256"]
    stored = json.loads(metadata_path(tmp_path / "a.onnx").read_text(encoding="utf-8"))
    assert stored["dataset_sha256"] == first["dataset_sha256"]
    assert 5_000 < stored["parameters"] < 100_000


def test_onnx_matches_pytorch_within_1e_5(dataset: Path) -> None:
    config = training.TrainingConfig(seed=1, epochs=1)
    result = training.train(load_dataset(dataset), config)
    onnx_bytes = training.export_onnx(result.model, config.window)
    batch = (
        np.random.default_rng(0)
        .normal(size=(64, config.window, len(FEATURE_NAMES)))
        .astype(np.float32)
        * 2.0
    )
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    onnx_recon, onnx_score = session.run(["reconstruction", "score"], {"windows": batch})
    torch_recon, torch_score = training.torch_outputs(result.model, batch)
    assert np.max(np.abs(onnx_recon - torch_recon)) <= 1e-5
    assert np.max(np.abs(onnx_score - torch_score)) <= 1e-5


def test_training_lowers_the_reconstruction_error(dataset: Path) -> None:
    result = training.train(load_dataset(dataset), training.TrainingConfig(seed=2, epochs=4))
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.validation_loss[-1] < result.validation_loss[0]
    assert result.training_windows > 0 and result.validation_windows > 0


def test_served_scores_are_the_torch_scores(dataset: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    training.fit_and_export(dataset, path, training.TrainingConfig(seed=4, epochs=1))
    served = AdversaryEncoder.load(path)
    histories = load_dataset(dataset)
    batch, _ = training.history_windows(histories[0], served.window)
    assert served.threshold > 0.0
    assert np.allclose(served.score_windows(batch), served.run(batch)[1], atol=1e-6)
