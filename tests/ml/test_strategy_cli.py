"""``ml simulate-encounters`` and ``ml evaluate strategy-generator`` end to end (small), the
one-line refusals, and the RESULTS.md section replaced rather than appended twice."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.ml.encounter_scenarios import CARD_JSON, ENCOUNTERS_FILE
from astroshield.ml.report import write_results_section
from astroshield.ml.strategy_report import SECTION


def test_simulate_then_evaluate_on_it(tmp_path: Path) -> None:
    data, figures = tmp_path / "enc", tmp_path / "fig"
    result = CliRunner().invoke(
        cli, ["ml", "simulate-encounters", "--out", str(data), "--seed", "5", "--count", "3"]
    )
    assert result.exit_code == 0, result.output
    assert (data / ENCOUNTERS_FILE).is_file()
    assert json.loads((data / CARD_JSON).read_text())["encounters"] == 3
    result = CliRunner().invoke(
        cli,
        ["ml", "evaluate", "strategy-generator", "--data", str(data), "--figures", str(figures)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((figures / "ml-strategy-metrics.json").read_text())
    assert metrics["encounters"] == 3 and metrics["held_out_seed"] == 5
    assert (figures / "ml-strategy-ratio.png").read_bytes().startswith(b"\x89PNG")
    assert (figures / "ml-strategy-scatter.png").read_bytes().startswith(b"\x89PNG")


def test_training_seed_and_missing_data_are_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ml", "evaluate", "strategy-generator", "--seed", "18"])
    assert result.exit_code == 2
    assert "trained on that seed" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(
        cli, ["ml", "evaluate", "strategy-generator", "--data", str(tmp_path / "none")]
    )
    assert result.exit_code == 2 and ENCOUNTERS_FILE in result.output


def test_results_section_is_replaced(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other\n\ntext\n")
    write_results_section(results, f"{SECTION}\n\nfirst\n", SECTION)
    write_results_section(results, f"{SECTION}\n\nsecond\n", SECTION)
    text = results.read_text()
    assert text.count(SECTION) == 1 and "second" in text and "first" not in text
    assert "## Other" in text
