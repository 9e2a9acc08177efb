"""The analysis commands (screen, pc, maneuvers detect) run the libraries end to end on
real files; the numbers themselves are checked against references in tests/astro."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from astroshield.astro.formats import cdm as cdm_mod
from astroshield.cli import app as cli
from tests.astro.paths import CATALOG_CSV, SHARED, load_pc_cases
from tests.astro.test_conjunction_report import _case_cdm

MANEUVER_TLES = SHARED / "data" / "maneuvers" / "processed_files" / "CryoSat-2.tle"


def test_pc_of_a_cdm_file_matches_the_cara_case(tmp_path: Path) -> None:
    case = load_pc_cases()["omitron_case_A"]
    path = tmp_path / "omitron.kvn"
    cdm_mod.write_cdm(_case_cdm(case), path, fmt="kvn")
    result = CliRunner().invoke(
        cli, ["pc", str(path), "--json", "--hbr-m", str(case["HBR"] * 1e3), "--samples", "20000"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) >= {
        "pc_2d_foster",
        "pc_2d_chan",
        "pc_max",
        "pc_3d",
        "pc_mc",
        "miss_distance_m",
        "tca",
    }
    expected = case["expected"]["Pc2D_circle"]["value"]  # NASA CARA PcCircle unit test
    assert report["pc_2d_foster"] == pytest.approx(expected, rel=1e-3)
    low, high = report["pc_mc"]["ci95"]
    assert low <= report["pc_mc"]["value"] <= high
    assert report["tca"].endswith("Z")


def test_pc_refuses_a_malformed_cdm(tmp_path: Path) -> None:
    bad = tmp_path / "bad.kvn"
    bad.write_text("CCSDS_CDM_VERS = 1.0\nCREATION_DATE = yesterday\n")
    result = CliRunner().invoke(cli, ["pc", str(bad), "--json"])
    assert result.exit_code == 2
    assert result.stderr == (f"astroshield: error: {bad}:2: CREATION_DATE: bad epoch 'yesterday'\n")


@pytest.mark.slow
def test_screen_one_vs_all_writes_the_csv(tmp_path: Path) -> None:
    output = tmp_path / "events.csv"
    result = CliRunner().invoke(
        cli,
        [
            "screen",
            str(CATALOG_CSV),
            "--start",
            "2024-11-01T00:00:00Z",
            "--days",
            "0.25",
            "--threshold-km",
            "5",
            "--primary",
            "25544",
            "--output",
            str(output),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    with output.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "object1",
        "object2",
        "tca",
        "miss_distance_km",
        "relative_speed_km_s",
        "edge",
    ]
    assert all(row[0] == "25544" for row in rows[1:])
    assert all(float(row[3]) <= 5.0 for row in rows[1:])


def test_maneuvers_detect_prints_json_and_plots(tmp_path: Path) -> None:
    plot = tmp_path / "history.png"
    result = CliRunner().invoke(
        cli, ["maneuvers", "detect", str(MANEUVER_TLES), "--json", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output[result.output.index("[") :])
    assert len(records) > 50  # CryoSat-2 maneuvers often; the data README lists 164
    assert set(records[0]) == {
        "epoch",
        "window_start",
        "window_end",
        "delta_v_m_s",
        "kind",
        "confidence",
    }
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pc_of_npd_cdms_warns_of_remediation_or_says_undefined(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.conjunction.cdms import cara_npd_cdm

    tca = datetime(2024, 5, 1, 12, tzinfo=UTC)
    remediable = tmp_path / "npd.kvn"
    cdm_mod.write_cdm(cara_npd_cdm(tca=tca, creation=tca), remediable, fmt="kvn")
    result = CliRunner().invoke(cli, ["pc", str(remediable), "--samples", "1000"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "    pc_2d_foster: 0.0\n" in result.stdout  # CARA PcCircle testNPDCovariance
    assert f"astroshield: warning: {remediable}: covariance remediated: " in result.stderr
    assert "projected 2x2 covariance" in result.stderr

    corrupt = tmp_path / "corrupt.kvn"
    cdm_mod.write_cdm(cara_npd_cdm(tca=tca, creation=tca, corrupt=True), corrupt, fmt="kvn")
    result = CliRunner().invoke(cli, ["pc", str(corrupt), "--samples", "1000"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "    pc_2d_foster: undefined\n" in result.stdout
    assert "           pc_mc: undefined\n" in result.stdout
    assert f"astroshield: warning: {corrupt}: pc_2d_foster undefined: " in result.stderr
    result = CliRunner().invoke(cli, ["pc", str(corrupt), "--samples", "1000", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["pc_2d_foster"] is None
    assert "negative variance" in report["pc_undefined_reason"]["pc_2d_foster"]
