"""Plots (PNG) and the benchmarks/RESULTS.md section of the StrategyGenerator evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from astroshield.ml.report import _png, section_head
from astroshield.ml.strategy_generator import Outcome

SECTION = "## ML: StrategyGenerator (issue 18)"


def ratio_histogram(outcomes: Sequence[Outcome]) -> bytes:
    """|Δv| of the cheapest feasible proposal over the optimum's, and the network's own."""
    best = np.array([o.best_m_s / o.optimum_m_s for o in outcomes])
    raw = np.array([o.network_m_s / o.optimum_m_s for o in outcomes])
    figure = Figure(figsize=(6.5, 4.2), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    bins = [0.05 * k for k in range(61)]
    axes.hist(np.clip(raw, 0, 3), bins=bins, alpha=0.5, label="network burn (unscaled)")
    axes.hist(
        np.clip(best[np.isfinite(best)], 0, 3), bins=bins, alpha=0.7, label="cheapest feasible"
    )
    axes.axvline(1.2, color="red", linestyle="--", linewidth=1, label="target median 1.2")
    axes.set_xlabel("|Δv| / numerical optimum (clipped at 3)")
    axes.set_ylabel("held-out encounters")
    axes.set_title("StrategyGenerator: Δv against the optimum")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def learned_vs_optimum(outcomes: Sequence[Outcome]) -> bytes:
    optimum = np.array([o.optimum_m_s for o in outcomes]) * 1000.0
    best = np.array([o.best_m_s for o in outcomes]) * 1000.0
    figure = Figure(figsize=(5.5, 5.0), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    ok = np.isfinite(best)
    axes.loglog(optimum[ok], best[ok], ".", markersize=4, label="cheapest feasible proposal")
    if (~ok).any():
        axes.loglog(optimum[~ok], optimum[~ok], "rx", label="no feasible proposal (at optimum)")
    span = [optimum.min() * 0.8, optimum.max() * 1.25]
    axes.loglog(span, span, color="grey", linewidth=0.8, label="equal")
    axes.loglog(span, [1.2 * v for v in span], color="grey", linestyle=":", label="1.2 x")
    axes.set_xlabel("numerical optimum |Δv| (mm/s)")
    axes.set_ylabel("StrategyGenerator |Δv| (mm/s)")
    axes.set_title("Learned against optimum, held-out encounters")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, which="both")
    figure.tight_layout()
    return _png(figure)


def results_section(
    metrics: Mapping[str, Any], metadata: Mapping[str, Any], context: Mapping[str, str]
) -> str:
    m = metrics
    feasible_ok = m["with_a_feasible_proposal"] >= 0.99
    ratio_ok = m["delta_v_ratio_median"] <= 1.2
    lines = [
        *section_head(SECTION, context),
        f"- Model: `{metadata['file']}` (sha256 `{metadata['sha256'][:16]}…`, "
        f"{metadata['parameters']} parameters), trained on {metadata['dataset']['encounters']} "
        f"simulated red conjunctions (generator {metadata['dataset']['generator_version']}, "
        f"seed {metadata['dataset']['seed']}, data set sha256 "
        f"`{metadata['dataset_sha256'][:16]}…`); candidate scales (the calibrated margin) "
        f"{metadata['candidate_scales']}.",
        f"- Held-out: {m['encounters']} encounters of seed {context['seed']} (never used in "
        "training or calibration) whose optimum exists within the Δv limit; every proposal "
        "re-checked by propagating the burnt orbit and recomputing Pc with pc_2d.",
        "",
        "| metric | value | target |",
        "| --- | ---: | --- |",
        f"| encounters with a feasible proposal | {m['with_a_feasible_proposal']:.1%} | "
        f">= 99 % ({'met' if feasible_ok else 'missed'}) |",
        f"| median Δv / optimum, cheapest feasible | {m['delta_v_ratio_median']:.3f} | "
        f"<= 1.2 ({'met' if ratio_ok else 'missed'}) |",
        f"| p90 Δv / optimum | {m['delta_v_ratio_p90']:.3f} | |",
        f"| candidates feasible (of {m['candidates']}) | {m['candidate_feasible_share']:.1%} "
        "| infeasible ones dropped |",
        f"| unscaled network burn feasible | {m['network_unscaled_feasible']:.1%} | |",
        f"| unscaled network Δv / optimum, median | {m['network_unscaled_ratio_median']:.3f} | |",
        f"| burn-time fraction, mean abs error | {m['lead_fraction_mae']:.3f} | |",
        f"| optimum Δv, median | {m['optimum_delta_v_m_s_median'] * 1000:.2f} mm/s | |",
        "",
        f"- Cheapest feasible proposal by source: `{m['cheapest_feasible_by_source']}` "
        "(the network's shift at the cheapest burn time / at its own burn time / the size of "
        "its shift along the strongest lever arm).",
        "",
        f"- ONNX vs PyTorch on validation encounters: max |difference| "
        f"{metadata['metrics']['onnx_vs_torch_max_abs']:.2e}.",
        "- Figures: `benchmarks/figures/ml-strategy-ratio.png`, "
        "`benchmarks/figures/ml-strategy-scatter.png`.",
        *context.get("notes", "").splitlines(),
    ]
    return "\n".join(lines) + "\n"
