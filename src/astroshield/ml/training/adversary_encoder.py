"""Training of the AdversaryEncoder (needs torch: the ``[ml]`` extra).

Data: the simulated histories of :mod:`astroshield.ml.simulate`. Windows of ``window``
feature rows (:mod:`astroshield.ml.features`) of the nominal part of each history (windows
holding no labelled event) are split by *object* into training and validation (nominal
validation sets calibrate the threshold). Optionally the windows of real histories are added
to the training set unlabelled (``extra_windows``: unsupervised, they may hold manoeuvres).

Model: 1-D convolutions over time (features as channels), a bottleneck of ``latent``
numbers, and the mirror decoder; tanh activations bound what the decoder can produce, so a
jump far outside the nominal scatter cannot be reconstructed. Loss: mean squared error of the
whole window. Determinism: one thread, ``torch.use_deterministic_algorithms``, seeded
initialisation and shuffling, so the same seed and data give the same weights, metrics and
ONNX bytes (checked by the determinism test at a small size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from astroshield.ml.adversary_encoder import INPUT_NAME, OUTPUT_NAMES
from astroshield.ml.features import FEATURE_NAMES, history_features, windows
from astroshield.ml.simulate import SimulatedHistory
from astroshield.ml.training import common

FloatWindows = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    seed: int = 0
    window: int = 8
    # Sets after the scored one inside its window (0: the scored set is the newest, a causal
    # score available when the set arrives; k: the score waits for k more sets).
    lag: int = 2
    channels: int = 32
    latent: int = 12
    epochs: int = 12
    batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-5
    validation_share: float = 0.2
    threshold_quantile: float = 0.99

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ConvAutoencoder(nn.Module):
    """(batch, window, features) -> (reconstruction, score of row ``window - 1 - lag``:
    the newest row when ``lag`` = 0)."""

    def __init__(
        self, features: int, window: int, channels: int, latent: int, lag: int = 0
    ) -> None:
        super().__init__()
        self.window = window
        self.scored_row = window - 1 - lag
        self.channels = channels
        self.encoder = nn.Sequential(
            nn.Conv1d(features, channels, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.Conv1d(channels, channels, kernel_size=3, padding=1),
            nn.Tanh(),
        )
        self.bottleneck = nn.Sequential(
            nn.Linear(channels * window, latent),
            nn.Tanh(),
            nn.Linear(latent, channels * window),
            nn.Tanh(),
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size=3, padding=1),
            nn.Tanh(),
            nn.Conv1d(channels, features, kernel_size=3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x.transpose(1, 2))
        flat = self.bottleneck(hidden.flatten(1))
        recon = self.decoder(flat.view(-1, self.channels, self.window)).transpose(1, 2)
        row = self.scored_row
        score = ((recon[:, row, :] - x[:, row, :]) ** 2).mean(dim=1)
        return recon, score


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def history_windows(history: SimulatedHistory, window: int) -> tuple[FloatWindows, np.ndarray]:
    """Windows of one simulated history and, for each, whether it holds a labelled event."""
    features = history_features(history.sets)
    labelled = {s.epoch for s, label in zip(history.sets, history.labels, strict=True) if label}
    flags = np.array([epoch in labelled for epoch in features.epochs], dtype=bool)
    batch = windows(features.values, window)
    if batch.shape[0] == 0:
        return batch, np.zeros(0, dtype=bool)
    holds = np.asarray(np.lib.stride_tricks.sliding_window_view(flags, window).any(axis=1))
    return batch, holds


def split_histories(
    histories: Sequence[SimulatedHistory], config: TrainingConfig
) -> tuple[list[SimulatedHistory], list[SimulatedHistory]]:
    """Training and validation objects (by object, seeded)."""
    order = np.random.default_rng(config.seed).permutation(len(histories))
    cut = round(len(histories) * (1.0 - config.validation_share))
    return [histories[i] for i in order[:cut]], [histories[i] for i in order[cut:]]


def nominal_windows(histories: Sequence[SimulatedHistory], window: int) -> FloatWindows:
    parts = []
    for history in histories:
        batch, holds = history_windows(history, window)
        parts.append(batch[~holds])
    return np.concatenate(parts) if parts else np.zeros((0, window, len(FEATURE_NAMES)), np.float32)


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: ConvAutoencoder
    train_loss: list[float]
    validation_loss: list[float]
    validation_scores: npt.NDArray[np.float64]  # nominal validation windows (torch)
    training_windows: int
    validation_windows: int


def train(
    histories: Sequence[SimulatedHistory],
    config: TrainingConfig,
    *,
    extra_windows: FloatWindows | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingResult:
    """Train on the nominal windows of the training objects (+ ``extra_windows``)."""
    common.seed_everything(config.seed)
    training, validation = split_histories(histories, config)
    x_train = nominal_windows(training, config.window)
    if extra_windows is not None and len(extra_windows):
        x_train = np.concatenate([x_train, extra_windows.astype(np.float32)])
    x_val = nominal_windows(validation, config.window)
    model = ConvAutoencoder(
        len(FEATURE_NAMES), config.window, config.channels, config.latent, config.lag
    )
    optimiser = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    train_tensor = torch.from_numpy(x_train)
    val_tensor = torch.from_numpy(x_val)
    train_curve: list[float] = []
    val_curve: list[float] = []
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(train_tensor), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = train_tensor[order[start : start + config.batch_size]]
            recon, _ = model(batch)
            loss = ((recon - batch) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        train_curve.append(total / max(len(train_tensor), 1))
        val_curve.append(_mean_loss(model, val_tensor))
        if progress is not None:
            progress(epoch + 1, config.epochs, val_curve[-1])
    model.eval()
    with torch.no_grad():
        scores = model(val_tensor)[1].double().numpy() if len(val_tensor) else np.zeros(0)
    return TrainingResult(model, train_curve, val_curve, scores, len(x_train), len(x_val))


def _mean_loss(model: ConvAutoencoder, data: torch.Tensor) -> float:
    if len(data) == 0:
        return math.nan
    model.eval()
    with torch.no_grad():
        recon, _ = model(data)
        return float(((recon - data) ** 2).mean())


def export_onnx(model: ConvAutoencoder, window: int) -> bytes:
    """The ONNX bytes of ``model`` (dynamic batch)."""
    return common.export_onnx(
        model, torch.zeros(2, window, len(FEATURE_NAMES)), INPUT_NAME, OUTPUT_NAMES
    )


def torch_outputs(model: ConvAutoencoder, batch: FloatWindows) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    with torch.no_grad():
        recon, score = model(torch.from_numpy(batch))
    return recon.numpy(), score.numpy()


def real_windows(elements_by_object: Sequence[Sequence[Any]], window: int) -> FloatWindows:
    """Unlabelled windows of real histories (the optional unsupervised training data)."""
    parts = [windows(history_features(elements).values, window) for elements in elements_by_object]
    return np.concatenate(parts) if parts else np.zeros((0, window, len(FEATURE_NAMES)), np.float32)


def fit_and_export(
    data_dir: Path,
    out_path: Path,
    config: TrainingConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on the simulated data set in ``data_dir``, write the ONNX file and its metadata
    JSON (beside it, same stem), and return the metadata.

    The ONNX model is checked against PyTorch on the validation windows (largest absolute
    difference of reconstruction and score, in the metadata); the threshold is the
    ``threshold_quantile`` of the ONNX scores of the nominal validation windows.
    """
    import json

    from astroshield.ml.adversary_encoder import MODEL_NAME, MODEL_VERSION, AdversaryEncoder
    from astroshield.ml.dataset import CARD_JSON, dataset_sha256, load_dataset
    from astroshield.ml.onnx_model import file_sha256, metadata_path

    histories = load_dataset(data_dir)
    result = train(histories, config, progress=progress)
    onnx_bytes = export_onnx(result.model, config.window)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(onnx_bytes)
    _, validation = split_histories(histories, config)
    x_val = nominal_windows(validation, config.window)
    card = json.loads((data_dir / CARD_JSON).read_text(encoding="utf-8"))
    metadata: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": out_path.name,
        "sha256": file_sha256(out_path),
        "dataset_sha256": dataset_sha256(data_dir),
        "dataset": {k: card[k] for k in ("generator", "generator_version", "seed", "objects")},
        "feature_names": list(FEATURE_NAMES),
        "window": config.window,
        "lag": config.lag,
        "threshold": 0.0,
        "training_config": config.as_dict(),
        "parameters": parameter_count(result.model),
        "metrics": {
            "train_loss": result.train_loss,
            "validation_loss": result.validation_loss,
            "training_windows": result.training_windows,
            "validation_windows": result.validation_windows,
        },
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    served = AdversaryEncoder.load(out_path)
    onnx_recon, onnx_score = served.run(x_val[:2048])
    torch_recon, torch_score = torch_outputs(result.model, x_val[:2048])
    onnx_scores = served.score_windows(x_val)
    metadata["threshold"] = float(np.quantile(onnx_scores, config.threshold_quantile))
    metadata["metrics"]["onnx_vs_torch_max_abs"] = float(
        max(np.max(np.abs(onnx_recon - torch_recon)), np.max(np.abs(onnx_score - torch_score)))
    )
    metadata["metrics"]["validation_score_quantiles"] = {
        str(q): float(np.quantile(onnx_scores, q)) for q in (0.5, 0.9, 0.99, 0.999)
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata
