"""Plots (PNG, Agg canvas) and the benchmarks/RESULTS.md section of the ML evaluation."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from astroshield.ml.evaluation import METHODS, SatelliteScores, roc_curve

SECTION = "## ML: AdversaryEncoder (issue 18)"
_LABELS = {
    "adversary_encoder": "AdversaryEncoder (ONNX)",
    "ccdm_detector": "CCDM detector (detections + residual)",
    "ccdm_residual": "CCDM residual statistic",
    "naive": "naive baseline",
}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def roc_plot(results: Sequence[SatelliteScores], auc: Mapping[str, Mapping[str, float]]) -> bytes:
    """Pooled ROC curves of every method over the scored sets of all satellites."""
    figure = Figure(figsize=(6.0, 5.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    labels = np.concatenate([r.labels for r in results])
    for method in METHODS:
        fpr, tpr = roc_curve(labels, np.concatenate([r.scores[method] for r in results]))
        axes.plot(fpr, tpr, label=f"{_LABELS[method]}: AUC {auc['pooled'][method]:.3f}")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axes.set_xlabel("false-positive rate (element sets)")
    axes.set_ylabel("true-positive rate (sets after a logged manoeuvre start)")
    axes.set_title("Real histories, six satellites pooled")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def learning_curve_plot(metadata: Mapping[str, Any]) -> bytes:
    """Training and validation reconstruction loss per epoch (from the model metadata)."""
    metrics = metadata["metrics"]
    figure = Figure(figsize=(6.0, 4.0), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    epochs = range(1, len(metrics["train_loss"]) + 1)
    axes.plot(epochs, metrics["train_loss"], marker="o", label="training (nominal windows)")
    axes.plot(epochs, metrics["validation_loss"], marker="o", label="validation (held-out objects)")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean squared reconstruction error")
    axes.set_title(f"AdversaryEncoder {metadata['version']} learning curve")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def confusion_plot(matrix: Any, classes: Sequence[str], title: str) -> bytes:
    """A confusion matrix (rows true, columns predicted) with counts in the cells."""
    counts = np.asarray(matrix)
    figure = Figure(figsize=(6.5, 5.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            colour = "white" if shares[i, j] > 0.6 else "black"
            axes.text(j, i, str(int(counts[i, j])), ha="center", va="center", color=colour)
    axes.set_xticks(range(len(classes)), [c.replace("_", "\n") for c in classes], fontsize=8)
    axes.set_yticks(range(len(classes)), [c.replace("_", "\n") for c in classes], fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return _png(figure)


def reliability_plot(curves: Mapping[str, tuple[Any, Any, Any]], title: str) -> bytes:
    """Reliability diagram: per curve name, (mean confidence, accuracy, count) per bin."""
    figure = Figure(figsize=(6.0, 5.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for name, (confidence, accuracy, counts) in curves.items():
        used = np.asarray(counts) > 0
        axes.plot(np.asarray(confidence)[used], np.asarray(accuracy)[used], marker="o", label=name)
    axes.set_xlabel("confidence (top probability)")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return _png(figure)


def metrics_record(
    results: Sequence[SatelliteScores], auc: Mapping[str, Mapping[str, float]], threshold: float
) -> dict[str, Any]:
    """The metrics JSON: AUC per satellite and pooled, counts, and the threshold's rates."""
    labels = np.concatenate([r.labels for r in results])
    scores = np.concatenate([r.scores["adversary_encoder"] for r in results])
    flagged = scores >= threshold
    return {
        "roc_auc": {name: dict(values) for name, values in auc.items()},
        "scored_sets": {r.satellite: len(r.labels) for r in results},
        "positive_sets": {r.satellite: int(r.labels.sum()) for r in results},
        "manoeuvres_in_span": {r.satellite: r.manoeuvres_in_span for r in results},
        "threshold": threshold,
        "at_threshold": {
            "true_positive_rate": float(flagged[labels].mean()) if labels.any() else math.nan,
            "false_positive_rate": float(flagged[~labels].mean()) if (~labels).any() else math.nan,
        },
    }


def section_head(title: str, context: Mapping[str, str]) -> list[str]:
    """The first lines of every model's RESULTS.md section: its title, the command, and the
    run's date, machine, load and duration (``context``, as ``cli.ml.results_context``
    builds it)."""
    return [
        title,
        "",
        f"Command (repo root): `{context['command']}`",
        "",
        f"- Date: {context['date']}; machine: {context['machine']}; load average before: "
        f"{context['load']}; run {context['seconds']} s",
    ]


def results_section(
    metrics: Mapping[str, Any], metadata: Mapping[str, Any], context: Mapping[str, str]
) -> str:
    """The markdown section (title first); ``context`` holds command, date, machine, load."""
    auc = metrics["roc_auc"]
    lines = [
        *section_head(SECTION, context),
        f"- Model: `{metadata['file']}` (sha256 `{metadata['sha256'][:16]}…`, "
        f"{metadata['parameters']} parameters, window {metadata['window']} sets), trained on "
        f"simulated data only (generator {metadata['dataset']['generator_version']}, seed "
        f"{metadata['dataset']['seed']}, {metadata['dataset']['objects']} objects, data set "
        f"sha256 `{metadata['dataset_sha256'][:16]}…`): no real satellite is used in training "
        "or threshold calibration, so every figure below is leave-one-satellite-out.",
        "- Label: a scored element set is positive when a logged manoeuvre (`start_utc`, "
        "inside the TLE span) started after the previous set; every method scores the same "
        "sets (those with a full window before them and the model's lag of sets after them).",
        "",
        "| satellite | scored sets | positive | AdversaryEncoder | CCDM detector | "
        "CCDM residual | naive |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, values in auc.items():
        sets = metrics["scored_sets"].get(name, sum(metrics["scored_sets"].values()))
        positive = metrics["positive_sets"].get(name, sum(metrics["positive_sets"].values()))
        cells = " | ".join(f"{values[m]:.3f}" for m in METHODS)
        lines.append(f"| {name} | {sets} | {positive} | {cells} |")
    rates = metrics["at_threshold"]
    lines += [
        "",
        f"- At the shipped threshold ({metrics['threshold']:.4g}, the "
        f"{metadata['training_config']['threshold_quantile']} quantile of simulated nominal "
        f"validation scores): true-positive rate {rates['true_positive_rate']:.3f}, "
        f"false-positive rate {rates['false_positive_rate']:.3f} on the real histories.",
        f"- ONNX vs PyTorch on validation windows: max |difference| "
        f"{metadata['metrics']['onnx_vs_torch_max_abs']:.2e}.",
        "- Figures: `benchmarks/figures/ml-adversary-encoder-roc.png`, "
        "`benchmarks/figures/ml-adversary-encoder-learning.png`.",
        *context.get("notes", "").splitlines(),
    ]
    return "\n".join(lines) + "\n"


def write_results_section(results_md: Path, section: str, title: str = SECTION) -> None:
    """Put ``section`` (whose first line is ``title``) at the end of RESULTS.md, replacing an
    earlier copy of it."""
    text = (
        results_md.read_text(encoding="utf-8") if results_md.exists() else "# Benchmark results\n"
    )
    start = text.find(title)
    if start >= 0:
        following = text.find("\n## ", start + len(title))
        text = text[:start] + (text[following + 1 :] if following >= 0 else "")
    results_md.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
