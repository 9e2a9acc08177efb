"""``astroshield ml simulate-encounters``, ``ml train strategy-generator`` and
``ml evaluate strategy-generator`` (issue 18): the StrategyGenerator's lifecycle.

Registered on :mod:`astroshield.cli.ml`'s apps by importing this module at its end.
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
    ModelOption,
    app,
    evaluate_app,
    load_or_fail,
    results_context,
    train_app,
)
from astroshield.cli.output import console, fail, next_step, writing

if TYPE_CHECKING:
    from astroshield.ml.strategy_generator import Outcome, StrategyGenerator

HELD_OUT_SEED = 1018


@app.command("simulate-encounters")
def simulate_encounters(
    out: Annotated[Path, typer.Option("--out", help="directory for Parquet + data card")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 18,
    count: Annotated[int, typer.Option(min=1, help="red conjunctions to simulate")] = 2600,
) -> None:
    """Simulate red conjunctions labelled with their optimal avoidance burn.

    \b
    Example:
      astroshield ml simulate-encounters --out /tmp/strategy-sim --seed 18
    """
    from astroshield.ml.encounter_scenarios import simulate_scenarios, write_scenarios

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating and solving encounters", total=count)
        scenarios = simulate_scenarios(
            seed, count, progress=lambda done: progress.update(task, completed=done)
        )
    card: dict[str, Any] = {}
    writing(out, lambda: card.update(write_scenarios(out, scenarios, seed=seed)))
    console.print(
        f"{card['encounters']} encounters ({card['solved_within_limit']} solved within "
        f"{card['max_delta_v_m_s']} m/s) written to {out}",
        highlight=False,
    )
    next_step(f"astroshield ml train strategy-generator --data {out} --out model.onnx")


@train_app.command("strategy-generator")
def train_strategy_generator(
    data: Annotated[Path, typer.Option("--data", help="directory of ml simulate-encounters")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file (metadata JSON beside it)")],
    seed: Annotated[int, typer.Option(help="random seed (same seed, same weights)")] = 18,
    epochs: Annotated[int, typer.Option(min=1)] = 300,
) -> None:
    """Train the StrategyGenerator by imitating the optimal burns; export it to ONNX.

    \b
    Example:
      astroshield ml train strategy-generator --data /tmp/strategy-sim --out model.onnx
    """
    try:
        from astroshield.ml.training.strategy_generator import TrainingConfig, fit_and_export
    except ImportError as error:
        fail(f"training needs the [ml] extra (pip install -e '.[ml]'): {error}")
    from astroshield.ml.encounter_scenarios import CARD_JSON, ENCOUNTERS_FILE

    for needed in (ENCOUNTERS_FILE, CARD_JSON):
        if not (data / needed).is_file():
            fail(f"{data / needed}: no such file; run astroshield ml simulate-encounters")
    config = TrainingConfig(seed=seed, epochs=epochs)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("training", total=epochs)

        def advance(done: int, total: int, loss: float) -> None:
            progress.update(task, completed=done, description=f"training (val loss {loss:.4f})")

        metadata = fit_and_export(data, out, config, progress=advance)
    console.print(
        f"{out}: sha256 {metadata['sha256']}, candidate scales {metadata['candidate_scales']}, "
        f"ONNX vs torch {metadata['metrics']['onnx_vs_torch_max_abs']:.1e}",
        highlight=False,
    )
    next_step(f"astroshield ml evaluate strategy-generator --model {out}")


@evaluate_app.command("strategy-generator")
def evaluate_strategy_generator(
    model: ModelOption = None,
    data: Annotated[
        Path | None,
        typer.Option(help="held-out encounters (ml simulate-encounters); default: simulate"),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the held-out encounters")] = HELD_OUT_SEED,
    count: Annotated[int, typer.Option(min=1, help="held-out encounters to simulate")] = 300,
    figures: Annotated[Path, typer.Option(help="directory of the PNGs and metrics JSON")] = Path(
        "benchmarks/figures"
    ),
    write_results: Annotated[
        bool, typer.Option("--write-results", help="write its section of benchmarks/RESULTS.md")
    ] = False,
) -> None:
    """Feasible share and Δv against the numerical optimum on held-out encounters.

    \b
    Example:
      astroshield ml evaluate strategy-generator --write-results
    """
    from astroshield.ml.encounter_scenarios import (
        CARD_JSON,
        ENCOUNTERS_FILE,
        load_scenarios,
        simulate_scenarios,
    )
    from astroshield.ml.strategy_generator import StrategyGenerator, evaluate_scenarios, summary

    load = os.getloadavg()
    started = time.perf_counter()
    generator = load_or_fail(StrategyGenerator.load, model)
    if data is not None:
        if not (data / ENCOUNTERS_FILE).is_file():
            fail(f"{data / ENCOUNTERS_FILE}: no such file; run astroshield ml simulate-encounters")
        seed = int(json.loads((data / CARD_JSON).read_text(encoding="utf-8"))["seed"])
    if seed == int(generator.metadata["dataset"]["seed"]):
        fail(f"--seed {seed}: the model was trained on that seed; held-out data needs another")
    with Progress(console=console, transient=True) as progress:
        if data is None:
            task = progress.add_task("simulating held-out encounters", total=count)
            scenarios = simulate_scenarios(
                seed, count, progress=lambda done: progress.update(task, completed=done)
            )
        else:
            scenarios = load_scenarios(data)
        task = progress.add_task("proposing and re-checking", total=len(scenarios))
        outcomes = evaluate_scenarios(
            generator, scenarios, lambda done: progress.update(task, completed=done)
        )
    metrics = summary(outcomes)
    metrics["held_out_seed"] = seed
    metrics["beyond_delta_v_limit"] = sum(1 for s in scenarios if s.optimum is None)
    figures.mkdir(parents=True, exist_ok=True)
    writing(figures, lambda: _write_figures(figures, outcomes, metrics))
    typer.echo(json.dumps(metrics, indent=2))
    if write_results:
        _write_results(metrics, generator, seed, load, time.perf_counter() - started)


def _write_figures(figures: Path, outcomes: list[Outcome], metrics: dict[str, Any]) -> None:
    from astroshield.ml.strategy_report import learned_vs_optimum, ratio_histogram

    (figures / "ml-strategy-ratio.png").write_bytes(ratio_histogram(outcomes))
    (figures / "ml-strategy-scatter.png").write_bytes(learned_vs_optimum(outcomes))
    (figures / "ml-strategy-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def _write_results(
    metrics: dict[str, Any],
    generator: StrategyGenerator,
    seed: int,
    load: tuple[float, float, float],
    seconds: float,
) -> None:
    from astroshield.ml.report import write_results_section
    from astroshield.ml.strategy_report import SECTION, results_section

    context = results_context("strategy-generator", load, seconds, seed=str(seed), notes=NOTES)
    path = Path("benchmarks/RESULTS.md")
    section = results_section(metrics, generator.metadata, context)
    writing(path, lambda: write_results_section(path, section, SECTION))
    console.print(f"wrote {path}")


# What the figures mean and what limits them (written with the run).
NOTES = """
- Rebuild from a clean checkout: `make ml-strategy` (simulate-encounters seed 18, 2600
  encounters; train seed 18; evaluate on seed 1018, 300 encounters). The same seed gives
  the same data (each encounter is seeded by (seed, index)) and the same ONNX bytes.
- What the network does: from the encounter in its own frame (miss and covariance in the
  encounter plane, the plane's axes in RTN, the burn window in orbits, and the two-body lever
  arms of the strongest and the earliest burn) it predicts the burn-time fraction and the
  shift of the miss (log size and direction, in combined sigmas along the covariance's
  principal axes) that the optimum makes. Three burns are built from that: (1) the
  minimum-norm RTN Δv making the shift at the burn time where it costs least (two-body
  Jacobian over the window), (2) the same at the burn time the network predicts, (3) the
  shift's *size* along the plane direction the strongest burn time moves the miss most
  (direction from the physics, size from the network). Each is scaled by ten factors
  calibrated on validation encounters (quantiles 0.3-0.995 of the factor burn (1) needed to
  clear the threshold): this is the safety margin. Pc after every candidate comes from
  propagating the burnt orbit and pc_2d; infeasible ones are dropped. The table's "by
  source" line says which burn was cheapest: mostly (3), so on most encounters the network
  contributes the size of the push and the physics its direction.
- How the design got here (held-out seed 1018; the first four figures against the labels of
  the first optimiser, which overstated the optimum on 6 % of encounters): the network
  choosing the burn time itself with a squared-error shift, median ratio 4.98 (1300
  training encounters); burn (1) plus lever-arm features 1.64; log-size and direction heads
  with early stopping 1.33; ten scales instead of four 1.24; 2600 encounters 1.13. With the
  refined optimiser's labels (generator 1.1): burns (1) and (2) only 1.28 (p90 4.09); with
  burn (3) as above.
- What limits it: when the lever arms are very unequal (along-track 100-1000x radial) the
  cost is sharp in the direction, and the network's predicted direction is not precise
  enough (burns (1)-(2) alone miss the 1.2 target); the burn-time fraction it predicts is
  off by about 0.16 of the window on average. The physics is two-body around TCA with
  covariances as at TCA (no drag, J2 or covariance growth after the burn), as in the
  single-axis trade; the optimum is checked against a brute-force grid and scipy's SLSQP
  in tests/astro/test_avoidance_vector.py.
"""
