"""TLE parsing, validation messages, Alpha-5 and writing.

Reference element sets:
* ISS example of the Wikipedia "Two-line element set" article (also python-sgp4's README),
* MARIO from CelesTrak gp.php?CATNR=55123 (copied in python-sgp4 2.27 tests.py),
* Vallado's SGP4-VER.TLE shipped in the sgp4 wheel.
Expected field values are read off the TLE text by hand (column layout from the Space-Track
"Basic description of the TLE format"), not produced by this code.
"""

from __future__ import annotations

import io
import math
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources

import pytest
from sgp4.api import Satrec

from astroshield.astro.formats.tle import (
    TLE,
    TLEError,
    format_tle,
    iter_tles,
    parse_tle,
    scan_tles,
    tle_checksum,
)

ISS_LINE1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_LINE2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
MARIO_TLE = """\
MARIO
1 55123U 98067UQ  23115.44827133  .00787702  29408-3  15680-2 0  9999
2 55123  51.6242 216.2930 0014649 331.8976  28.1241 15.99081912 18396
"""


def _with_checksum(body: str) -> str:
    return body + str(tle_checksum(body))


def test_iss_fields_match_the_text() -> None:
    tle = parse_tle(ISS_LINE1, ISS_LINE2, "ISS (ZARYA)")
    elements = tle.elements
    assert elements.catalog_number == "25544"
    assert elements.object_id == "1998-067A"
    assert elements.object_name == "ISS (ZARYA)"
    assert elements.classification == "U"
    # Day 264 of 2008 is 20 September; 0.51782528 d = 44740.104192 s = 12:25:40.104192.
    assert elements.epoch == datetime(2008, 9, 20, 12, 25, 40, 104192, tzinfo=UTC)
    assert elements.mean_motion_dot_rev_per_day2 == -0.00002182
    assert elements.mean_motion_ddot_rev_per_day3 == 0.0
    assert elements.bstar_per_earth_radius == -0.11606e-4
    assert elements.ephemeris_type == 0
    assert elements.element_set_number == 292
    assert elements.inclination_deg == 51.6416
    assert elements.ra_of_asc_node_deg == 247.4627
    assert elements.eccentricity == 0.0006703
    assert elements.arg_of_pericenter_deg == 130.5360
    assert elements.mean_anomaly_deg == 325.0288
    assert elements.mean_motion_rev_per_day == 15.72125391
    assert elements.rev_at_epoch == 56353


def test_satrec_comes_from_twoline2rv() -> None:
    tle = parse_tle(ISS_LINE1, ISS_LINE2)
    reference = Satrec.twoline2rv(ISS_LINE1, ISS_LINE2)
    satrec = tle.satrec()
    assert (satrec.jdsatepoch, satrec.jdsatepochF) == (
        reference.jdsatepoch,
        reference.jdsatepochF,
    )
    assert satrec.sgp4(2454730.5, 0.25) == reference.sgp4(2454730.5, 0.25)


def test_write_reproduces_the_lines() -> None:
    for line1, line2 in [(ISS_LINE1, ISS_LINE2), tuple(MARIO_TLE.splitlines()[1:])]:
        tle = parse_tle(line1, line2)
        written = format_tle(tle.elements)
        assert (written.line1, written.line2) == (line1, line2)
        assert written.elements == tle.elements


def test_vallado_sets_round_trip_through_the_writer() -> None:
    text = (resources.files("sgp4") / "SGP4-VER.TLE").read_text(encoding="ascii")
    lines = [line[:69] for line in text.splitlines() if line[:2] in ("1 ", "2 ")]
    count = 0
    for line1, line2 in zip(lines[::2], lines[1::2], strict=True):
        if line1[2:7] == "33333":
            # An edited set (e = 0.995) whose perigee is 84 km from the Earth's centre.
            with pytest.raises(TLEError, match=r"eccentricity 0\.995 .* below the Earth's surface"):
                parse_tle(line1, line2, verify_checksum=False)
            continue
        tle = parse_tle(line1, line2, verify_checksum=False)
        assert format_tle(tle.elements).elements == tle.elements
        count += 1
    assert count == 32


def test_three_line_file_with_names_and_blank_lines() -> None:
    text = (
        f"0 ISS (ZARYA)\r\n{ISS_LINE1}\r\n{ISS_LINE2}\r\n\r\n{MARIO_TLE}{ISS_LINE1}\n{ISS_LINE2}\n"
    )
    tles = list(iter_tles(text))
    assert [tle.name for tle in tles] == ["ISS (ZARYA)", "MARIO", None]
    assert [tle.elements.catalog_number for tle in tles] == ["25544", "55123", "25544"]
    assert tles[0].lines() == ["ISS (ZARYA)", ISS_LINE1, ISS_LINE2]
    # An open text file (an iterable of lines with their newlines) reads the same.
    assert list(iter_tles(io.StringIO(text, newline=""))) == tles


def test_alpha5_catalog_numbers_parse_and_write() -> None:
    # Alpha-5: A=10 ... skipping I and O, so A0001 = 100001 and T0002 = 270002.
    for alpha5, canonical in [("A0001", "100001"), ("T0002", "270002"), ("Z9999", "339999")]:
        line1 = _with_checksum(
            f"1 {alpha5}U 24001A   24001.50000000  .00000000  00000-0  10000-3 0  999"
        )
        line2 = _with_checksum(
            f"2 {alpha5}  51.6000 100.0000 0001000  90.0000 270.0000 15.50000000   10"
        )
        tle = parse_tle(line1, line2)
        assert tle.elements.catalog_number == canonical
        assert format_tle(tle.elements).line1 == line1
        # python-sgp4 decodes Alpha-5 on its own; both readings must agree.
        assert tle.satrec().satnum == int(canonical)


def test_catalog_number_beyond_alpha5_cannot_be_written() -> None:
    elements = parse_tle(ISS_LINE1, ISS_LINE2).elements
    too_big = replace(elements, catalog_number="340000")
    with pytest.raises(TLEError, match="does not fit the 5-character TLE field"):
        format_tle(too_big)


def test_epoch_that_rounds_into_the_next_year() -> None:
    elements = parse_tle(ISS_LINE1, ISS_LINE2).elements
    late = replace(elements, epoch=datetime(2024, 12, 31, 23, 59, 59, 999_900, tzinfo=UTC))
    assert format_tle(late).line1[18:32] == "25001.00000000"


def test_bad_checksum_names_line_and_column() -> None:
    bad = ISS_LINE2[:68] + "3"
    with pytest.raises(TLEError) as caught:
        parse_tle(ISS_LINE1, bad)
    # The published line ends in 7, its correct checksum.
    assert str(caught.value) == "line 2, column 69: checksum 3 expected 7"
    assert caught.value.line == 2
    assert caught.value.columns == (69, 69)


def test_wrong_line_length() -> None:
    with pytest.raises(TLEError, match=r"^line 1: length is 68 characters, expected 69$"):
        parse_tle(ISS_LINE1[:68], ISS_LINE2)


def test_catalog_number_mismatch() -> None:
    line2 = _with_checksum("2 25545" + ISS_LINE2[7:68])
    with pytest.raises(
        TLEError,
        match=r"^line 2, columns 3-7: catalog number '25544' on line 1 does not match '25545'",
    ):
        parse_tle(ISS_LINE1, line2)


def test_wrong_line_number_digit() -> None:
    with pytest.raises(TLEError, match=r"^line 2, column 1: line number digit is '3'"):
        parse_tle(ISS_LINE1, "3" + ISS_LINE2[1:])


def test_unparsable_fields() -> None:
    bad_inclination = _with_checksum(ISS_LINE2[:8] + " 51.6X16" + ISS_LINE2[16:68])
    with pytest.raises(TLEError, match=r"^line 2, columns 9-16: inclination ' 51.6X16'"):
        parse_tle(ISS_LINE1, bad_inclination)
    bad_bstar = _with_checksum(ISS_LINE1[:53] + "-1160x-4" + ISS_LINE1[61:68])
    with pytest.raises(TLEError, match=r"^line 1, columns 54-61: BSTAR '-1160x-4'"):
        parse_tle(bad_bstar, ISS_LINE2)
    bad_eccentricity = _with_checksum(ISS_LINE2[:26] + "00067a3" + ISS_LINE2[33:68])
    with pytest.raises(TLEError, match=r"^line 2, columns 27-33: eccentricity '00067a3'"):
        parse_tle(ISS_LINE1, bad_eccentricity)
    bad_day = _with_checksum(ISS_LINE1[:20] + "367.51782528" + ISS_LINE1[32:68])
    with pytest.raises(TLEError, match=r"^line 1, columns 21-32: epoch day 367 is outside 1..366"):
        parse_tle(bad_day, ISS_LINE2)


def test_out_of_range_values_are_located() -> None:
    zero_mean_motion = _with_checksum(ISS_LINE2[:52] + " 0.00000000" + ISS_LINE2[63:68])
    with pytest.raises(
        TLEError, match=r"^line 2, columns 53-63: mean motion 0.0 rev/day must be positive$"
    ):
        parse_tle(ISS_LINE1, zero_mean_motion)
    not_a_number = _with_checksum(ISS_LINE2[:8] + "     nan" + ISS_LINE2[16:68])
    with pytest.raises(TLEError, match=r"^line 2, columns 9-16: inclination nan is not"):
        parse_tle(ISS_LINE1, not_a_number)


@pytest.mark.parametrize(
    ("columns", "text", "field", "message"),
    [
        ((9, 16), "200.0000", "inclination", r"200.0 deg is outside 0..180"),
        ((9, 16), "-10.0000", "inclination", r"-10.0 deg is outside 0..180"),
        ((18, 25), "400.0000", "right ascension of node", r"400.0 deg is outside -360..360"),
        ((35, 42), "999.9999", "argument of perigee", r"999.9999 deg is outside -360..360"),
        ((44, 51), "  inf   ", "mean anomaly", r"inf is not a finite number"),
        ((53, 63), "18.00000000", "mean motion", r"18.0 rev/day is faster than any Earth orbit"),
        ((53, 63), "-1.00000000", "mean motion", r"-1.0 rev/day must be positive"),
        ((27, 33), "7000000", "eccentricity", r"0.7 with mean motion .* below the Earth"),
    ],
)
def test_physically_impossible_elements_name_the_field(
    columns: tuple[int, int], text: str, field: str, message: str
) -> None:
    first, last = columns
    line2 = _with_checksum(ISS_LINE2[: first - 1] + text + ISS_LINE2[last:68])
    with pytest.raises(TLEError, match=f"^line 2, columns {first}-{last}: {field} {message}"):
        parse_tle(ISS_LINE1, line2)
    with pytest.raises(TLEError) as caught:
        parse_tle(ISS_LINE1, line2)
    assert (caught.value.line, caught.value.columns, caught.value.field) == (2, columns, field)


def test_non_ascii_characters_are_rejected() -> None:
    with pytest.raises(TLEError, match=r"^line 2, column 10: non-ASCII character '٥'"):
        parse_tle(ISS_LINE1, ISS_LINE2[:9] + "٥" + ISS_LINE2[10:])


def test_bad_catalog_number_field() -> None:
    line1 = _with_checksum("1 I0001" + ISS_LINE1[7:68])
    with pytest.raises(TLEError, match=r"^line 1, columns 3-7: catalog number 'I0001'"):
        parse_tle(line1, ISS_LINE2)


def test_file_errors_carry_the_file_line() -> None:
    text = f"ISS\n{ISS_LINE1}\n{ISS_LINE2}\nBROKEN\n{ISS_LINE1}\n{ISS_LINE2[:68]}0\n"
    parsed = iter_tles(text)
    assert next(parsed).name == "ISS"
    with pytest.raises(TLEError, match=r"^file line 6, line 2, column 69: checksum 0 expected 7$"):
        next(parsed)
    with pytest.raises(TLEError, match=r"^file line 1, line 2, column 1: line 2 without"):
        list(iter_tles(f"{ISS_LINE2}\n"))
    with pytest.raises(TLEError, match=r"^file line 1, line 1: line 1 at end of input"):
        list(iter_tles(f"{ISS_LINE1}\n"))


def _field_replaced(line: str, first_column: int, text: str) -> str:
    """``line`` (without checksum) with ``text`` from 1-based ``first_column``, re-checksummed."""
    body = line[: first_column - 1] + text + line[first_column - 1 + len(text) : 68]
    return _with_checksum(body)


# Legal variants found in archive files. The expected values come from the two reference
# parsers (the C++ Satrec.twoline2rv and the pure-Python sgp4.io.twoline2rv), compared below;
# a blank second derivative is read (as zero) by the C++ parser only.
QUIRKY_FORMS = [
    # (what, line number (0: both), first column, text)
    ("BSTAR with a '+' sign", 1, 54, "+11606-4"),
    ("BSTAR with a blank sign", 1, 54, " 11606-4"),
    ("BSTAR with a blank exponent sign", 1, 54, "-11606 4"),
    ("BSTAR with a '+' exponent sign", 1, 54, "-11606+1"),
    ("BSTAR mantissa with a trailing blank", 1, 54, "-1160 -4"),
    ("second derivative with trailing blanks", 1, 45, " 123  -5"),
    ("second derivative all blank", 1, 45, "        "),
    ("eccentricity with leading blanks", 2, 27, "  06703"),
    ("eccentricity with trailing blanks", 2, 27, "00067  "),
    ("eccentricity all blank", 2, 27, "       "),
    ("blank-padded day of year", 1, 19, "08  1.51782528"),
    ("catalog number padded with blanks", 0, 3, "    5"),
]


@pytest.mark.parametrize(("what", "line", "column", "text"), QUIRKY_FORMS)
def test_legal_variants_read_as_the_reference_parsers_read_them(
    what: str, line: int, column: int, text: str
) -> None:
    from sgp4.earth_gravity import wgs72
    from sgp4.io import twoline2rv

    line1, line2 = ISS_LINE1, ISS_LINE2
    if line in (0, 1):
        line1 = _field_replaced(line1, column, text)
    if line in (0, 2):
        line2 = _field_replaced(line2, column, text)
    elements = parse_tle(line1, line2).elements
    references = [Satrec.twoline2rv(line1, line2)]
    if text.strip():
        references.append(twoline2rv(line1, line2, wgs72))
    for reference in references:
        assert elements.bstar_per_earth_radius == pytest.approx(reference.bstar, rel=1e-12), what
        assert elements.eccentricity == reference.ecco, what
        # sgp4 stores the second derivative in rad/min³; ours is rev/day³ as written.
        assert elements.mean_motion_ddot_rev_per_day3 * 2 * math.pi / 1440.0**3 == (
            pytest.approx(reference.nddot, rel=1e-12, abs=1e-30)
        ), what
    satrec = parse_tle(line1, line2).satrec()
    assert (satrec.jdsatepoch, satrec.jdsatepochF) == (
        Satrec.twoline2rv(line1, line2).jdsatepoch,
        Satrec.twoline2rv(line1, line2).jdsatepochF,
    )


@pytest.mark.parametrize(
    ("designator", "expected"),
    [
        ("98 67A  ", "1998-067A"),  # blank inside the launch number
        ("58  2B  ", "1958-002B"),  # a right-aligned launch number
        (" 8067A  ", "2008-067A"),  # a blank-padded year
        ("        ", None),
        ("XX@#A   ", None),  # unreadable: dropped, the set is kept (SGP4 does not use it)
    ],
)
def test_international_designator_with_blanks_inside(designator: str, expected: str) -> None:
    line1 = _field_replaced(ISS_LINE1, 10, designator)
    assert Satrec.twoline2rv(line1, ISS_LINE2).intldesg == designator.rstrip()  # accepted there
    assert parse_tle(line1, ISS_LINE2).elements.object_id == expected


def test_day_366_of_a_common_year_is_the_first_of_the_next() -> None:
    line1 = _field_replaced(ISS_LINE1, 19, "07366.50000000")
    elements = parse_tle(line1, ISS_LINE2).elements
    assert elements.epoch == datetime(2008, 1, 1, 12, tzinfo=UTC)
    reference = Satrec.twoline2rv(line1, ISS_LINE2)
    assert (
        reference.jdsatepoch + reference.jdsatepochF
        == parse_tle(line1, ISS_LINE2).satrec().jdsatepoch
        + parse_tle(line1, ISS_LINE2).satrec().jdsatepochF
    )


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        (19, "08400.51782528", r"columns 21-32: epoch day 400 is outside 1\.\.366"),
        (54, "        ", r"columns 54-61: BSTAR '        ' is not in the TLE"),  # C++: NaN
        (54, "- 1606-4", r"columns 54-61: BSTAR '- 1606-4' is not in the TLE"),  # blank digit
        (54, "-1160-14", r"columns 54-61: BSTAR '-1160-14' is not in the TLE"),  # 2-digit exp.
        (21, "2X4.51782528", r"columns 21-32: epoch day '2X4.51782528' is not a day of year"),
    ],
)
def test_malformed_fields_are_refused_with_their_columns(
    column: int, text: str, message: str
) -> None:
    with pytest.raises(TLEError, match=f"^line 1, {message}"):
        parse_tle(_field_replaced(ISS_LINE1, column, text), ISS_LINE2)


def test_scan_resumes_after_a_bad_set_with_one_error_each() -> None:
    bad_day = _field_replaced(ISS_LINE1, 19, "08400.51782528")
    text = "\n".join(
        [
            "ISS",
            ISS_LINE1,
            ISS_LINE2,
            ISS_LINE2,  # line 5: a line 2 out of order
            "BROKEN",
            bad_day,  # line 7: day 400
            ISS_LINE2,
            "MARIO",
            *MARIO_TLE.splitlines()[1:],
            ISS_LINE1[:60],  # line 12: too short, and no line 2 follows
        ]
    )
    scanned = list(scan_tles(text))
    assert [(line, type(item).__name__) for line, item in scanned] == [
        (2, "TLE"),
        (4, "TLEError"),
        (6, "TLEError"),
        (9, "TLE"),
        (11, "TLEError"),
    ]
    errors = [item for _, item in scanned if isinstance(item, TLEError)]
    assert [(e.file_line, e.line, e.field) for e in errors] == [
        (4, 2, None),
        (6, 1, "epoch day"),
        (11, 1, None),
    ]
    assert [item.name for _, item in scanned if isinstance(item, TLE)] == ["ISS", "MARIO"]


def test_a_shifted_field_is_refused_at_the_separator_column() -> None:
    from sgp4.earth_gravity import wgs72
    from sgp4.io import twoline2rv

    # The mean anomaly one column to the left: float() would read both fields "fine".
    shifted = _with_checksum(ISS_LINE2[:42] + "325.0288 " + ISS_LINE2[51:68])
    with pytest.raises(TLEError, match=r"^line 2, column 43: column 43 separates two fields"):
        parse_tle(ISS_LINE1, shifted)
    with pytest.raises(ValueError, match="TLE format error"):
        twoline2rv(ISS_LINE1, shifted, wgs72)  # the reference refuses it too
