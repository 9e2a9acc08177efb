"""``astroshield ml simulate-threats``, ``ml train threat-detector`` and
``ml evaluate threat-detector`` (ThreatDetectorNN, issue 18).

Registered on the ``ml`` app of :mod:`astroshield.cli.ml` (imported at its end).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress

from astroshield.cli.ml import (
    SHARED_MANEUVERS,
    ModelOption,
    app,
    evaluate_app,
    load_or_fail,
    results_context,
    train_app,
)
from astroshield.cli.output import console, fail, next_step, writing

if TYPE_CHECKING:
    from astroshield.ml.noise_estimate import RegimeNoise
    from astroshield.ml.threat_detector import ThreatDetector

SECTION = "## ML: ThreatDetectorNN (issue 18)"
HistoriesOption = Annotated[
    Path, typer.Option(help="real TLE histories the noise and cadence are estimated from")
]


def _noise(histories: Path) -> dict[str, RegimeNoise]:
    from astroshield.ml.noise_estimate import estimate_from_files

    files = sorted(p for p in histories.glob("*") if p.suffix.lower() in (".tle", ".txt", ".json"))
    if not files:
        fail(f"{histories}: no TLE/OMM history files to estimate the noise from")
    with console.status(f"estimating TLE noise and cadence from {len(files)} histories"):
        try:
            noise = estimate_from_files(files)
        except ValueError as error:
            fail(str(error))
    missing = {"LEO", "GEO"} - set(noise)
    if missing:
        fail(f"{histories}: no history of regime {', '.join(sorted(missing))}")
    return noise


def _generate(seed: int, samples: int, noise: dict[str, RegimeNoise]) -> list[Any]:
    from astroshield.ml.threat_scenarios import generate

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating scenarios", total=samples)
        return generate(
            seed, samples, noise, progress=lambda done: progress.update(task, completed=done)
        )


@app.command("simulate-threats")
def simulate_threats(
    out: Annotated[Path, typer.Option("--out", help="directory for Parquet + data card")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 0,
    samples: Annotated[int, typer.Option(min=5, help="scenarios (equal class shares)")] = 1500,
    histories: HistoriesOption = SHARED_MANEUVERS / "processed_files",
) -> None:
    """Simulate labelled ThreatDetectorNN scenarios (features, class, rule baseline).

    \b
    Example:
      astroshield ml simulate-threats --out /tmp/threat-sim --seed 18
    """
    from astroshield.ml.threat_scenarios import write_samples

    noise = _noise(histories)
    scenarios = _generate(seed, samples, noise)
    card: dict[str, Any] = {}
    writing(out, lambda: card.update(write_samples(out, scenarios, seed=seed, noise=noise)))
    console.print(
        f"{card['samples']} scenarios written to {out}; rule baseline agrees with "
        f"{card['baseline_agreement']:.3f}",
        highlight=False,
    )
    next_step(f"astroshield ml train threat-detector --data {out} --out model.onnx")


@train_app.command("threat-detector")
def train_threat_detector(
    data: Annotated[Path, typer.Option("--data", help="directory written by simulate-threats")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file (metadata JSON beside it)")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same weights)")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 80,
) -> None:
    """Train ThreatDetectorNN, fit its temperature and export it to ONNX.

    \b
    Example:
      astroshield ml train threat-detector --data /tmp/threat-sim --out model.onnx --seed 18
    """
    try:
        from astroshield.ml.training.threat_detector import TrainingConfig, fit_and_export
    except ImportError as error:
        fail(f"training needs the [ml] extra (pip install -e '.[ml]'): {error}")
    from astroshield.ml.threat_scenarios import CARD_JSON, SAMPLES_FILE

    for needed in (SAMPLES_FILE, CARD_JSON):
        if not (data / needed).is_file():
            fail(f"{data / needed}: no such file; run astroshield ml simulate-threats --out {data}")
    config = TrainingConfig(seed=seed, epochs=epochs)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("training", total=epochs)

        def advance(done: int, total: int, loss: float) -> None:
            progress.update(task, completed=done, description=f"training (val loss {loss:.4f})")

        try:
            metadata = fit_and_export(data, out, config, progress=advance)
        except ValueError as error:
            fail(f"{data / SAMPLES_FILE}: {error}")
    metrics = metadata["metrics"]
    console.print(
        f"{out}: sha256 {metadata['sha256']}, temperature {metadata['temperature']:.3f}, "
        f"validation macro-F1 {metrics['validation_macro_f1']:.3f}, ECE "
        f"{metrics['validation_ece_before']:.3f} -> {metrics['validation_ece_after']:.3f}, "
        f"ONNX vs torch {metrics['onnx_vs_torch_max_abs']:.1e}",
        highlight=False,
    )
    next_step(f"astroshield ml evaluate threat-detector --model {out}")


@evaluate_app.command("threat-detector")
def evaluate_threat_detector(
    model: ModelOption = None,
    seed: Annotated[
        int, typer.Option(help="held-out simulation seed (not the training one)")
    ] = 2018,
    samples: Annotated[int, typer.Option(min=5, help="held-out scenarios")] = 500,
    held_out: Annotated[
        Path | None, typer.Option("--held-out", help="a simulate-threats directory instead")
    ] = None,
    data: Annotated[
        Path, typer.Option(help="real histories and manoeuvres_utc.csv")
    ] = SHARED_MANEUVERS,
    step_days: Annotated[float, typer.Option(min=1.0, help="spacing of real windows")] = 28.0,
    figures: Annotated[Path, typer.Option(help="directory of the PNGs and metrics JSON")] = Path(
        "benchmarks/figures"
    ),
    write_results: Annotated[
        bool, typer.Option("--write-results", help="write its section of benchmarks/RESULTS.md")
    ] = False,
) -> None:
    """Macro-F1 and confusion matrices on held-out simulation seeds beside the rule baseline,
    calibration (ECE, reliability diagram), and the manoeuvre class on the real histories.

    \b
    Example:
      astroshield ml evaluate threat-detector --write-results
    """
    import numpy as np

    from astroshield.astro.formats.element_files import ElementFileError, read_element_set_file
    from astroshield.ml.evaluation import SATELLITES, load_truth
    from astroshield.ml.threat_detector import ThreatDetector
    from astroshield.ml.threat_evaluation import held_out_metrics, real_metrics, real_windows
    from astroshield.ml.threat_scenarios import CARD_JSON, load_samples

    load = os.getloadavg()
    started = time.perf_counter()
    detector = load_or_fail(ThreatDetector.load, model)
    if held_out is not None:
        try:
            features, labels, baseline, _ = load_samples(held_out)
            card = json.loads((held_out / CARD_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            fail(f"{held_out}: {error}")
        if card.get("seed") == detector.metadata["dataset"]["seed"]:
            fail(f"{held_out / CARD_JSON}: seed {card.get('seed')} is the model's training seed")
        source = f"seed {card.get('seed')}, {len(labels)} samples, `{held_out}`"
    else:
        if seed == detector.metadata["dataset"]["seed"]:
            fail(f"--seed {seed} is the model's training seed; pick a held-out one")
        scenarios = _generate(seed, samples, _noise(data / "processed_files"))
        features = np.stack([s.features for s in scenarios])
        labels = np.array([s.label for s in scenarios])
        labels = np.array([detector.metadata["class_names"].index(v) for v in labels])
        baseline = [s.baseline for s in scenarios]
        source = f"seed {seed}, {samples} samples"
    simulated = held_out_metrics(detector, features, labels, baseline)
    try:
        histories = {
            s: read_element_set_file(data / "processed_files" / f"{s}.tle").sets for s in SATELLITES
        }
        truth = {s: load_truth(data / "manoeuvres_utc.csv", s) for s in SATELLITES}
    except (ElementFileError, OSError, KeyError) as error:
        fail(str(error))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("real windows", total=len(SATELLITES))
        rows = real_windows(
            histories, truth, step_days=step_days, progress=lambda _: progress.advance(task)
        )
    metrics = {
        "held_out_simulation": {"source": source, **simulated},
        "real_histories": {"step_days": step_days, **real_metrics(detector, rows)},
    }
    figures.mkdir(parents=True, exist_ok=True)
    writing(figures, lambda: _write_figures(figures, detector, features, labels, metrics))
    typer.echo(json.dumps(metrics, indent=2))
    if write_results:
        _write_results(metrics, detector, load, time.perf_counter() - started)


def _write_figures(
    figures: Path, detector: ThreatDetector, features: Any, labels: Any, metrics: dict[str, Any]
) -> None:
    from astroshield.ml.report import confusion_plot, reliability_plot
    from astroshield.ml.threat_detector import CLASS_NAMES
    from astroshield.ml.threat_metrics import reliability_bins, softmax

    simulated = metrics["held_out_simulation"]
    for method, title in (("model", "ThreatDetectorNN"), ("rule_baseline", "rule baseline")):
        (figures / f"ml-threat-detector-confusion-{method.replace('_', '-')}.png").write_bytes(
            confusion_plot(
                simulated["confusion"][method],
                CLASS_NAMES,
                f"{title}: held-out simulation, macro-F1 {simulated['macro_f1'][method]:.3f}",
            )
        )
    ece = simulated["ece"]
    curves = {
        f"T = 1 (ECE {ece['before_temperature']:.3f})": reliability_bins(
            softmax(detector.logits(features)), labels
        ),
        f"T = {detector.temperature:.2f} (ECE {ece['after_temperature']:.3f})": reliability_bins(
            detector.predict(features), labels
        ),
    }
    (figures / "ml-threat-detector-reliability.png").write_bytes(
        reliability_plot(curves, "ThreatDetectorNN reliability, held-out simulation")
    )
    (figures / "ml-threat-detector-metrics.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )


def _write_results(
    metrics: dict[str, Any], detector: ThreatDetector, load: tuple[float, ...], seconds: float
) -> None:
    from astroshield.ml.report import write_results_section
    from astroshield.ml.threat_report import results_section

    context = results_context("threat-detector", load, seconds, notes=NOTES)
    path = Path("benchmarks/RESULTS.md")
    section = results_section(SECTION, metrics, detector.metadata, context)
    writing(path, lambda: write_results_section(path, section, SECTION))
    console.print(f"wrote {path}")


# What the figures mean and what limits them (issue-18 session, written with the run).
NOTES = """
- Rebuilt from a clean checkout by `make ml-threat`: `astroshield ml simulate-threats --out
  /tmp/threat-train --seed 18 --samples 1500` (about 3 min of CPU, 0.12 s per scenario,
  mostly the SGP4 sampling of the 7-day window), the held-out set with `--seed 2018
  --samples 500`, `astroshield ml train threat-detector --data /tmp/threat-train --out
  src/astroshield/ml/models/threat_detector-0.1.0.onnx --seed 18` (20 s), this evaluation
  and `benchmarks/ml_threat_throughput.py`. Two trainings in separate processes gave the
  same ONNX bytes (sha256 above).
- Seeds: 18 trained the model (80 % training, 20 % validation for the temperature); 1018 was
  the held-out set used while developing (the earlier feature set without the e and
  orbit-normal jump statistics reached macro-F1 0.893 there; this model 0.944); 2018 was
  generated after the last change to features, model or data and is the figure reported
  above. Changing hidden width (128), epochs (160) or weight decay (1e-3) moved validation
  macro-F1 by less than 0.015 on the earlier feature set: the features decide, not the net.
- What limits it (seed 2018, 21 errors in 500): manoeuvre anomalies called nominal (6) and
  nominal objects called anomalous or unknown (8): burns whose jumps stay inside the TLE
  noise are undecidable from the catalogue (sizes of the missed burns not broken down here);
  breakup pieces called manoeuvres (3) and cross-tags called nominal (3). The rule baseline
  is weak here by construction: it has no category for a manoeuvre anomaly or a collision
  risk without a manoeuvre away (the mapping resolves `unknown` by its contributing
  indicators to give it a chance); crossing orbits close to the protected one give it a
  closest-approach and trend signal, so it calls collision risks rendezvous; cross-tags and
  breakups come out nominal because the manoeuvre detector rejects a one-set jump as an
  outlier.
- Real histories: the model flags most windows with a logged manoeuvre (see TPR) but also
  many windows without one (FPR, worst on CryoSat-2 and Sentinel-3A). It never saw real
  data: the simulator's TLE noise is independent between sets with 5x outliers, the
  catalogue's is correlated and heavier-tailed (see the AdversaryEncoder notes), and the
  real pairs are further apart (plane angles of several degrees to tens of degrees, beyond
  the simulated nominal neighbours' few degrees), so these windows are out of the training
  distribution. Widening the simulated nominal geometry (half the LEO neighbours in an
  unrelated plane, half the GEO ones 0.5-30° away; generator change tried and reverted) gave
  held-out macro-F1 0.944 and real TPR 0.700 / FPR 0.340: the geometry does not drive the
  false positives; the noise model is the next thing to change (correlated, heavier-tailed
  TLE noise in the simulator). The rule baseline calls almost no real
  window a manoeuvre anomaly, and about 40 % of them rendezvous (in LEO and GEO alike: the
  daily minimum range between two unrelated objects drifts by more than its 5 km/day
  approach threshold).
"""
