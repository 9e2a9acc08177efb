"""The shipped AdversaryEncoder served with onnxruntime (no torch): its hash, its scores on a
real history, and ``astroshield ml anomalies``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from astroshield.astro.formats.element_files import read_element_set_file
from astroshield.astro.formats.tle import tle_checksum
from astroshield.cli import app as cli
from astroshield.ml.adversary_encoder import AdversaryEncoder, shipped_model_path
from astroshield.ml.evaluation import interval_labels, load_truth
from astroshield.ml.onnx_model import ModelFileError, file_sha256, metadata_path
from tests.ml.support import SLICE_MANOEUVRES, SLICE_TLE


def test_the_shipped_model_file_matches_its_metadata() -> None:
    path = shipped_model_path()
    metadata = json.loads(metadata_path(path).read_text(encoding="utf-8"))
    assert file_sha256(path) == metadata["sha256"]
    assert metadata["metrics"]["onnx_vs_torch_max_abs"] <= 1e-5
    assert path.stat().st_size < 400_000
    assert {"dataset_sha256", "training_config", "threshold", "version"} <= set(metadata)


def test_a_model_file_that_differs_from_its_metadata_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / shipped_model_path().name
    shutil.copy(shipped_model_path(), copy)
    shutil.copy(metadata_path(shipped_model_path()), metadata_path(copy))
    AdversaryEncoder.load(copy)  # an exact copy loads
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="differs"):
        AdversaryEncoder.load(copy)


def test_sets_just_after_logged_manoeuvres_score_higher_than_quiet_ones() -> None:
    model = AdversaryEncoder.load()
    scored = model.score_history(read_element_set_file(SLICE_TLE).sets)
    labels = interval_labels(scored, load_truth(SLICE_MANOEUVRES, "Sentinel-3A"))
    scores = np.array([s.score for s in scored])
    assert labels.sum() >= 5
    assert np.median(scores[labels]) > np.quantile(scores[~labels], 0.9)
    assert np.mean(scores[~labels] >= model.threshold) < 0.1


def test_ml_anomalies_prints_one_json_line_per_scored_set() -> None:
    result = CliRunner().invoke(cli, ["ml", "anomalies", str(SLICE_TLE), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    sets = len(read_element_set_file(SLICE_TLE).sets)
    window = AdversaryEncoder.load().window
    assert len(records) == sets - window  # the first `window` sets are context
    assert all(set(r) == {"epoch", "score"} for r in records)
    assert records[0]["epoch"].endswith("Z")
    assert all(isinstance(r["score"], float) and r["score"] >= 0.0 for r in records)


def test_ml_anomalies_on_a_broken_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    lines = SLICE_TLE.read_text(encoding="ascii").splitlines()[:40]
    bad = lines[3][:8] + "  X.1234" + lines[3][16:68]  # inclination of the second set
    lines[3] = bad + str(tle_checksum(bad + "0"))  # a valid checksum: the field is at fault
    broken = tmp_path / "broken.tle"
    broken.write_text("\n".join(lines) + "\n", encoding="ascii")
    result = CliRunner().invoke(cli, ["ml", "anomalies", str(broken), "--json", "--strict"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"astroshield: error: {broken}:4: inclination")
    assert "Traceback" not in result.output


def test_ml_anomalies_on_too_short_a_history_is_one_line_and_exit_2(tmp_path: Path) -> None:
    short = tmp_path / "short.tle"
    short.write_text("\n".join(SLICE_TLE.read_text().splitlines()[:10]) + "\n")
    result = CliRunner().invoke(cli, ["ml", "anomalies", str(short)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "scoring needs" in result.stderr
