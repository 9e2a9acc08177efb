"""The CLI teaches itself: every command's --help shows one example of its own command
line, and a command that writes a file says where it went, how much, and what comes next."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import get_settings
from tests.astro.paths import CATALOG_CSV
from tests.test_cli import CRYOSAT_TLE, ISS_LINE1, ISS_LINE2


def _command_paths(group: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every runnable command of the tree, as its words after ``astroshield``."""
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "commands", None) is not None:
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = sorted(_command_paths(typer.main.get_command(cli)))


def test_the_walk_finds_every_group_and_its_commands() -> None:
    # A walk that found nothing would make the help test below pass vacuously.
    assert {("screen",), ("catalog", "import"), ("keys", "jwt-generate"), ("db", "backup")} <= set(
        COMMANDS
    )
    assert len(COMMANDS) >= 24


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_help_has_an_example_of_its_own_command(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    # In one piece on an 80-column terminal (long examples continue lines with "\").
    example = rf"^\s*astroshield {re.escape(' '.join(words))}(\s|$)"
    assert re.search(example, result.output, re.MULTILINE), result.output
    assert "\b" not in result.output  # click's no-rewrap marker is consumed, not printed


# ------------------------------------------------------------ file-writing commands


@pytest.fixture
def database_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    database = tmp_path / "cli.db"
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    checkpoints = tmp_path / "audit-checkpoints.jsonl"  # not the checkout's .astroshield/
    monkeypatch.setenv("ASTROSHIELD_AUDIT_CHECKPOINT_FILE", str(checkpoints))
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def _two_objects(tmp_path: Path) -> Path:
    """The first two objects of the shared catalog (Vanguard 1 and 2, newest epoch 31 Oct)."""
    with CATALOG_CSV.open(newline="") as handle:
        rows = list(csv.reader(handle))[:3]
    path = tmp_path / "two objects.csv"  # a space: the next-command line must quote it
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_screen_prints_the_events_file_and_its_count(tmp_path: Path) -> None:
    output = tmp_path / "events.json"
    result = CliRunner().invoke(
        cli,
        [
            *("screen", str(_two_objects(tmp_path)), "--start", "2024-11-01T00:00:00Z"),
            *("--days", "0.05", "--output", str(output), "--workers", "1"),
        ],
    )
    assert result.exit_code == 0, result.output
    events = json.loads(output.read_text())
    assert f"{len(events)} conjunctions within 5.0 km written to {output}" in result.stderr


def test_propagate_prints_the_ephemeris_file_and_its_count(tmp_path: Path) -> None:
    tle = tmp_path / "iss.tle"
    tle.write_text(f"{ISS_LINE1}\n{ISS_LINE2}\n")
    output = tmp_path / "iss.csv"
    result = CliRunner().invoke(
        cli,
        [
            *("propagate", str(tle), "--start", "2008-09-20T12:00:00Z"),
            *("--stop", "2008-09-20T13:00:00Z", "--step", "600", "--output", str(output)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(output.read_text().splitlines()) == 1 + 7  # header and 7 epochs
    assert f"7 states of 25544 (GCRF) written to {output}" in result.stderr


def test_maneuvers_plot_prints_its_path_and_counts_with_json_stdout_untouched(
    tmp_path: Path,
) -> None:
    history = tmp_path / "cryosat.tle"  # its first 60 sets: a plot, not a study
    history.write_text("\n".join(CRYOSAT_TLE.read_text().splitlines()[:120]) + "\n")
    plot = tmp_path / "cryosat.png"
    result = CliRunner().invoke(
        cli, ["maneuvers", "detect", str(history), "--plot", str(plot), "--json"]
    )
    assert result.exit_code == 0, result.output
    detections = json.loads(result.stdout)  # nothing but the JSON on stdout
    sets = 60
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert (
        f"plot of {sets} element sets and {len(detections)} maneuvers written to {plot}"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        ("jwt-generate", "ASTROSHIELD_JWT_KEYS_FILE"),
        ("audit-generate", "ASTROSHIELD_AUDIT_KEY_FILE"),
    ],
)
def test_key_generation_prints_the_file_and_how_to_use_it(
    tmp_path: Path, command: str, variable: str
) -> None:
    path = tmp_path / "keys.json"
    result = CliRunner().invoke(cli, ["keys", command, str(path)])
    assert result.exit_code == 0, result.output
    assert path.is_file()
    assert f"wrote {path}: 1 key (active " in result.stderr
    assert result.stderr.splitlines()[-1] == f"next: export {variable}={path}"


def test_import_then_backup_print_the_next_command_and_the_backup_file(
    tmp_path: Path, database_env: Path
) -> None:
    runner = CliRunner()
    catalog = _two_objects(tmp_path)
    result = runner.invoke(cli, ["catalog", "import", str(catalog)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == (
        f"next: astroshield screen '{catalog}' --start 2024-10-31T00:00:00Z --output events.csv"
    )
    backup = tmp_path / "backups" / "astroshield.backup"
    result = runner.invoke(cli, ["db", "backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert f"backup written to {backup} ({backup.stat().st_size} bytes)" in result.stderr


class _Stopped(datetime):
    """A clock stopped at new year 2030: key ids of its own, the same at every call."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _Stopped:
        return cls(2030, 1, 1, tzinfo=tz)


def _same_key_ids(monkeypatch: pytest.MonkeyPatch, clock: type[datetime], audit_id: str) -> None:
    monkeypatch.setattr("astroshield.cli.keys.datetime", clock)
    monkeypatch.setattr("astroshield.audit.keys.new_key_id", lambda now=None: audit_id)


@pytest.mark.parametrize(
    ("generate", "rotate"), [("jwt-generate", "jwt-rotate"), ("audit-generate", "audit-rotate")]
)
def test_key_rotation_prints_the_file_and_its_key_count(
    tmp_path: Path,
    database_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    generate: str,
    rotate: str,
) -> None:
    path = tmp_path / "keys.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", generate, str(path)]).exit_code == 0
    _same_key_ids(monkeypatch, _Stopped, "a-rotated")  # not the generated key's ids
    result = runner.invoke(cli, ["keys", rotate, str(path)])
    assert result.exit_code == 0, result.output
    assert f"wrote {path}: 2 keys; " in result.stderr


@pytest.mark.parametrize(
    ("generate", "rotate", "key_id"),
    [
        ("jwt-generate", "jwt-rotate", "k-20300101000000"),
        ("audit-generate", "audit-rotate", "a-same"),
    ],
)
def test_a_rotation_in_the_second_of_the_last_is_one_error_line_not_a_lost_key(
    tmp_path: Path,
    database_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    generate: str,
    rotate: str,
    key_id: str,
) -> None:
    _same_key_ids(monkeypatch, _Stopped, "a-same")
    path = tmp_path / "keys.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", generate, str(path)]).exit_code == 0
    before = path.read_bytes()
    result = runner.invoke(cli, ["keys", rotate, str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"astroshield: error: {path}: key id {key_id!r} is already in the key file; "
        "rotate again in a second\n"
    )
    assert path.read_bytes() == before  # the key that signed (or chained) is still there


def test_database_commands_say_what_comes_next(tmp_path: Path, database_env: Path) -> None:
    runner = CliRunner()

    def last_line(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == code, result.output
        return result.stderr.splitlines()[-1]

    assert last_line("db", "current", code=1) == "next: astroshield db upgrade"
    assert last_line("db", "upgrade").startswith("next: astroshield user create --email ")
    assert last_line("retention", "run", "--dry-run") == "next: astroshield retention run"
    result = runner.invoke(cli, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    written_to = get_settings().audit_checkpoint_file
    assert f"entries, written to {written_to}" in result.stderr
    assert written_to.is_file()
    assert result.stderr.splitlines()[-1] == "next: astroshield audit verify"
