"""Held-out evaluation of the ActorCritic against the single-burn baseline: metrics, PNG plots
and the benchmarks/RESULTS.md section."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from astroshield.ml.actor_critic import ActorCritic
from astroshield.ml.avoidance_episode import (
    Baseline,
    Constraints,
    Rollout,
    baseline_burns,
    sample_encounter,
    track,
)
from astroshield.ml.report import _png, section_head

SECTION = "## ML: ActorCritic (issue 18)"


@dataclass(frozen=True)
class EpisodeRecord:
    seed: int
    agent: Rollout
    baseline: Baseline

    @property
    def dv_ratio(self) -> float:
        """Agent Δv over the baseline's counted Δv (NaN when the baseline found no burn)."""
        counted = self.baseline.counted_dv_m_s
        return self.agent.total_dv_m_s / counted if counted > 0 else math.nan


def evaluate_episodes(
    agent: ActorCritic,
    seeds: Sequence[int],
    constraints: Constraints | None = None,
    progress: Callable[[], None] | None = None,
) -> list[EpisodeRecord]:
    """Agent rollout and baseline on the conjunction of each held-out seed."""
    limits = constraints or Constraints()
    records = []
    for seed in seeds:
        encounter = sample_encounter(seed, limits.red_pc)
        records.append(
            EpisodeRecord(seed, agent.rollout(encounter, limits), baseline_burns(encounter, limits))
        )
        if progress is not None:
            progress()
    return records


def _quantile(values: np.ndarray, q: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, q)) if len(finite) else math.nan


def metrics_record(records: Sequence[EpisodeRecord], constraints: Constraints) -> dict[str, Any]:
    agent_ok = np.array([r.agent.success for r in records])
    pc_ok = np.array([r.agent.pc_at_tca < constraints.red_pc for r in records])
    slot_ok = np.array([r.agent.slot_error_km < constraints.slot_tolerance_km for r in records])
    base_ok = np.array(
        [r.baseline.outcome is not None and r.baseline.outcome.success for r in records]
    )
    ratio = np.array([r.dv_ratio for r in records])
    agent_dv = np.array([r.agent.total_dv_m_s for r in records])
    base_dv = np.array([r.baseline.counted_dv_m_s for r in records])
    return {
        "episodes": len(records),
        "seeds": f"{records[0].seed}..{records[-1].seed}" if records else "",
        "constraints": {
            "red_pc": constraints.red_pc,
            "slot_tolerance_km": constraints.slot_tolerance_km,
            "max_dv_m_s_per_axis_and_decision": constraints.max_dv_m_s,
        },
        "agent": {
            "success_rate": float(agent_ok.mean()),
            "pc_cleared_rate": float(pc_ok.mean()),
            "in_slot_rate": float(slot_ok.mean()),
            "dv_m_s_median": float(np.median(agent_dv)),
            "slot_error_km_median": _quantile(
                np.array([r.agent.slot_error_km for r in records]), 0.5
            ),
            "burns_median": float(np.median([len(r.agent.burns) for r in records])),
        },
        "baseline": {
            "success_rate": float(base_ok.mean()),
            "found_rate": float(np.isfinite(base_dv).mean()),
            "counted_dv_m_s_median": _quantile(base_dv, 0.5),
            "one_orbit_lead_rate": float(
                np.mean([abs(r.baseline.lead_time_s - _period(r)) < 1.0 for r in records])
            ),
        },
        "dv_ratio": {
            "median": _quantile(ratio, 0.5),
            "p90": _quantile(ratio, 0.9),
            "median_successful_agent": _quantile(ratio[agent_ok], 0.5),
            "p90_successful_agent": _quantile(ratio[agent_ok], 0.9),
        },
        "targets": {"success_rate": 0.95, "dv_ratio_median": 1.5},
    }


def _period(record: EpisodeRecord) -> float:
    times = record.agent.times_s
    return -times[0] if times else math.nan


def learning_curve_plot(metadata: Mapping[str, Any]) -> bytes:
    curve = metadata["metrics"]["learning_curve"]
    figure = Figure(figsize=(6.5, 4.0), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(curve["timesteps"], curve["mean_episode_reward"], color="tab:blue")
    axes.set_xlabel("training timesteps (decisions)")
    axes.set_ylabel("mean episode reward (last 100 episodes)", color="tab:blue")
    twin = axes.twinx()
    twin.plot(curve["timesteps"], curve["success_rate"], color="tab:green")
    twin.set_ylabel("success rate (last 100 exploring episodes)", color="tab:green")
    twin.set_ylim(0.0, 1.0)
    warm = metadata["metrics"].get("imitation", {})
    title = f"ActorCritic {metadata['version']} PPO learning curve"
    if "validation_success_after_ppo" in warm:
        title += (
            f"\ndeterministic validation success: {warm['validation_success_before_ppo']:.0%}"
            f" after warm start, {warm['validation_success_after_ppo']:.0%} after PPO"
        )
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def ratio_histogram(records: Sequence[EpisodeRecord]) -> bytes:
    ratio = np.array([r.dv_ratio for r in records])
    ok = np.array([r.agent.success for r in records])
    figure = Figure(figsize=(6.5, 4.0), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    finite = np.isfinite(ratio)
    top = max(3.0, float(np.quantile(ratio[finite], 0.99))) if finite.any() else 3.0
    bins = np.linspace(0.0, top, 41).tolist()
    axes.hist(np.clip(ratio[finite & ok], 0, top), bins=bins, alpha=0.7, label="agent succeeded")
    axes.hist(np.clip(ratio[finite & ~ok], 0, top), bins=bins, alpha=0.7, label="agent failed")
    axes.axvline(1.5, color="black", linestyle="--", linewidth=1, label="target 1.5x")
    axes.set_xlabel("agent total Δv / baseline counted Δv")
    axes.set_ylabel("held-out episodes")
    axes.set_title(f"Δv ratio over {len(records)} held-out episodes")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def example_plot(record: EpisodeRecord) -> bytes:
    """Range to the secondary and offset from slot over time: agent and baseline."""
    encounter = sample_encounter(record.seed)
    figure = Figure(figsize=(7.0, 5.5), dpi=100)
    top = figure.add_subplot(2, 1, 1)
    bottom = figure.add_subplot(2, 1, 2, sharex=top)
    flights = [("agent", record.agent)]
    if record.baseline.outcome is not None:
        flights.append(("baseline", record.baseline.outcome))
    for label, flight in flights:
        times, distance, offset = track(encounter, flight.burns)
        hours = times / 3600.0
        top.semilogy(hours, distance, label=f"{label} (Pc {flight.pc_at_tca:.1e})")
        bottom.plot(hours, offset, label=f"{label} (Δv {flight.total_dv_m_s:.3f} m/s)")
        for burn in flight.burns:
            bottom.axvline(burn.time_s / 3600.0, color="grey", linewidth=0.5, alpha=0.5)
    top.set_ylabel("range to secondary (km)")
    top.set_title(f"Held-out episode {record.seed}")
    top.legend(fontsize=8)
    bottom.set_ylabel("|offset from slot| (km)")
    bottom.set_xlabel("hours from nominal TCA (last orbit: free flight, slot check)")
    bottom.legend(fontsize=8)
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def results_section(
    metrics: Mapping[str, Any], metadata: Mapping[str, Any], context: Mapping[str, str]
) -> str:
    agent, base, ratio = metrics["agent"], metrics["baseline"], metrics["dv_ratio"]
    limits = metrics["constraints"]
    config = metadata["training_config"]
    lines = [
        *section_head(SECTION, context),
        f"- Model: `{metadata['file']}` (sha256 `{metadata['sha256'][:16]}…`, "
        f"{metadata['parameters']} actor parameters), PPO {config['timesteps']} timesteps, "
        f"seed {config['seed']}, {config['n_envs']} environments; ONNX vs torch max |difference| "
        f"{metadata['metrics']['onnx_vs_torch_max_abs']:.1e}.",
        f"- Held-out: {metrics['episodes']} conjunctions, seeds {metrics['seeds']} (training "
        f"draws seeds >= 1,000,000). Pc threshold {limits['red_pc']:g}; slot tolerance "
        f"{limits['slot_tolerance_km']} km (largest RTN offset during one free orbit after the "
        f"last decision); Δv bound {limits['max_dv_m_s_per_axis_and_decision']} m/s per axis "
        "and decision.",
        "",
        "| method | success | Pc cleared | in slot | median Δv (m/s) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| ActorCritic (ONNX) | {agent['success_rate']:.1%} | {agent['pc_cleared_rate']:.1%} "
        f"| {agent['in_slot_rate']:.1%} | {agent['dv_m_s_median']:.4f} |",
        f"| single burn + phasing return | {base['success_rate']:.1%} | | | "
        f"{base['counted_dv_m_s_median']:.4f} |",
        "",
        f"- Δv ratio agent / baseline: median {ratio['median']:.2f}, p90 {ratio['p90']:.2f} "
        f"(successful agent episodes: median {ratio['median_successful_agent']:.2f}, p90 "
        f"{ratio['p90_successful_agent']:.2f}). Targets: success >= 95 %, Δv within 1.5x.",
        "- Figures: `benchmarks/figures/ml-actor-critic-learning.png`, "
        "`benchmarks/figures/ml-actor-critic-dv-ratio.png`, "
        "`benchmarks/figures/ml-actor-critic-episode.png`.",
        *context.get("notes", "").splitlines(),
    ]
    return "\n".join(lines) + "\n"
