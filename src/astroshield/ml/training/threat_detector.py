"""Training of ThreatDetectorNN (needs torch: the ``[ml]`` extra).

Data: ``samples.parquet`` of :mod:`astroshield.ml.threat_scenarios` (features and the class
each sample was constructed as). Split by sample (each sample is its own pair of objects)
into training and validation (``validation_share``, seeded).

Model: the raw feature vector is standardised by the training set's mean and standard
deviation (buffers in the graph, so serving passes raw features), then a small MLP (two
hidden layers of ``hidden`` ReLU units) gives five logits; the output is softmax(logits / T)
with the temperature T a buffer too. T is fitted after training on the validation logits
(:func:`astroshield.ml.threat_metrics.fit_temperature`, minimum NLL). Loss: cross-entropy;
Adam. Determinism: one thread, deterministic algorithms, seeded initialisation and shuffling.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from astroshield.ml.threat_detector import CLASS_NAMES, FEATURE_NAMES, INPUT_NAME, OUTPUT_NAMES
from astroshield.ml.threat_metrics import (
    expected_calibration_error,
    fit_temperature,
    macro_f1,
    softmax,
)
from astroshield.ml.training import common


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    seed: int = 0
    hidden: int = 64
    epochs: int = 80
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    validation_share: float = 0.2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ThreatMLP(nn.Module):
    """(batch, features) -> (probabilities softmax(logits / T), logits)."""

    mean: torch.Tensor
    std: torch.Tensor
    temperature: torch.Tensor

    def __init__(
        self,
        mean: npt.NDArray[np.float32],
        std: npt.NDArray[np.float32],
        hidden: int,
        classes: int = len(CLASS_NAMES),
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("std", torch.from_numpy(np.asarray(std, dtype=np.float32)))
        self.register_buffer("temperature", torch.ones(1))
        self.net = nn.Sequential(
            nn.Linear(len(mean), hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.net((x - self.mean) / self.std)
        return torch.softmax(logits / self.temperature, dim=1), logits


def split(
    count: int, config: TrainingConfig
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Training and validation row indices (seeded permutation)."""
    order = np.random.default_rng(config.seed).permutation(count)
    cut = round(count * (1.0 - config.validation_share))
    return np.sort(order[:cut]), np.sort(order[cut:])


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: ThreatMLP
    train_loss: list[float]
    validation_loss: list[float]
    validation_logits: npt.NDArray[np.float64]
    validation_labels: npt.NDArray[np.int64]


def train(
    features: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    config: TrainingConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingResult:
    """Train on the training split; the temperature is fitted on the validation split."""
    common.seed_everything(config.seed)
    train_rows, val_rows = split(len(labels), config)
    x_train = torch.from_numpy(np.ascontiguousarray(features[train_rows], dtype=np.float32))
    y_train = torch.from_numpy(labels[train_rows])
    x_val = torch.from_numpy(np.ascontiguousarray(features[val_rows], dtype=np.float32))
    y_val = torch.from_numpy(labels[val_rows])
    mean = features[train_rows].mean(axis=0)
    std = np.maximum(features[train_rows].std(axis=0), 1e-3)
    model = ThreatMLP(mean, std, config.hidden)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(config.seed)
    train_curve: list[float] = []
    val_curve: list[float] = []
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            _, logits = model(x_train[rows])
            loss = loss_fn(logits, y_train[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        train_curve.append(total / max(len(x_train), 1))
        model.eval()
        with torch.no_grad():
            val_curve.append(float(loss_fn(model(x_val)[1], y_val)) if len(x_val) else float("nan"))
        if progress is not None:
            progress(epoch + 1, config.epochs, val_curve[-1])
    model.eval()
    with torch.no_grad():
        val_logits = model(x_val)[1].double().numpy()
    return TrainingResult(model, train_curve, val_curve, val_logits, labels[val_rows])


def set_temperature(model: ThreatMLP, temperature: float) -> None:
    model.temperature.fill_(temperature)


def export_onnx(model: ThreatMLP) -> bytes:
    """The ONNX bytes of ``model`` (dynamic batch)."""
    return common.export_onnx(model, torch.zeros(2, len(FEATURE_NAMES)), INPUT_NAME, OUTPUT_NAMES)


def torch_probabilities(model: ThreatMLP, features: npt.NDArray[np.float32]) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        output = model(torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)))[0]
    return np.asarray(output.numpy())


def fit_and_export(
    data_dir: Path,
    out_path: Path,
    config: TrainingConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on ``data_dir``, fit the temperature, write the ONNX file and its metadata JSON
    (beside it, same stem); return the metadata. The ONNX probabilities are checked against
    PyTorch on the validation split (largest absolute difference in the metadata)."""
    from astroshield.ml.onnx_model import file_sha256, metadata_path
    from astroshield.ml.threat_detector import MODEL_NAME, MODEL_VERSION, ThreatDetector
    from astroshield.ml.threat_scenarios import CARD_JSON, SAMPLES_FILE, load_samples

    features, labels, _, _ = load_samples(data_dir)
    result = train(features, labels, config, progress=progress)
    temperature = fit_temperature(result.validation_logits, result.validation_labels)
    set_temperature(result.model, temperature)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(export_onnx(result.model))
    card = json.loads((data_dir / CARD_JSON).read_text(encoding="utf-8"))
    val_logits, val_labels = result.validation_logits, result.validation_labels
    classes = len(CLASS_NAMES)
    metadata: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": out_path.name,
        "sha256": file_sha256(out_path),
        "dataset_sha256": file_sha256(data_dir / SAMPLES_FILE),
        "dataset": {k: card[k] for k in ("generator", "generator_version", "seed", "samples")},
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(CLASS_NAMES),
        "temperature": temperature,
        "training_config": config.as_dict(),
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "metrics": {
            "train_loss": result.train_loss,
            "validation_loss": result.validation_loss,
            "validation_macro_f1": macro_f1(val_labels, val_logits.argmax(axis=1), classes),
            "validation_ece_before": expected_calibration_error(softmax(val_logits), val_labels),
            "validation_ece_after": expected_calibration_error(
                softmax(val_logits, temperature), val_labels
            ),
        },
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    _, val_rows = split(len(labels), config)
    served = ThreatDetector.load(out_path)
    difference = np.abs(
        served.predict(features[val_rows]) - torch_probabilities(result.model, features[val_rows])
    )
    metadata["metrics"]["onnx_vs_torch_max_abs"] = (
        float(difference.max()) if difference.size else 0.0
    )
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata
