"""Approaches cut off by the screening window (issue 21): flagged ``edge`` "start"/"end".

Three co-orbiting pairs built here, each two objects on one near-circular orbit a small
along-track gap apart, the trailing one with a mean motion higher by DN (so it closes on the
leader at ~a·ΔN ≈ 0.14 km/h, passing ~20 m below it):

- "end": 1.0 km behind at the start, still ~0.16 km behind and closing at the end (6 h);
- "start": 0.15 km ahead at the start and pulling away (mirror image);
- "interior": 0.42 km behind, passes at ~3 h, 0.42 km ahead at the end.

Each pair has its own altitude, so pairs cannot meet each other. The reference is the sgp4
library itself, initialised here with ``Satrec.sgp4init`` from the same numbers (not through
our element sets or propagator): distances and range rates at the edges, and a 10 s scan
around the window that shows where the true minimum is.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from sgp4.api import WGS72, Satrec, jday
from typer.testing import CliRunner

from astroshield.astro.conjunction.screening import (
    CSV_HEADER,
    ConjunctionEvent,
    ScreeningResult,
    screen_catalog,
    write_events_csv,
    write_events_json,
)
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import format_omm_json
from astroshield.astro.formats.tle import format_tle, tle_checksum
from astroshield.cli import app as cli

START = datetime(2024, 11, 1, tzinfo=UTC)
WINDOW = timedelta(hours=6)
END = START + WINDOW
THRESHOLD_KM = 0.5
DN_REV_PER_DAY = 7.9e-5
_MU = 398600.8  # WGS72, as SGP4
_INCLINATION_DEG = 51.6
_ECCENTRICITY = 0.0002

# name: (leader number, trailer number, mean motion rev/day, trailer's gap behind in km)
PAIRS = {
    "end": ("90021", "90022", 15.5, 1.0),
    "start": ("90031", "90032", 15.2, -0.15),
    "interior": ("90041", "90042", 14.9, 0.42),
}


def _element_set(number: str, n_rev_day: float, mean_anomaly_deg: float) -> ElementSet:
    return ElementSet(
        catalog_number=number,
        epoch=START,
        mean_motion_rev_per_day=n_rev_day,
        eccentricity=_ECCENTRICITY,
        inclination_deg=_INCLINATION_DEG,
        ra_of_asc_node_deg=40.0,
        arg_of_pericenter_deg=0.0,
        mean_anomaly_deg=mean_anomaly_deg,
        bstar_per_earth_radius=0.0,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def _pair(name: str) -> tuple[ElementSet, ElementSet]:
    leader, trailer, n, gap_km = PAIRS[name]
    a_km = (_MU / (n * 2.0 * math.pi / 86400.0) ** 2) ** (1.0 / 3.0)
    behind_deg = math.degrees(gap_km / a_km)
    return (
        _element_set(leader, n, 90.0),
        _element_set(trailer, n + DN_REV_PER_DAY, 90.0 - behind_deg),
    )


def catalog() -> list[ElementSet]:
    return [item for name in PAIRS for item in _pair(name)]


def _satrec(item: ElementSet) -> Satrec:
    """sgp4's own initialiser from the element values (rev/day → rad/min, degrees → rad)."""
    satrec = Satrec()
    epoch_days = (item.epoch - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    satrec.sgp4init(
        WGS72,
        "i",
        int(item.catalog_number),
        epoch_days,
        0.0,
        0.0,
        0.0,
        item.eccentricity,
        math.radians(item.arg_of_pericenter_deg),
        math.radians(item.inclination_deg),
        math.radians(item.mean_anomaly_deg),
        item.mean_motion_rev_per_day * 2.0 * math.pi / 1440.0,
        math.radians(item.ra_of_asc_node_deg),
    )
    return satrec


def _reference(name: str, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (km) and range rate (km²/s) of a pair at seconds from START, by sgp4."""
    jd, fr = jday(START.year, START.month, START.day, 0, 0, 0.0)
    states = []
    for item in _pair(name):
        errors, r, v = _satrec(item).sgp4_array(
            np.full(len(seconds), jd), fr + np.asarray(seconds) / 86400.0
        )
        assert not errors.any()
        states.append((r, v))
    (r1, v1), (r2, v2) = states
    d = r2 - r1
    return np.linalg.norm(d, axis=1), np.einsum("ij,ij->i", d, v2 - v1)


@cache
def all_vs_all() -> ScreeningResult:
    return screen_catalog(catalog(), START, WINDOW, THRESHOLD_KM, workers=1)


def _event_of(result: ScreeningResult, name: str) -> ConjunctionEvent:
    leader, trailer, _, _ = PAIRS[name]
    found = [e for e in result.events if {e.object1, e.object2} == {leader, trailer}]
    assert len(found) == 1, found
    return found[0]


def test_the_constructed_pairs_are_what_the_cases_need() -> None:
    """The reference confirms the construction: where each pair's true minimum lies."""
    window_s = WINDOW.total_seconds()
    edges = np.array([0.0, window_s])
    distance, rate = _reference("end", edges)
    assert distance[1] < 0.3 and rate[1] < 0.0 and distance[0] > THRESHOLD_KM
    distance, rate = _reference("start", edges)
    assert distance[0] < 0.3 and rate[0] > 0.0 and distance[1] > THRESHOLD_KM
    distance, rate = _reference("interior", edges)
    assert distance.max() <= THRESHOLD_KM and rate[0] < 0.0 < rate[1]
    # Around the window: the "end" pair's minimum comes after the end, "start"'s before.
    scan = np.arange(-3 * 3600.0, window_s + 3 * 3600.0 + 1.0, 10.0)
    assert scan[np.argmin(_reference("end", scan)[0])] > window_s
    assert scan[np.argmin(_reference("start", scan)[0])] < 0.0


def test_pair_still_closing_at_the_window_end_is_reported_at_the_end() -> None:
    event = _event_of(all_vs_all(), "end")
    distance, _ = _reference("end", np.array([WINDOW.total_seconds()]))
    assert event.edge == "end"
    assert event.tca == END
    assert event.miss_distance_km == pytest.approx(float(distance[0]), abs=1e-6)
    assert event.miss_distance_km < 0.3
    assert (event.object1, event.object2) == ("90021", "90022")
    assert math.hypot(*event.miss_rtn_km) == pytest.approx(event.miss_distance_km, rel=1e-9)


def test_pair_receding_at_the_window_start_is_reported_at_the_start() -> None:
    event = _event_of(all_vs_all(), "start")
    distance, _ = _reference("start", np.array([0.0]))
    assert event.edge == "start"
    assert event.tca == START
    assert event.miss_distance_km == pytest.approx(float(distance[0]), abs=1e-6)


def test_interior_minimum_is_unchanged_and_not_flagged() -> None:
    event = _event_of(all_vs_all(), "interior")
    assert event.edge is None
    assert START < event.tca < END
    tca_s = (event.tca - START).total_seconds()
    fine = tca_s + np.arange(-30.0, 30.0001, 0.01)
    distance, _ = _reference("interior", fine)
    best = int(np.argmin(distance))
    # ~0.04 m/s of relative speed: the separation is flat for seconds around the minimum.
    assert event.miss_distance_km == pytest.approx(float(distance[best]), abs=1e-6)
    assert abs(tca_s - fine[best]) < 1.0
    # Within the threshold at both edges too, but closing at the start and receding at the
    # end: no edge events besides the interior one.
    result = all_vs_all()
    assert [e.edge for e in result.events] == ["start", None, "end"]
    assert result.stats.edge_events == 2


def test_far_apart_and_receding_pairs_give_no_edge_event() -> None:
    """A shorter window ending before the "end" pair comes within the threshold, and one
    starting after the "start" pair has separated beyond it: nothing to report."""
    early = screen_catalog(list(_pair("end")), START, timedelta(hours=1), THRESHOLD_KM, workers=1)
    late = screen_catalog(
        list(_pair("start")), START + timedelta(hours=4), timedelta(hours=2), THRESHOLD_KM
    )
    assert early.events == [] and late.events == []


def test_one_vs_all_reports_the_edge_event_with_the_primary_first() -> None:
    result = screen_catalog(catalog(), START, WINDOW, THRESHOLD_KM, primary="90022", workers=1)
    assert [(e.object1, e.object2, e.edge, e.tca) for e in result.events] == [
        ("90022", "90021", "end", END)
    ]


def test_writers_carry_the_edge_flag(tmp_path: Path) -> None:
    events = all_vs_all().events
    csv_path = tmp_path / "events.csv"
    write_events_csv(events, csv_path)
    rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()))
    assert tuple(rows[0]) == CSV_HEADER
    assert [row["edge"] for row in rows] == ["start", "", "end"]
    assert rows[2]["tca"] == "2024-11-01T06:00:00.000Z"
    json_path = tmp_path / "events.json"
    write_events_json(events, json_path)
    records = json.loads(json_path.read_text(encoding="utf-8"))
    assert [record["edge"] for record in records] == ["start", None, "end"]


def test_cli_screen_writes_the_edge_column_and_counts_edge_events(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.json"
    pairs.write_text(format_omm_json(catalog()), encoding="utf-8")
    output = tmp_path / "events.csv"
    result = _screen(pairs, output)
    assert result.exit_code == 0, result.output
    assert "3 conjunctions within 0.5 km" in " ".join(result.output.split())
    assert "(2 cut off by the window edge" in " ".join(result.output.split())
    rows = list(csv.DictReader(output.read_text(encoding="utf-8").splitlines()))
    assert [(row["object1"], row["object2"], row["edge"]) for row in rows] == [
        ("90031", "90032", "start"),
        ("90041", "90042", ""),
        ("90021", "90022", "end"),
    ]


def _screen(catalog_path: Path, output: Path) -> Result:
    return CliRunner().invoke(
        cli,
        [
            "screen",
            str(catalog_path),
            "--start",
            "2024-11-01T00:00:00Z",
            "--days",
            "0.25",
            "--threshold-km",
            str(THRESHOLD_KM),
            "--output",
            str(output),
            "--workers",
            "1",
        ],
    )


def test_cli_screen_skips_unreadable_sets_with_a_warning_each(tmp_path: Path) -> None:
    """The six objects as TLEs plus two broken sets: a checksum (file line 14) and a
    second derivative the reference parsers disagree on (file line 15)."""
    lines = [text for item in catalog() for text in format_tle(item).lines()]
    extra = [
        format_tle(replace(catalog()[0], catalog_number=str(n))).lines() for n in (90051, 90052)
    ]
    broken_checksum = extra[0][1][:-1] + str((int(extra[0][1][-1]) + 1) % 10)
    line1 = extra[1][0][:44] + "-123454 " + extra[1][0][52:68]
    broken_ddot = line1 + str(tle_checksum(line1))
    lines += [extra[0][0], broken_checksum, broken_ddot, extra[1][1]]
    path = tmp_path / "archive.tle"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = _screen(path, tmp_path / "events.csv")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    warnings = result.stderr.splitlines()
    assert warnings[0].startswith(f"astroshield: warning: {path}:14: checksum: ")
    assert warnings[1].startswith(
        f"astroshield: warning: {path}:15: mean motion second derivative: '-123454 '"
    )
    assert warnings[2] == (
        f"astroshield: warning: {path}: 2 of 8 element sets skipped "
        "(--strict refuses the file instead)"
    )

    only_broken = tmp_path / "broken.tle"
    only_broken.write_text("\n".join(lines[12:]) + "\n", encoding="utf-8")
    refused = _screen(only_broken, tmp_path / "none.csv")
    assert refused.exit_code == 2
    assert "Traceback" not in refused.stdout + refused.stderr
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"astroshield: error: {only_broken}:2: checksum: ")
