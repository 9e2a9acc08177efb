"""``astroshield ml``: simulate training data, train, evaluate and serve the ML models (issue 18).

Training needs the ``[ml]`` extra (PyTorch); ``ml anomalies`` and ``ml evaluate`` need only
onnxruntime and use the model shipped in the package unless ``--model`` names another.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.progress import Progress

from astroshield.cli.inputs import StrictOption, one_object_history
from astroshield.cli.output import console, fail, next_step, writing

if TYPE_CHECKING:
    from astroshield.ml.adversary_encoder import AdversaryEncoder
    from astroshield.ml.evaluation import SatelliteScores

app = typer.Typer(help="Machine learning: simulation, training, evaluation.", no_args_is_help=True)
train_app = typer.Typer(help="Train a model (needs the [ml] extra).", no_args_is_help=True)
evaluate_app = typer.Typer(help="Evaluate a model on held-out data.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")

SHARED_MANEUVERS = Path("../shared/data/maneuvers")  # relative to the repo root
T = TypeVar("T")
ModelOption = Annotated[
    Path | None, typer.Option("--model", help="ONNX model (default: the one shipped)")
]


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="directory for Parquet + data card")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 0,
    objects: Annotated[int, typer.Option(min=1, help="simulated objects")] = 400,
    sets: Annotated[int, typer.Option(min=30, help="element sets per object")] = 150,
    histories: Annotated[
        Path, typer.Option(help="real TLE histories the noise and cadence are estimated from")
    ] = SHARED_MANEUVERS / "processed_files",
) -> None:
    """Simulate labelled element-set histories (Parquet and a data card).

    \b
    Example:
      astroshield ml simulate --out /tmp/sim --seed 18 --objects 400
    """
    from astroshield.ml.dataset import write_dataset
    from astroshield.ml.noise_estimate import estimate_from_files
    from astroshield.ml.simulate import simulate

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
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating objects", total=objects)
        result = simulate(
            seed, objects, noise, sets, progress=lambda done: progress.update(task, completed=done)
        )
    card: dict[str, object] = {}
    writing(out, lambda: card.update(write_dataset(out, result, seed=seed, noise=noise)))
    balance = card["class_balance"]
    assert isinstance(balance, dict)
    console.print(
        f"{card['objects']} objects, {card['element_sets']} element sets "
        f"({balance['event_since_previous']} after an event) written to {out}",
        highlight=False,
    )
    next_step(f"astroshield ml train adversary-encoder --data {out} --out model.onnx")


@train_app.command("adversary-encoder")
def train_adversary_encoder(
    data: Annotated[Path, typer.Option("--data", help="directory written by ml simulate")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file (metadata JSON beside it)")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same weights)")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 12,
    lag: Annotated[
        int,
        typer.Option(
            min=0, max=6, help="sets after the scored one in its window (0: newest set, causal)"
        ),
    ] = 2,
) -> None:
    """Train the AdversaryEncoder on simulated nominal windows and export it to ONNX.

    \b
    Example:
      astroshield ml train adversary-encoder --data /tmp/sim --out model.onnx --seed 18
    """
    try:
        from astroshield.ml.training.adversary_encoder import TrainingConfig, fit_and_export
    except ImportError as error:
        fail(f"training needs the [ml] extra (pip install -e '.[ml]'): {error}")
    from astroshield.ml.dataset import CARD_JSON, SETS_FILE

    for needed in (SETS_FILE, CARD_JSON):
        if not (data / needed).is_file():
            fail(f"{data / needed}: no such file; run astroshield ml simulate --out {data}")
    config = TrainingConfig(seed=seed, epochs=epochs, lag=lag)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("training", total=epochs)

        def advance(done: int, total: int, loss: float) -> None:
            progress.update(task, completed=done, description=f"training (val loss {loss:.4f})")

        metadata = fit_and_export(data, out, config, progress=advance)
    console.print(
        f"{out}: sha256 {metadata['sha256']}, threshold {metadata['threshold']:.4g}, "
        f"ONNX vs torch {metadata['metrics']['onnx_vs_torch_max_abs']:.1e}",
        highlight=False,
    )
    next_step(f"astroshield ml evaluate adversary-encoder --model {out}")


def load_or_fail(load: Callable[[Path | None], T], model: Path | None) -> T:
    """The model ``load`` reads from ``model`` (None: the one shipped); a file that is
    missing, unreadable or not the one its metadata describes is the one-line error."""
    from astroshield.ml.onnx_model import ModelFileError

    try:
        return load(model)
    except ModelFileError as error:
        fail(str(error))


def _load_model(model: Path | None) -> AdversaryEncoder:
    from astroshield.ml.adversary_encoder import AdversaryEncoder

    return load_or_fail(AdversaryEncoder.load, model)


@app.command("anomalies")
def anomalies(
    history_file: Annotated[Path, typer.Argument(help="one object's TLE or OMM history")],
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    model: ModelOption = None,
    strict: StrictOption = False,
) -> None:
    """Anomaly score of each element set of a history (higher = more anomalous).

    \b
    Example:
      astroshield ml anomalies cryosat-2.tle --json
    """
    elements = one_object_history(history_file, strict=strict)
    encoder = _load_model(model)
    needed = encoder.window + 3
    if len(elements) < needed:
        fail(f"{history_file}: {len(elements)} readable element sets; scoring needs {needed}")
    try:
        scored = encoder.score_history(elements)
    except ValueError as error:
        fail(f"{history_file}: {error}")
    for item in scored:
        epoch = item.epoch.astimezone(UTC).isoformat(timespec="milliseconds")
        if json_output:
            typer.echo(json.dumps({"epoch": epoch.replace("+00:00", "Z"), "score": item.score}))
        else:
            flag = "  ANOMALY" if item.score >= encoder.threshold else ""
            typer.echo(f"{epoch.replace('+00:00', 'Z')}  {item.score:.4f}{flag}")
    console.print(f"{len(scored)} element sets scored (threshold {encoder.threshold:.4g})")


@evaluate_app.command("adversary-encoder")
def evaluate_adversary_encoder(
    model: ModelOption = None,
    data: Annotated[
        Path, typer.Option(help="real histories and manoeuvres_utc.csv")
    ] = SHARED_MANEUVERS,
    figures: Annotated[Path, typer.Option(help="directory of the PNGs and metrics JSON")] = Path(
        "benchmarks/figures"
    ),
    write_results: Annotated[
        bool, typer.Option("--write-results", help="write its section of benchmarks/RESULTS.md")
    ] = False,
) -> None:
    """ROC AUC on the six real histories, beside the CCDM detector and the naive baseline.

    Writes the metrics JSON and PNGs (ROC, learning curve) to --figures; with
    --write-results also the section of benchmarks/RESULTS.md (run from the repo root).

    \b
    Example:
      astroshield ml evaluate adversary-encoder --write-results
    """
    from astroshield.astro.formats.element_files import ElementFileError, read_element_set_file
    from astroshield.ml.evaluation import SATELLITES, auc_table, evaluate
    from astroshield.ml.report import metrics_record

    load = os.getloadavg()
    started = time.perf_counter()
    encoder = _load_model(model)
    try:
        histories = {
            s: read_element_set_file(data / "processed_files" / f"{s}.tle").sets for s in SATELLITES
        }
    except ElementFileError as error:
        fail(str(error))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scoring", total=len(SATELLITES))

        def advance(satellite: str) -> None:
            progress.update(task, description=f"scoring {satellite}")
            progress.advance(task)

        results = evaluate(histories, data / "manoeuvres_utc.csv", lambda _: encoder, advance)
    auc = auc_table(results)
    metrics = metrics_record(results, auc, encoder.threshold)
    figures.mkdir(parents=True, exist_ok=True)
    writing(figures, lambda: _write_figures(figures, results, auc, encoder, metrics))
    typer.echo(json.dumps(metrics, indent=2))
    if write_results:
        _write_results(metrics, encoder, load, time.perf_counter() - started)


def _write_figures(
    figures: Path,
    results: list[SatelliteScores],
    auc: dict[str, dict[str, float]],
    encoder: AdversaryEncoder,
    metrics: dict[str, object],
) -> None:
    from astroshield.ml.report import learning_curve_plot, roc_plot

    (figures / "ml-adversary-encoder-roc.png").write_bytes(roc_plot(results, auc))
    (figures / "ml-adversary-encoder-learning.png").write_bytes(
        learning_curve_plot(encoder.metadata)
    )
    (figures / "ml-adversary-encoder-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def results_context(
    model: str, load: tuple[float, ...], seconds: float, **extra: str
) -> dict[str, str]:
    """What every model's RESULTS.md section says of its run: the command, when, on what
    machine at what load, how long (``extra``: the notes and anything the section adds)."""
    return {
        "command": f".venv/bin/astroshield ml evaluate {model} --write-results",
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"2-core python-svc ({os.cpu_count()} CPUs, shared with other jobs)",
        "load": " ".join(f"{value:.2f}" for value in load),
        "seconds": f"{seconds:.0f}",
        **extra,
    }


def _write_results(
    metrics: dict[str, object],
    encoder: AdversaryEncoder,
    load: tuple[float, float, float],
    seconds: float,
) -> None:
    from astroshield.ml.report import results_section, write_results_section

    context = results_context("adversary-encoder", load, seconds, notes=NOTES)
    path = Path("benchmarks/RESULTS.md")
    writing(
        path,
        lambda: write_results_section(path, results_section(metrics, encoder.metadata, context)),
    )
    console.print(f"wrote {path}")


# What the figures mean and what limits them (issue-18 session, written with the run).
NOTES = """
- The shipped model is rebuilt from a clean checkout by `astroshield ml simulate --out
  /tmp/ml-sim --seed 18 --objects 400` (data set sha256 as above, the same bytes on a second
  run) and `astroshield ml train adversary-encoder --data /tmp/ml-sim --out
  src/astroshield/ml/models/adversary_encoder-0.2.0.onnx --seed 18` (about 1 min on a quiet
  machine): the same seed gives the same ONNX bytes (sha256 above), checked across processes
  and by tests/ml/test_training.py.

**Target (ROC AUC >= 0.90 leave-one-satellite-out, pooled): met (0.911); the CCDM detector
(0.923) is still ahead pooled.** The AdversaryEncoder ranks better than the detector on
CryoSat-2, Jason-2 and Sentinel-3A and worse on Haiyang-2A and the Fengyun-2 pair.

- What changed from 0.1.0 (pooled 0.787): (1) a `hinge` feature, the CCDM detector's
  multi-set along-track test (the slope break of the mean longitude over 3 sets each side
  of an interval, robust z per object), which shows burns the catalogue absorbs over several
  fits; (2) the score waits for two more sets (`lag` 2: the scored set is two sets before the
  window's end), which tells a burn's step, that persists, from one bad set, that does not.
  No window holds a slope break that needs sets after its end (`features.windows` zeroes it),
  so a past history is scored with no more of the future than the same score computed live.
- Same data and seed, other lags (`--lag K`, evaluated with `--model`): lag 1 0.803 (its
  scored set cannot see its own slope break yet), lag 2 0.911, lag 3 0.906. Choosing the lag
  inside each fold, by the mean AUC of the other five satellites, picks lag 2 in all six
  folds, so the nested leave-one-satellite-out figure is the same 0.911. Training seed 19 on
  the same data: 0.917 (per satellite within 0.01-0.02 of seed 18).
- The lag and the hinge were chosen after the 0.1.0 evaluation had shown that two later sets
  and multi-set features were what the real histories need; no weight, threshold or
  normalisation is fitted on a real satellite (training and threshold use simulated data
  only), but that choice of design saw all six satellites.
- What limits it: Haiyang-2A (0.74; detector 0.77) whose burns of 3-13 mm/s the catalogue
  absorbs over 3-5 sets with BSTAR swinging, which a 3-set hinge sees only in part (the
  detector's hinge spans 10 sets each side); the Fengyun-2 GEO pair (0.88-0.91; detector
  0.96-0.98), whose catalogue noise is correlated between fits and heavier-tailed than the
  simulator's independent Gaussian noise with outliers, so the simulated nominal windows
  under-represent what a quiet GEO history looks like.
- Cost: a score exists two element sets (about two days at a daily cadence) after the set it
  scores; `ml anomalies` scores every set that has a full window and two sets after it."""

# Each model's commands live in their own module; importing it registers them here.
from astroshield.cli import ml_agent, ml_models, ml_strategy, ml_threat  # noqa: E402, F401
