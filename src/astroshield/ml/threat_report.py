"""The benchmarks/RESULTS.md section of the ThreatDetectorNN evaluation (markdown only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from astroshield.ml.report import section_head
from astroshield.ml.threat_detector import CLASS_NAMES


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def results_section(
    title: str, metrics: Mapping[str, Any], metadata: Mapping[str, Any], context: Mapping[str, str]
) -> str:
    """The markdown section (``title`` first); ``context``: command, date, machine, load,
    seconds."""
    sim = metrics["held_out_simulation"]
    real = metrics["real_histories"]
    f1 = sim["macro_f1"]
    lines = [
        *section_head(title, context),
        f"- Model: `{metadata['file']}` (sha256 `{metadata['sha256'][:16]}…`, "
        f"{metadata['parameters']} parameters, temperature {metadata['temperature']:.3f}), "
        f"trained on simulated scenarios only (generator "
        f"{metadata['dataset']['generator_version']}, seed {metadata['dataset']['seed']}, "
        f"{metadata['dataset']['samples']} samples, data set sha256 "
        f"`{metadata['dataset_sha256'][:16]}…`).",
        f"- Held-out simulation ({sim['source']}; a seed never used in training): "
        f"**macro-F1 {f1['model']:.3f}** for ThreatDetectorNN against **{f1['rule_baseline']:.3f}"
        f"** for the rule baseline (assess_intent, categories mapped as documented in "
        "`astroshield.ml.threat_detector.baseline_class`); accuracy "
        f"{sim['accuracy']['model']:.3f} / {sim['accuracy']['rule_baseline']:.3f}. Target "
        f"(macro-F1 >= 0.90 and above the baseline): "
        f"{'met' if f1['model'] >= 0.9 and f1['model'] > f1['rule_baseline'] else 'MISSED'}.",
        "",
        "| class | F1 ThreatDetectorNN | F1 rule baseline |",
        "| --- | ---: | ---: |",
    ]
    for name in CLASS_NAMES:
        lines.append(
            f"| {name} | {sim['per_class_f1']['model'][name]:.3f} | "
            f"{sim['per_class_f1']['rule_baseline'][name]:.3f} |"
        )
    ece = sim["ece"]
    lines += [
        "",
        f"- Calibration (15-bin ECE on the held-out samples): {ece['before_temperature']:.3f} "
        f"at T = 1, {ece['after_temperature']:.3f} with the temperature "
        f"{metadata['temperature']:.3f} fitted on the validation split (validation ECE "
        f"{metadata['metrics']['validation_ece_before']:.3f} -> "
        f"{metadata['metrics']['validation_ece_after']:.3f}).",
        f"- ONNX vs PyTorch probabilities on the validation split: max |difference| "
        f"{metadata['metrics']['onnx_vs_torch_max_abs']:.2e}.",
    ]
    lines += _real_lines(real)
    lines += [
        "- Figures: `benchmarks/figures/ml-threat-detector-confusion-model.png`, "
        "`benchmarks/figures/ml-threat-detector-confusion-rule-baseline.png`, "
        "`benchmarks/figures/ml-threat-detector-reliability.png`; metrics "
        "`benchmarks/figures/ml-threat-detector-metrics.json`.",
        *context.get("notes", "").splitlines(),
    ]
    return "\n".join(lines) + "\n"


def _real_lines(real: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        f"Real histories, manoeuvre class (a window every {real.get('step_days')} days; "
        "positive = a logged manoeuvre started in its 7 days; a method calls it positive when "
        "its class is `maneuver_anomaly`; nothing is trained on real data, so every window is "
        "held out and no leave-one-satellite-out is needed; the protected spacecraft is "
        "another satellite of the same regime, `astroshield.ml.threat_evaluation.PARTNERS`):",
        "",
        "| satellite (object) | windows | with manoeuvre | TPR model | FPR model | "
        "TPR rule | FPR rule |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, entry in real.items():
        if not isinstance(entry, dict):
            continue
        lines.append(
            f"| {name} | {entry['windows']} | {entry['with_manoeuvre']} | "
            f"{_rate(entry['model']['true_positive_rate'])} | "
            f"{_rate(entry['model']['false_positive_rate'])} | "
            f"{_rate(entry['rule_baseline']['true_positive_rate'])} | "
            f"{_rate(entry['rule_baseline']['false_positive_rate'])} |"
        )
    pooled = real.get("pooled")
    if isinstance(pooled, dict):
        lines += [
            "",
            f"- Classes given to the real windows: model `{pooled['model']['classes_given']}`; "
            f"rule baseline `{pooled['rule_baseline']['classes_given']}`.",
        ]
    return lines
