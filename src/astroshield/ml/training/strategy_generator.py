"""Training of the StrategyGenerator (needs torch: the ``[ml]`` extra).

Data: the simulated red conjunctions of :mod:`astroshield.ml.encounter_scenarios`, each
labelled with the numerical optimum of the avoidance trade. Targets: the optimum's burn time
as a fraction of the burn window, and the shift of the miss vector it makes (first order,
canonical principal axes of the encounter plane, in combined sigmas:
:func:`astroshield.ml.strategy_generator.shift_for_burn`). Encounters are split by index
(seeded) into training and validation; validation encounters calibrate the candidate scales.

Model: an MLP (two hidden layers, SiLU) with the feature standardisation inside the graph;
heads: a sigmoid burn fraction, the log of the shift's size and its direction (a unit
vector); the graph outputs the fraction and the 2-D shift. Loss: squared error of the
fraction (weighted by ``fraction_weight``) and of the log size (relative errors of the size
weigh the same for small and large shifts, as they do for the Δv), plus 4 (1 - cos) of the
direction; the weights of the epoch with the lowest
validation loss are kept (early stopping). Determinism: one thread,
``torch.use_deterministic_algorithms``, seeded initialisation and shuffling.

Calibration (the safety margin): for each validation encounter the smallest factor ``k``
by which the network's burn must be scaled for the *physics* Pc to clear the threshold
(bisection, :func:`minimal_scale`); the candidate scales are quantiles of ``k``
(``scale_quantiles``), so that on validation encounters at least one candidate is feasible
for the top quantile's share of them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from astroshield.astro.conjunction.avoidance import AvoidanceConstraints
from astroshield.ml.encounter_scenarios import Conjunction, Scenario
from astroshield.ml.strategy_generator import (
    FEATURE_NAMES,
    INPUT_NAME,
    OUTPUT_NAMES,
    check_burn,
    plane_frame,
    shift_for_burn,
    strategy_features,
)
from astroshield.ml.training import common


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    seed: int = 0
    hidden: int = 64
    epochs: int = 300
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    fraction_weight: float = 1.0
    validation_share: float = 0.2
    scale_quantiles: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StrategyMLP(nn.Module):
    """(batch, features) -> (burn fraction (batch, 1), miss shift (batch, 2))."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: np.ndarray, std: np.ndarray, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))
        self.body = nn.Sequential(
            nn.Linear(len(mean), hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 4),
        )

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(burn fraction (batch, 1), log |shift| (batch,), unit shift direction (batch, 2))."""
        out = self.body((x - self.mean) / self.std)
        direction = out[:, 2:] / torch.sqrt((out[:, 2:] ** 2).sum(dim=1, keepdim=True) + 1e-12)
        return torch.sigmoid(out[:, :1]), out[:, 1], direction

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fraction, log_size, direction = self.heads(x)
        return fraction, torch.exp(log_size)[:, None] * direction


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def examples(scenarios: Sequence[Scenario]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (n, F) float32, targets (n, 3) float32: fraction, shift; indices used):
    the encounters whose optimum exists within the Δv limit."""
    rows, targets, used = [], [], []
    for k, s in enumerate(scenarios):
        if s.optimum is None:
            continue
        frame = plane_frame(s.conjunction)
        c = s.constraints
        width = c.max_lead_s - c.min_lead_s
        fraction = (s.optimum.lead_time_s - c.min_lead_s) / width if width > 0 else 1.0
        shift = shift_for_burn(s.conjunction, frame, s.optimum.lead_time_s, s.optimum.dv_rtn_m_s)
        rows.append(strategy_features(s.conjunction, c, frame))
        targets.append([fraction, shift[0], shift[1]])
        used.append(k)
    return (
        np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURE_NAMES)),
        np.asarray(targets, dtype=np.float32).reshape(-1, 3),
        np.asarray(used, dtype=np.int64),
    )


def split(count: int, config: TrainingConfig) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(config.seed).permutation(count)
    cut = round(count * (1.0 - config.validation_share))
    return np.sort(order[:cut]), np.sort(order[cut:])


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: StrategyMLP
    train_loss: list[float]
    validation_loss: list[float]
    training_examples: int
    validation_indices: np.ndarray  # scenario indices


def _loss(model: StrategyMLP, x: torch.Tensor, y: torch.Tensor, weight: float) -> torch.Tensor:
    fraction, log_size, direction = model.heads(x)
    size = torch.sqrt((y[:, 1:] ** 2).sum(dim=1) + 1e-12)
    fraction_loss = ((fraction[:, 0] - y[:, 0]) ** 2).mean()
    size_loss = ((log_size - torch.log(size)) ** 2).mean()
    direction_loss = (1.0 - (direction * y[:, 1:]).sum(dim=1) / size).mean()
    total: torch.Tensor = fraction_loss * weight + size_loss + 4.0 * direction_loss
    return total


def train_arrays(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainingConfig,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[StrategyMLP, list[float], list[float]]:
    common.seed_everything(config.seed)
    std = x_train.std(axis=0)
    model = StrategyMLP(x_train.mean(axis=0), np.where(std > 1e-6, std, 1.0), config.hidden)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.epochs)
    generator = torch.Generator().manual_seed(config.seed)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    xv, yv = torch.from_numpy(x_val), torch.from_numpy(y_val)
    train_curve: list[float] = []
    val_curve: list[float] = []
    best_loss, best_state = math.inf, copy.deepcopy(model.state_dict())
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            loss = _loss(model, xt[idx], yt[idx], config.fraction_weight)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch stub
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        schedule.step()
        train_curve.append(total / max(len(xt), 1))
        model.eval()
        with torch.no_grad():
            val_curve.append(
                float(_loss(model, xv, yv, config.fraction_weight)) if len(xv) else math.nan
            )
        if val_curve[-1] < best_loss:  # keep the weights of the best validation epoch
            best_loss, best_state = val_curve[-1], copy.deepcopy(model.state_dict())
        if progress is not None:
            progress(epoch + 1, config.epochs, val_curve[-1])
    if math.isfinite(best_loss):
        model.load_state_dict(best_state)
    model.eval()
    return model, train_curve, val_curve


def train(
    scenarios: Sequence[Scenario],
    config: TrainingConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingResult:
    x, y, used = examples(scenarios)
    train_idx, val_idx = split(len(x), config)
    model, train_curve, val_curve = train_arrays(
        x[train_idx], y[train_idx], x[val_idx], y[val_idx], config, progress
    )
    return TrainingResult(model, train_curve, val_curve, len(train_idx), used[val_idx])


def export_onnx(model: StrategyMLP) -> bytes:
    """The ONNX bytes of ``model`` (dynamic batch)."""
    return common.export_onnx(model, torch.zeros(2, len(FEATURE_NAMES)), INPUT_NAME, OUTPUT_NAMES)


def torch_outputs(model: StrategyMLP, x: npt.NDArray[np.float32]) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    with torch.no_grad():
        fraction, shift = model(torch.from_numpy(x))
    return fraction.numpy(), shift.numpy()


def minimal_scale(
    conjunction: Conjunction,
    constraints: AvoidanceConstraints,
    lead_s: float,
    dv: np.ndarray,
    *,
    largest: float = 20.0,
) -> float:
    """The smallest factor on ``dv`` whose physics Pc clears the threshold (0.5 % bisection;
    ``inf`` when even ``largest`` times does not)."""
    red = constraints.red_pc

    def clears(k: float) -> bool:
        return check_burn(conjunction, constraints, lead_s, dv * k, k).pc_after < red

    bad, good = 0.0, 1.0
    while not clears(good):
        bad, good = good, good * 2.0
        if good > largest:
            return math.inf
    if bad == 0.0:
        bad = 0.5
        while bad > 1e-3 and clears(bad):
            good, bad = bad, bad * 0.5
    while good - bad > 5e-3 * good:
        middle = 0.5 * (good + bad)
        if clears(middle):
            good = middle
        else:
            bad = middle
    return good


def fit_and_export(
    data_dir: Path,
    out_path: Path,
    config: TrainingConfig,
    *,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on the scenarios in ``data_dir``, write the ONNX file and its metadata JSON
    (beside it, same stem), calibrate the candidate scales on the validation encounters
    with the served (ONNX) model, and return the metadata."""
    import json

    from astroshield.ml.encounter_scenarios import CARD_JSON, ENCOUNTERS_FILE, load_scenarios
    from astroshield.ml.onnx_model import file_sha256, metadata_path
    from astroshield.ml.strategy_generator import MODEL_NAME, MODEL_VERSION, StrategyGenerator

    scenarios = load_scenarios(data_dir)
    result = train(scenarios, config, progress=progress)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(export_onnx(result.model))
    card = json.loads((data_dir / CARD_JSON).read_text(encoding="utf-8"))
    metadata: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": out_path.name,
        "sha256": file_sha256(out_path),
        "dataset_sha256": file_sha256(data_dir / ENCOUNTERS_FILE),
        "dataset": {k: card[k] for k in ("generator", "generator_version", "seed", "encounters")},
        "feature_names": list(FEATURE_NAMES),
        "candidate_scales": [1.0],
        "training_config": config.as_dict(),
        "parameters": parameter_count(result.model),
        "metrics": {
            "train_loss": result.train_loss,
            "validation_loss": result.validation_loss,
            "training_examples": result.training_examples,
            "validation_examples": len(result.validation_indices),
        },
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    served = StrategyGenerator.load(out_path)
    validation = [scenarios[int(i)] for i in result.validation_indices]
    x_val = np.stack([strategy_features(s.conjunction, s.constraints) for s in validation])
    onnx_fraction, onnx_shift = served.run(x_val)
    torch_fraction, torch_shift = torch_outputs(result.model, x_val)
    scales = []
    for s in validation:
        lead, dv = served.network_burns(s.conjunction, s.constraints)[0]
        scales.append(minimal_scale(s.conjunction, s.constraints, lead, dv))
    k = np.asarray(scales)
    finite = k[np.isfinite(k)]
    metadata["candidate_scales"] = sorted(
        {round(float(np.quantile(finite, q)), 3) for q in config.scale_quantiles}
    )
    metadata["metrics"]["onnx_vs_torch_max_abs"] = float(
        max(
            np.max(np.abs(onnx_fraction - torch_fraction)), np.max(np.abs(onnx_shift - torch_shift))
        )
    )
    metadata["metrics"]["validation_minimal_scale_quantiles"] = {
        str(q): float(np.quantile(k, q)) for q in (0.05, 0.5, 0.8, 0.95, 0.99, 0.995)
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata
