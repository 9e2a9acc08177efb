"""``astroshield propagate`` and ``astroshield passes`` on a real TLE (ISS, CelesTrak snapshot)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from astroshield.astro.formats import oem
from astroshield.astro.formats.tle import format_tle
from astroshield.astro.ground.passes import GroundStation, passes
from astroshield.cli import app as cli
from tests.astro.test_groundtrack import catalog_object
from tests.trajectory.test_api import expected_states

START = datetime(2024, 11, 1, tzinfo=UTC)


@pytest.fixture
def tle_file(tmp_path: Path) -> Path:
    path = tmp_path / "iss.tle"
    path.write_text("\n".join(format_tle(catalog_object("25544")).lines()) + "\n")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def window_args(output: Path) -> list[str]:
    return [
        "--start",
        "2024-11-01T00:00:00Z",
        "--stop",
        "2024-11-01T02:00:00Z",
        "--step",
        "60",
        "--output",
        str(output),
    ]


def test_propagate_writes_an_oem(tle_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "iss.oem"
    code, text = run("propagate", str(tle_file), *window_args(output), "--frame", "GCRF")
    assert code == 0, text
    (segment,) = oem.read_oem(output).segments
    times, r, v = expected_states(catalog_object("25544"), "GCRF")
    np.testing.assert_array_equal(segment.epochs(), times)
    np.testing.assert_allclose(segment.positions_km(), r, atol=1e-9)
    np.testing.assert_allclose(segment.velocities_km_s(), v, atol=1e-12)


def test_propagate_writes_csv_and_json(tle_file: Path, tmp_path: Path) -> None:
    as_csv, as_json = tmp_path / "iss.csv", tmp_path / "iss.json"
    assert run("propagate", str(tle_file), *window_args(as_csv), "--frame", "itrf")[0] == 0
    assert run("propagate", str(tle_file), *window_args(as_json), "--frame", "ITRF")[0] == 0
    with as_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    document = json.loads(as_json.read_text())
    _, r, _ = expected_states(catalog_object("25544"), "ITRF")
    assert len(rows) == len(document["epochs"]) == 121
    assert rows[0]["epoch"] == "2024-11-01T00:00:00.000000Z" and rows[0]["sgp4_error"] == "0"
    np.testing.assert_allclose(
        [[float(row[k]) for k in ("x_km", "y_km", "z_km")] for row in rows], r
    )
    np.testing.assert_allclose(document["r_km"], r, atol=1e-9)


def test_propagate_refuses_bad_options(tle_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["propagate", str(tle_file), *window_args(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"astroshield: error: --output: {tmp_path / 'x.txt'} must end in .oem, .csv or .json\n"
    )
    result = CliRunner().invoke(
        cli, ["propagate", str(tle_file), *window_args(tmp_path / "x.oem"), "--step", "0.01"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("astroshield: error: --step: gives 720001 points; at most")
    assert len(result.stderr.splitlines()) == 1


def test_a_corrupt_tle_names_the_line(tmp_path: Path) -> None:
    tle = format_tle(catalog_object("25544"))
    bad = tmp_path / "bad.tle"
    wrong_checksum = str((int(tle.line1[-1]) + 1) % 10)
    bad.write_text(tle.line1[:-1] + wrong_checksum + "\n" + tle.line2 + "\n")
    result = CliRunner().invoke(cli, ["propagate", str(bad), *window_args(tmp_path / "x.oem")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"astroshield: error: {bad}:1: checksum: {wrong_checksum} ")
    assert result.stderr.endswith("(TLE line 1, column 69)\n")


def test_passes_json_lists_the_library_passes(tle_file: Path) -> None:
    code, text = run(
        "passes",
        str(tle_file),
        "--lat",
        "52.0",
        "--lon",
        "4.37",
        "--start",
        "2024-11-01T00:00:00Z",
        "--days",
        "1",
        "--min-el",
        "10",
        "--json",
    )
    assert code == 0, text
    report = json.loads(text)
    expected = passes(
        catalog_object("25544"),
        GroundStation(52.0, 4.37),
        START,
        START + timedelta(days=1),
        min_elevation_deg=10,
    )
    assert [item["rise"] for item in report["passes"]] == [p.rise.isoformat() for p in expected]
    assert len(report["passes"]) == 4  # as the 1 s scan of tests/astro/test_passes.py


def test_passes_prints_a_table(tle_file: Path) -> None:
    code, text = run(
        "passes",
        str(tle_file),
        "--lat",
        "52",
        "--lon",
        "4.37",
        "--start",
        "2024-11-01",
        "--days",
        "0.25",
    )
    assert code == 0, text
    assert "passes of ISS (ZARYA)" in text and "max el" in text
