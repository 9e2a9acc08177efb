"""``astroshield ml simulate`` writes Parquet and a data card; the noise estimate reads real
histories; the evaluation's pieces (ROC AUC, the naive score, the RESULTS.md section)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from astroshield.astro.formats.element_files import read_element_set_file
from astroshield.cli import app as cli
from astroshield.ml.dataset import CARD_JSON, CARD_MD, EVENTS_FILE, SETS_FILE, load_dataset
from astroshield.ml.evaluation import naive_scores, roc_auc
from astroshield.ml.noise_estimate import history_noise
from astroshield.ml.report import SECTION, write_results_section
from astroshield.validation.maneuvers import naive_detections
from tests.ml.support import SLICE_TLE
from tests.support.shared import shared_path

HISTORIES = "data/maneuvers/processed_files"


def test_ml_simulate_writes_parquet_and_a_data_card(tmp_path: Path) -> None:
    histories = shared_path(HISTORIES)
    out = tmp_path / "sim"
    args = ["ml", "simulate", "--out", str(out), "--seed", "4", "--objects", "5", "--sets", "40"]
    result = CliRunner().invoke(cli, [*args, "--histories", str(histories)])
    assert result.exit_code == 0, result.output
    for name in (SETS_FILE, EVENTS_FILE, CARD_JSON, CARD_MD):
        assert (out / name).is_file()
    table = pq.read_table(out / SETS_FILE)
    assert table.num_rows == 5 * 40
    card = json.loads((out / CARD_JSON).read_text(encoding="utf-8"))
    assert card["seed"] == 4 and card["objects"] == 5 and card["element_sets"] == 200
    assert card["generator_version"]
    balance = card["class_balance"]
    assert balance["event_since_previous"] + balance["no_event"] == 200
    assert set(card["noise_model"]) == {"LEO", "GEO"}
    assert "CryoSat-2" in card["noise_model"]["LEO"]["histories"]
    loaded = load_dataset(out)
    assert sum(len(h.sets) for h in loaded) == 200
    assert sum(sum(h.labels) for h in loaded) == balance["event_since_previous"]


def test_ml_simulate_without_histories_is_one_line_and_exit_2(tmp_path: Path) -> None:
    args = ["ml", "simulate", "--out", str(tmp_path / "o"), "--histories", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1


def test_the_noise_estimate_of_a_real_leo_slice_is_of_tle_size() -> None:
    model = history_noise("slice", read_element_set_file(SLICE_TLE).sets)
    assert model.regime == "LEO"
    assert 1e-6 < model.sigma_a_km < 0.05  # mm to tens of m
    assert 0.005 < model.sigma_along_km < 1.0
    assert 0.9 < model.spacing_days_quantiles[10] < 1.2  # about daily


def test_roc_auc_is_the_mann_whitney_probability() -> None:
    labels = np.array([False, False, True, False, True])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.9, 0.3, 0.8])) == 1.0
    assert roc_auc(labels, np.array([0.9, 0.8, 0.1, 0.7, 0.2])) == 0.0
    assert roc_auc(labels, np.ones(5)) == 0.5
    # one positive below one negative: 5 of 6 pairs ordered
    assert roc_auc(labels, np.array([0.1, 0.5, 0.9, 0.3, 0.4])) == pytest.approx(5 / 6)


def test_the_naive_score_is_the_naive_detectors_statistic() -> None:
    elements = read_element_set_file(SLICE_TLE).sets
    scores = naive_scores(elements)
    for threshold in (6.0, 15.0):
        flagged = [epoch for epoch, value in scores.items() if value >= threshold]
        detections = naive_detections(elements, threshold)
        # each naive detection is the midpoint of a flagged interval ending at a flagged set
        ordered = sorted(scores)
        for moment in detections:
            ends = [e for e in ordered if e > moment]
            assert ends and ends[0] in flagged
            assert ends[0] - moment < timedelta(days=6)
        assert len(detections) <= len(flagged)


def test_the_results_section_goes_to_the_end_and_replaces_itself(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## A\n\na\n\n## B\n\nb\n", encoding="utf-8")
    write_results_section(results, f"{SECTION}\n\nfirst\n")
    write_results_section(results, f"{SECTION}\n\nsecond\n")
    text = results.read_text(encoding="utf-8")
    assert text.count(SECTION) == 1
    assert text.endswith(f"{SECTION}\n\nsecond\n")
    assert "## A\n\na" in text and "## B\n\nb" in text and "first" not in text
