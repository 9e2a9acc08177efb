"""StrategyGenerator training (torch, the [ml] extra): a tiny run learns a toy mapping, and
the exported ONNX graph gives the PyTorch outputs within 1e-5."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from astroshield.ml.onnx_model import inference_session
from astroshield.ml.strategy_generator import FEATURE_NAMES, INPUT_NAME, OUTPUT_NAMES
from astroshield.ml.training.strategy_generator import (
    TrainingConfig,
    export_onnx,
    torch_outputs,
    train_arrays,
)

CONFIG = TrainingConfig(seed=3, hidden=32, epochs=30, batch_size=64, learning_rate=1e-2)


def _toy(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Features on arbitrary scales; targets a known smooth function of three of them (the
    shift in polar form, as the network's heads are: a size and a direction)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURE_NAMES))) * np.linspace(0.1, 50.0, len(FEATURE_NAMES))
    z = x[:, :3] / np.array([0.1, 2.1, 4.2])
    fraction = 1.0 / (1.0 + np.exp(-z[:, 0]))
    size, angle = np.exp(0.4 * z[:, 1]), 0.8 * z[:, 2]
    y = np.stack([fraction, size * np.cos(angle), size * np.sin(angle)], axis=1)
    return x.astype(np.float32), y.astype(np.float32)


def test_tiny_run_learns_a_toy_mapping() -> None:
    x, y = _toy(0, 600)
    xv, yv = _toy(1, 200)
    model, train_curve, val_curve = train_arrays(x, y, xv, yv, CONFIG)
    fraction, shift = torch_outputs(model, xv)
    prediction = np.concatenate([fraction, shift], axis=1)
    baseline = float(np.mean((yv - y.mean(axis=0)) ** 2))  # predicting the mean
    assert float(np.mean((prediction - yv) ** 2)) < 0.1 * baseline
    assert val_curve[-1] < 0.2 * val_curve[0] and train_curve[-1] < train_curve[0]


def test_onnx_matches_pytorch_within_1e_5(tmp_path: Path) -> None:
    x, y = _toy(2, 400)
    model, _, _ = train_arrays(x, y, x[:50], y[:50], TrainingConfig(seed=4, epochs=3, hidden=16))
    path = tmp_path / "sg.onnx"
    path.write_bytes(export_onnx(model))
    session = inference_session(path)
    onnx = session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
    torch_fraction, torch_shift = torch_outputs(model, x)
    assert np.max(np.abs(onnx[0] - torch_fraction)) < 1e-5
    assert np.max(np.abs(onnx[1] - torch_shift)) < 1e-5
    assert torch.get_num_threads() == 1  # training pinned itself to one thread


def test_same_seed_same_weights() -> None:
    x, y = _toy(5, 300)
    config = TrainingConfig(seed=9, epochs=4, hidden=16)
    a, _, _ = train_arrays(x, y, x[:30], y[:30], config)
    b, _, _ = train_arrays(x, y, x[:30], y[:30], config)
    assert export_onnx(a) == export_onnx(b)
