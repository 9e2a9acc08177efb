"""Archive element sets with blanks in the international designator and BSTAR (or the second
derivative of mean motion) written as a signed seven-digit number: read as the reference
parsers read them (``sgp4.io.twoline2rv`` and the C++ ``Satrec.twoline2rv``), refused where
those cannot read them or disagree, and a set that still cannot be read costs only itself in
a history. The sets are written here."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sgp4.api import WGS72, Satrec, jday
from sgp4.earth_gravity import wgs72
from sgp4.io import twoline2rv
from tests.catalog.conftest import CRYOSAT_TLE, tle_head
from typer.testing import CliRunner

from astroshield.astro.dynamics.elements import to_satrec
from astroshield.astro.formats.element_files import read_element_set_file
from astroshield.astro.formats.tle import TLEError, format_tle, parse_tle, tle_checksum
from astroshield.cli import app as cli

ISS_LINE1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_LINE2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"


def _replaced(line: str, first_column: int, text: str) -> str:
    """``line`` with ``text`` from 1-based ``first_column``, with a correct checksum."""
    body = line[: first_column - 1] + text + line[first_column - 1 + len(text) : 68]
    return body + str(tle_checksum(body))


@pytest.mark.parametrize(
    "bstar",
    [
        "+0001200",  # 0.00012 x 10^00: a plain decimal with five places
        "-0000800",
        "-1234504",  # a two-digit exponent: -0.12345e4
        "+1234509",  # the largest exponent a canonical line can hold
        "-123454 ",  # exponent digit then a blank
        "-1234 4 ",  # trailing blank in the mantissa too
        "-0000000",
        "12345601",  # a digit in the sign column is the integer part: 12.3456
    ],
)
def test_bstar_forms_read_as_both_reference_parsers_read_them(bstar: str) -> None:
    line1 = _replaced(ISS_LINE1, 54, bstar)
    ours = parse_tle(line1, ISS_LINE2).elements.bstar_per_earth_radius
    c_reference = Satrec.twoline2rv(line1, ISS_LINE2).bstar
    python_reference = twoline2rv(line1, ISS_LINE2, wgs72).bstar
    assert c_reference == pytest.approx(python_reference, rel=1e-12)
    assert ours == pytest.approx(c_reference, rel=1e-12, abs=0.0)
    # Written back canonically: the exponent form, read the same by the reference.
    written = format_tle(parse_tle(line1, ISS_LINE2).elements).line1
    assert re.fullmatch(r"[ -]\d{5}[+-]\d", written[53:61]), written
    assert Satrec.twoline2rv(written, ISS_LINE2).bstar == pytest.approx(ours, rel=1e-4)


@pytest.mark.parametrize(
    "bstar",
    [
        "-12345  ",  # no exponent: sgp4.io refuses it
        "-123 5 4",  # a blank inside the mantissa: sgp4.io refuses it
        "-1234-56",  # sgp4.io refuses it
        "-1x34504",
    ],
)
def test_bstar_forms_the_python_reference_refuses_are_refused(bstar: str) -> None:
    line1 = _replaced(ISS_LINE1, 54, bstar)
    with pytest.raises(ValueError, match=r"could not convert|invalid literal"):
        twoline2rv(line1, ISS_LINE2, wgs72)
    with pytest.raises(TLEError, match=r"^line 1, columns 54-61: BSTAR "):
        parse_tle(line1, ISS_LINE2)


@pytest.mark.parametrize("bstar", [" 0012345", " 123454 "])
def test_bstar_forms_the_reference_parsers_disagree_on_are_refused(bstar: str) -> None:
    # A blank sign: the C++ parser reads six mantissa digits, sgp4.io five.
    line1 = _replaced(ISS_LINE1, 54, bstar)
    assert Satrec.twoline2rv(line1, ISS_LINE2).bstar != pytest.approx(
        twoline2rv(line1, ISS_LINE2, wgs72).bstar, rel=1e-6
    )
    with pytest.raises(TLEError, match=r"reference parsers read it differently"):
        parse_tle(line1, ISS_LINE2)


@pytest.mark.parametrize("bstar", ["-1234512", "12345678"])
def test_bstar_no_tle_line_can_hold_is_refused(bstar: str) -> None:
    line1 = _replaced(ISS_LINE1, 54, bstar)
    assert abs(twoline2rv(line1, ISS_LINE2, wgs72).bstar) > 1e9  # read, but unwritable
    with pytest.raises(TLEError, match=r"BSTAR .* beyond the largest value a TLE holds"):
        parse_tle(line1, ISS_LINE2)


# sgp4 keeps the second derivative in rad/min³; the TLE field is rev/day³ (divided by 6).
_NDDOT_RAD_MIN3_TO_REV_DAY3 = 1440.0**3 / (2.0 * math.pi)


@pytest.mark.parametrize(
    "ddot",
    [
        " 12345-4",  # the canonical form
        "-12345-4",
        " 1234 -4",  # a trailing blank in the mantissa
        " 12345 4",  # a blank exponent sign
        "+0001200",  # a plain decimal with five places
        "-0000800",
        "-1234504",  # signed seven digits with a two-digit exponent: -0.12345e4
        "+1234509",
        "-0000000",
    ],
)
def test_ddot_forms_read_as_both_reference_parsers_read_them(ddot: str) -> None:
    line1 = _replaced(ISS_LINE1, 45, ddot)
    ours = parse_tle(line1, ISS_LINE2).elements.mean_motion_ddot_rev_per_day3
    c_reference = Satrec.twoline2rv(line1, ISS_LINE2).nddot
    python_reference = twoline2rv(line1, ISS_LINE2, wgs72).nddot
    assert c_reference == pytest.approx(python_reference, rel=1e-12)
    assert ours == pytest.approx(c_reference * _NDDOT_RAD_MIN3_TO_REV_DAY3, rel=1e-12, abs=0.0)
    # Written back canonically, read the same by the reference.
    written = format_tle(parse_tle(line1, ISS_LINE2).elements).line1
    assert re.fullmatch(r"[ -]\d{5}[+-]\d", written[44:52]), written
    assert Satrec.twoline2rv(written, ISS_LINE2).nddot == pytest.approx(
        c_reference, rel=1e-4, abs=1e-30
    )


def test_blank_ddot_reads_as_zero_like_the_c_parser() -> None:
    line1 = _replaced(ISS_LINE1, 45, " " * 8)
    assert Satrec.twoline2rv(line1, ISS_LINE2).nddot == 0.0
    assert parse_tle(line1, ISS_LINE2).elements.mean_motion_ddot_rev_per_day3 == 0.0
    assert format_tle(parse_tle(line1, ISS_LINE2).elements).line1[44:52] == " 00000-0"


@pytest.mark.parametrize(
    ("ddot", "why"),
    [
        ("-12345  ", "no exponent: sgp4.io refuses it"),
        ("-123 5 4", "a blank inside the mantissa: sgp4.io refuses it"),
        ("-1234-56", "sgp4.io refuses it"),
        ("-123454 ", "the C++ parser reads the blank as a zero: exponent 40"),
        ("12345601", "a digit in the sign column: the parsers disagree"),
        (" 0012345", "a blank sign before two exponent digits: the parsers disagree"),
    ],
)
def test_ddot_forms_either_reference_refuses_or_they_disagree_on_are_refused(
    ddot: str, why: str
) -> None:
    line1 = _replaced(ISS_LINE1, 45, ddot)
    try:
        python_reference: float | None = twoline2rv(line1, ISS_LINE2, wgs72).nddot
    except ValueError:
        python_reference = None
    c_reference = Satrec.twoline2rv(line1, ISS_LINE2).nddot
    assert python_reference is None or c_reference != pytest.approx(python_reference), why
    with pytest.raises(TLEError, match=r"^line 1, columns 45-52: mean motion second derivative"):
        parse_tle(line1, ISS_LINE2)


def _reference_designator(intldesg: str) -> str | None:
    """The COSPAR id from the reference's designator text split at the format's columns
    (year 10-11, launch 12-14, piece 15-17), blanks in the numbers read as zeros."""
    if not intldesg.strip():
        return None
    padded = intldesg.ljust(8)
    year = int(padded[:2].replace(" ", "0"))
    number = int(padded[2:5].replace(" ", "0"))
    century = 1900 if year >= 57 else 2000
    return f"{century + year}-{number:03d}{padded[5:].strip()}"


@pytest.mark.parametrize("designator", ["98067 A ", " 8067A  ", "98 67A  ", "98067  A", "        "])
def test_designator_blanks_read_as_the_reference_reads_the_columns(designator: str) -> None:
    line1 = _replaced(ISS_LINE1, 10, designator)
    reference = Satrec.twoline2rv(line1, ISS_LINE2).intldesg
    assert reference == twoline2rv(line1, ISS_LINE2, wgs72).intldesg == designator.rstrip()
    elements = parse_tle(line1, ISS_LINE2).elements
    assert elements.object_id == _reference_designator(reference)
    written = format_tle(elements).line1[9:17]  # canonical: no blank inside
    assert written.rstrip() == written.strip() and " " not in written.strip()


def _quirky_set() -> tuple[str, str]:
    line1 = _replaced(_replaced(ISS_LINE1, 10, "98067 A "), 54, "-0000100")
    return line1, ISS_LINE2


def test_whole_quirky_set_propagates_as_the_reference_does() -> None:
    line1, line2 = _quirky_set()
    elements = parse_tle(line1, line2).elements
    assert elements.object_id == "1998-067A"
    ours, reference = to_satrec(elements), Satrec.twoline2rv(line1, line2, WGS72)
    for hours in (0.0, 6.0, 24.0, 72.0):
        moment = elements.epoch + timedelta(hours=hours)
        whole, fraction = jday(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second + moment.microsecond / 1e6,
        )
        error_ours, position_ours, _ = ours.sgp4(whole, fraction)
        error_ref, position_ref, _ = reference.sgp4(whole, fraction)
        assert error_ours == error_ref == 0
        for a, b in zip(position_ours, position_ref, strict=True):
            assert a == pytest.approx(b, abs=1e-6)  # km: 1 mm


def _quirky_history(tmp_path: Path) -> Path:
    """Twelve CryoSat-2 sets: every line 1 with a blank-split designator and seven-digit
    BSTAR, and set 4 with a broken checksum."""
    lines = tle_head(CRYOSAT_TLE, 12).splitlines()
    for index in range(0, len(lines), 2):
        line1 = _replaced(_replaced(lines[index], 10, "10013 A "), 54, "+0000500")
        lines[index] = line1
    lines[6] = lines[6][:-1] + str((int(lines[6][-1]) + 1) % 10)
    path = tmp_path / "cryosat_quirks.tle"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_history_keeps_quirky_sets_and_skips_the_unreadable_one(tmp_path: Path) -> None:
    path = _quirky_history(tmp_path)
    parsed = read_element_set_file(path)
    assert len(parsed.sets) == 11
    assert [(p.line, p.field) for p in parsed.skipped] == [(7, "checksum")]
    assert {item.object_id for item in parsed.sets} == {"2010-013A"}
    assert {item.bstar_per_earth_radius for item in parsed.sets} == {
        twoline2rv(path.read_text().splitlines()[0], path.read_text().splitlines()[1], wgs72).bstar
    }


def test_maneuvers_detect_reads_a_quirky_history(tmp_path: Path) -> None:
    path = _quirky_history(tmp_path)
    result = CliRunner().invoke(cli, ["maneuvers", "detect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout[result.stdout.index("[") :]), list)
    assert f"{path}: 1 of 12 element sets skipped" in result.stderr
