from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from astroshield import __version__
from astroshield.cli import app as cli
from astroshield.config import get_settings


@pytest.fixture
def cli_database(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def test_version() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0 and result.output.strip() == __version__


async def test_db_commands(cli_database: str) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args))
        return result.exit_code, result.output

    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 1 and "(empty database)" in output  # not at head: non-zero for scripts
    code, _ = await asyncio.to_thread(run, "db", "upgrade")
    assert code == 0
    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 0
    revisions = dict(
        line.split(":", 1) for line in output.splitlines() if line.startswith(("current:", "head:"))
    )
    current, head = revisions["current"].strip(), revisions["head"].strip()

    assert current == head
    code, output = await asyncio.to_thread(run, "db", "seed")
    assert code == 0 and "seeded 8 spacecraft" in output
    code, output = await asyncio.to_thread(run, "db", "seed")
    assert code == 0 and "seeded 0 spacecraft" in output  # idempotent
    code, _ = await asyncio.to_thread(run, "db", "downgrade", "base")
    assert code == 0
    code, output = await asyncio.to_thread(run, "db", "current")
    assert code == 1 and "(empty database)" in output


# ----------------------------------------------------------------------- bad input files
#
# Every command that reads a user file answers bad input with one stderr line
# "astroshield: error: FILE[:LINE]: [FIELD: ]message" and exit status 2, never a traceback.

ISS_LINE1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_LINE2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
CSV_HEADER = (
    "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,"
    "ARG_OF_PERICENTER,MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,"
    "ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,MEAN_MOTION_DOT,MEAN_MOTION_DDOT"
)
MARIO_ROW = (
    "MARIO,1998-067UQ,2023-04-25T10:45:30.642912,15.99081912,.0014649,51.6242,216.2930,"
    "331.8976,28.1241,0,U,55123,999,1839,.1568E-2,.787702E-2,.29408E-3"
)
CRYOSAT_TLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "maneuvers"
CRYOSAT_TLE = CRYOSAT_TLE / "processed_files" / "CryoSat-2.tle"


def _with_checksum(body: str) -> str:
    from astroshield.astro.formats.tle import tle_checksum

    return body[:68] + str(tle_checksum(body[:68]))


def _iss_line2_with(first_column: int, text: str) -> str:
    return _with_checksum(
        ISS_LINE2[: first_column - 1] + text + ISS_LINE2[first_column - 1 + len(text) :]
    )


# case -> (file name, content (None: do not create; b"DIR": a directory), expected fragment
# after "astroshield: error: <path>")
BAD_FILES: dict[str, tuple[str, bytes | None, str]] = {
    "line too short": (
        "short.tle",
        f"{ISS_LINE1}\n{ISS_LINE2[:60]}\n".encode(),
        ":2: TLE line 2: length is 60 characters, expected 69",
    ),
    "letter in a number": (
        "letter.tle",
        f"{ISS_LINE1}\n{_iss_line2_with(9, ' 51.6X16')}\n".encode(),
        ":2: inclination: ' 51.6X16' is not a number (TLE line 2, columns 9-16)",
    ),
    "day 400": (
        "day400.tle",
        f"ISS\n{_with_checksum(ISS_LINE1[:18] + '08400' + ISS_LINE1[23:])}\n{ISS_LINE2}\n".encode(),
        ":2: epoch day: 400 is outside 1..366 (TLE line 1, columns 21-32)",
    ),
    "lines out of order": (
        "order.tle",
        f"{ISS_LINE2}\n{ISS_LINE1}\n".encode(),
        ":1: TLE line 2: line 2 without a preceding line 1 (column 1)"
        " (and 1 more unreadable element sets)",  # then line 1 without a line 2
    ),
    "inclination 200": (
        "inclined.tle",
        f"{ISS_LINE1}\n{_iss_line2_with(9, '200.0000')}\n".encode(),
        ":2: inclination: 200.0 deg is outside 0..180 (TLE line 2, columns 9-16)",
    ),
    "ragged CSV": (
        "ragged.csv",
        f"{CSV_HEADER}\r\nMARIO,1998-067UQ,2023-04-25T10:45:30\r\n".encode(),
        ":2: has 3 fields, header has 17",
    ),
    "eccentricity 1.5 in CSV": (
        "eccentric.csv",
        f"{CSV_HEADER}\r\n{MARIO_ROW.replace(',.0014649,', ',1.5,')}\r\n".encode(),
        ":2: ECCENTRICITY: 1.5 is not within 0 <= e < 1",
    ),
    "mean motion 18 in JSON": (
        "fast.json",
        b'[{"NORAD_CAT_ID": 5, "EPOCH": "2024-01-01T00:00:00", "MEAN_MOTION": 18,'
        b' "ECCENTRICITY": 0, "INCLINATION": 0, "RA_OF_ASC_NODE": 0, "ARG_OF_PERICENTER": 0,'
        b' "MEAN_ANOMALY": 0, "BSTAR": 0, "MEAN_MOTION_DOT": 0, "MEAN_MOTION_DDOT": 0}]',
        ":1: MEAN_MOTION: 18.0 rev/day is faster than any Earth orbit (at most 17)",
    ),
    "KVN that is not KVN": (
        "broken.kvn",
        b"CCSDS_OMM_VERS = 3.0\nthis is no keyword\n",
        ":2: 'this is no keyword' is not KEYWORD = value",
    ),
    "truncated XML": (
        "cut.xml",
        b"<ndm>\n<omm>\n<body>",
        ":3: body: truncated message: no element found",
    ),
    "UTF-16": (
        "wide.tle",
        f"{ISS_LINE1}\n{ISS_LINE2}\n".encode("utf-16"),
        ": is UTF-16 text; save it as UTF-8 (or ASCII)",
    ),
    "binary garbage": (
        "garbage.tle",
        bytes(range(256)) * 4,
        ":1: holds NUL bytes: binary (or UTF-16/32) data, not text",
    ),
    "not UTF-8": (
        "latin1.tle",
        "ÉTOILE\n".encode("latin-1"),
        ":1: byte 0xc9 in column 1 is not UTF-8 text",
    ),
    "empty file": ("empty.tle", b"", ": holds no element set"),
    "missing file": ("missing.tle", None, ": no such file"),
    "directory": ("folder.tle", b"DIR", ": is a directory, not a file"),
}


def _make(tmp_path: Path, case: str) -> tuple[Path, str]:
    name, content, expected = BAD_FILES[case]
    path = tmp_path / name
    if content == b"DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path, f"astroshield: error: {path}{expected}"


def _command(command: str, path: Path, tmp_path: Path) -> list[str]:
    start = ["--start", "2024-11-01T00:00:00Z"]
    return {
        "screen": ["screen", str(path), *start, "--output", str(tmp_path / "events.csv")],
        "maneuvers detect": ["maneuvers", "detect", str(path)],
        "propagate": [
            "propagate",
            str(path),
            *start,
            "--stop",
            "2024-11-01T01:00:00Z",
            "--output",
            str(tmp_path / "eph.oem"),
        ],
        "passes": ["passes", str(path), "--lat", "50", "--lon", "10", *start],
        "catalog import": ["catalog", "import", str(path)],
    }[command]


def _one_line_error(result: Result) -> str:
    """The single stderr line of a refused command (asserting that it is one)."""
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)  # not an exception escaping the command
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def database_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A database of its own (catalog import must not store anything from a bad file)."""
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.parametrize(
    "command", ["screen", "maneuvers detect", "propagate", "passes", "catalog import"]
)
def test_a_bad_file_is_one_error_line_and_exit_2(
    database_env: None, tmp_path: Path, command: str, case: str
) -> None:
    path, expected = _make(tmp_path, case)
    result = CliRunner().invoke(cli, _command(command, path, tmp_path))
    assert _one_line_error(result) == expected
    assert not (tmp_path / "cli.db").exists()  # nothing was stored (not even migrated)


@pytest.mark.parametrize("command", ["maneuvers detect", "catalog import"])
def test_a_partly_bad_history_skips_each_bad_set_with_a_warning_unless_strict(
    database_env: None, tmp_path: Path, command: str
) -> None:
    lines = CRYOSAT_TLE.read_text(encoding="utf-8").splitlines()[:40]  # 20 sets
    lines[5] = lines[5][:60]  # set 3, line 2 (file line 6): cut short
    lines[13] = _with_checksum(lines[13][:8] + "200.0000" + lines[13][16:])  # line 14
    path = tmp_path / "cryosat.tle"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = CliRunner().invoke(cli, _command(command, path, tmp_path))
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stderr.splitlines()[:3] == [
        f"astroshield: warning: {path}:6: TLE line 2: length is 60 characters, expected 69; "
        "element set skipped",
        f"astroshield: warning: {path}:14: inclination: 200.0 deg is outside 0..180 "
        "(TLE line 2, columns 9-16); element set skipped",
        f"astroshield: warning: {path}: 2 of 20 element sets skipped "
        "(--strict refuses the file instead)",
    ]
    assert "Traceback" not in result.stdout + result.stderr

    strict = CliRunner().invoke(cli, [*_command(command, path, tmp_path), "--strict"])
    assert _one_line_error(strict) == (
        f"astroshield: error: {path}:6: TLE line 2: length is 60 characters, expected 69"
    )


def _catalog_rows(*rows: str) -> str:
    return "\r\n".join([CSV_HEADER, *rows]) + "\r\n"


def test_screen_keeps_the_newest_of_a_repeated_object_unless_strict(tmp_path: Path) -> None:
    older = MARIO_ROW.replace("2023-04-25T10:45:30.642912", "2023-04-24T10:45:30")
    other = MARIO_ROW.replace(",55123,", ",55124,").replace("MARIO,", "OTHER,")
    path = tmp_path / "catalog.csv"
    path.write_text(_catalog_rows(older, other, MARIO_ROW), encoding="utf-8")
    args = [*_command("screen", path, tmp_path), "--start", "2023-04-25T12:00:00Z"]

    result = CliRunner().invoke(cli, [*args, "--workers", "1"])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stderr.splitlines()[:2] == [
        f"astroshield: warning: {path}:2: catalog number: 55123 appears again at line 4, "
        "whose epoch is newer; element set skipped",
        f"astroshield: warning: {path}: 1 of 3 element sets skipped "
        "(--strict refuses the file instead)",
    ]
    strict = CliRunner().invoke(cli, [*args, "--strict"])
    assert _one_line_error(strict) == (
        f"astroshield: error: {path}:2: catalog number: 55123 appears again at line 4, "
        "whose epoch is newer"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--primary", "99999"], "--primary: 99999 is not in {path}"),
        (["--primary", "I0001"], "--primary: catalog number 'I0001' is neither"),
        (["--start", "tomorrow"], "--start: 'tomorrow' is not an ISO 8601 time"),
        (["--output", "events.txt"], "--output: events.txt must end in .csv or .json"),
    ],
)
def test_screen_option_errors_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(_catalog_rows(MARIO_ROW), encoding="utf-8")
    result = CliRunner().invoke(cli, [*_command("screen", path, tmp_path), *args])
    assert _one_line_error(result).startswith("astroshield: error: " + expected.format(path=path))


def test_screening_needs_two_objects_and_detection_eight_sets_of_one(tmp_path: Path) -> None:
    catalog = tmp_path / "one.csv"
    catalog.write_text(_catalog_rows(MARIO_ROW), encoding="utf-8")
    result = CliRunner().invoke(cli, _command("screen", catalog, tmp_path))
    assert _one_line_error(result) == (
        f"astroshield: error: {catalog}: holds 1 object; screening needs at least 2"
    )

    lines = CRYOSAT_TLE.read_text(encoding="utf-8").splitlines()
    short = tmp_path / "short.tle"
    short.write_text("\n".join(lines[:6]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["maneuvers", "detect", str(short)])
    assert _one_line_error(result) == (
        f"astroshield: error: {short}: 3 readable element sets; maneuver detection needs at least 8"
    )

    mixed = tmp_path / "mixed.tle"
    mixed.write_text("\n".join([*lines[:20], ISS_LINE1, ISS_LINE2]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["maneuvers", "detect", str(mixed)])
    assert _one_line_error(result) == (
        f"astroshield: error: {mixed}:21: catalog number: 25544 is a second object; the "
        "history must be of one object (the first set is of 36508)"
    )


@pytest.mark.parametrize(
    ("case", "content", "expected"),
    [
        ("garbage", bytes(range(256)), ":1: holds NUL bytes: binary (or UTF-16/32) data"),
        ("utf-16", "CCSDS_CDM_VERS = 1.0\n".encode("utf-16"), ": is UTF-16 text"),
        ("empty", b"", ":1: CCSDS_CDM_VERS: empty message"),
        (
            "bad date",
            b"CCSDS_CDM_VERS = 1.0\nCREATION_DATE = yesterday\n",
            ":2: CREATION_DATE: bad epoch 'yesterday'",
        ),
        ("missing", None, ": no such file"),
    ],
)
def test_pc_refuses_a_bad_cdm_in_one_line(
    tmp_path: Path, case: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / f"{case}.cdm"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(cli, ["pc", str(path)])
    assert _one_line_error(result).startswith(f"astroshield: error: {path}{expected}")


def test_pc_reports_a_cdm_data_problem_as_one_warning_line() -> None:
    from tests.astro.paths import CDM_DATA

    path = CDM_DATA / "annex_example.kvn"
    result = CliRunner().invoke(cli, ["pc", str(path), "--samples", "2000"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    # The data problem, then what the Pc methods did about it (CARA remediation).
    warning, remediation = result.stderr.splitlines()
    assert warning.startswith(f"astroshield: warning: {path}:")
    assert ": CR_R: OBJECT1 " in warning and "not positive definite" in warning
    assert remediation.startswith(f"astroshield: warning: {path}: covariance remediated: ")
    assert "OBJECT1 6x6 covariance" in remediation


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, ": No such file or directory"),
        (b"DIR", ": is not a regular file"),
        (b"\xff\xfe\x00garbage", ": is not a valid key file: UnicodeDecodeError"),
        (b"[]", ": is not a valid key file: TypeError"),
    ],
)
def test_a_bad_jwt_key_file_is_one_error_line(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "jwt.json"
    if content == b"DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
        path.chmod(0o600)
    result = CliRunner().invoke(cli, ["keys", "jwt-rotate", str(path)])
    assert _one_line_error(result) == f"astroshield: error: {path}{expected}"


@pytest.mark.slow
def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    executable = Path(sys.executable).parent / "astroshield"
    for case in ("line too short", "UTF-16", "binary garbage", "ragged CSV"):
        path, expected = _make(tmp_path, case)
        completed = subprocess.run(
            [str(executable), "maneuvers", "detect", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert completed.returncode == 2
        assert completed.stderr.splitlines() == [expected]
        assert "Traceback" not in completed.stdout + completed.stderr


# ------------------------------------------------------------------------- usage errors
#
# Click's usage errors (unknown option, missing argument, value out of range, unknown
# command) are one line too, naming the help to read; a bare group still prints its help.


@pytest.mark.parametrize(
    ("args", "message", "command"),
    [
        (["catalog", "import", "--bogus"], "No such option: --bogus", "catalog import"),
        (["passes"], "Missing argument 'tle_file'.", "passes"),
        (
            ["propagate", "x.tle", "--step", "0"],
            "Invalid value for '--step': Input should be greater than or equal to 0.001",
            "propagate",
        ),
        (["frobnicate"], "No such command 'frobnicate'.", ""),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], message: str, command: str) -> None:
    result = CliRunner().invoke(cli, args, prog_name="astroshield")
    help_command = " ".join(["astroshield", command]) if command else "astroshield"
    assert _one_line_error(result) == (
        f"astroshield: error: {message} (try '{help_command} --help')"
    )


def test_a_bare_group_prints_its_help() -> None:
    result = CliRunner().invoke(cli, ["db"], prog_name="astroshield")
    assert result.exit_code == 2
    assert "Usage: astroshield db" in result.output and "upgrade" in result.output
    assert "error" not in result.output


@pytest.mark.slow
def test_the_installed_command_prints_a_usage_error_in_one_line() -> None:
    executable = Path(sys.executable).parent / "astroshield"
    completed = subprocess.run(
        [str(executable), "catalog", "import", "--bogus"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        "astroshield: error: No such option: --bogus (try 'astroshield catalog import --help')"
    ]


# ------------------------------------------------------------------ key files, accounts


@pytest.mark.parametrize(
    ("content", "mode", "expected"),
    [
        (None, 0o600, ": No such file or directory"),
        (b"DIR", 0o700, ": is not a regular file"),
        (b"\xff\xfe\x00garbage", 0o600, ": is not valid UTF-8 JSON"),
        (b"[]", 0o600, ": expected a JSON object with 'active' and 'keys'"),
        (b'{"active": "a", "keys": {}}', 0o644, ": has mode 0644: it must not be readable"),
    ],
)
def test_a_bad_audit_key_file_is_one_error_line(
    tmp_path: Path, content: bytes | None, mode: int, expected: str
) -> None:
    path = tmp_path / "audit.json"
    if content == b"DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
        path.chmod(mode)
    result = CliRunner().invoke(cli, ["keys", "audit-rotate", str(path)])
    assert _one_line_error(result).startswith(f"astroshield: error: {path}{expected}")


async def test_an_organisation_slug_that_cannot_be_created_is_one_invalid_line(
    cli_database: str,
) -> None:
    args = ["user", "create", "--email", "first@example.com", "--organisation", "Bad Slug"]
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        [*args, "--password-stdin"],
        input="correct horse battery staple 42\n",
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert (
        "invalid: ('slug',): String should match pattern '^[a-z0-9][a-z0-9-]*[a-z0-9]$'"
        in result.output
    )
