"""Element-set files as the commands read them: format by suffix or content, one located
problem per unreadable set (skipped, or refused with ``strict``), and a one-line refusal for a
file that cannot be used at all. Data: slices of the CelesTrak snapshot and of the CryoSat-2
TLE history in ../shared/data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.catalog.conftest import CRYOSAT_TLE, csv_head, tle_head, tle_sets

from astroshield.astro.formats.element_files import (
    ElementFileError,
    InputProblem,
    read_element_set_file,
)
from astroshield.astro.formats.omm import (
    format_omm_json,
    format_omm_kvn,
    format_omm_xml,
    parse_omm_csv,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_tle_file_keeps_good_sets_around_bad_ones(tmp_path: Path) -> None:
    good = tle_sets(CRYOSAT_TLE, 6)
    lines = tle_head(CRYOSAT_TLE, 6).splitlines()
    lines[2] = lines[2][:-1] + str((int(lines[2][-1]) + 1) % 10)  # set 2 line 1: checksum
    lines[9] = "2 99999" + lines[9][7:]  # set 5 line 2: another object's number
    lines.insert(6, "NAME WITHOUT A SET")  # before set 4's line 1: read as its name
    parsed = read_element_set_file(_write(tmp_path / "mixed.tle", "\n".join(lines)))

    assert [item.epoch for item in parsed.sets] == [good[i].epoch for i in (0, 2, 3, 5)]
    assert parsed.sets[2].object_name == "NAME WITHOUT A SET"
    assert parsed.lines == [1, 5, 8, 12]
    source = str(tmp_path / "mixed.tle")
    assert [(p.source, p.line, p.field) for p in parsed.skipped] == [
        (source, 3, "checksum"),
        (source, 11, "checksum"),
    ]
    assert str(parsed.skipped[0]).startswith(f"{source}:3: checksum: ")
    assert str(parsed.skipped[0]).endswith("(TLE line 1, column 69)")


def test_csv_file_skips_only_the_bad_rows_naming_their_line(tmp_path: Path) -> None:
    lines = csv_head(10).splitlines()
    fields = lines[4].split(",")
    fields[4] = "1.5"  # row 4 (file line 5): eccentricity >= 1
    lines[4] = ",".join(fields)
    lines[7] = "a,b,c"  # row 7 (file line 8): ragged
    parsed = read_element_set_file(
        _write(tmp_path / "snap.csv", "\r\n".join(lines) + "\r\n"), source="snap.csv"
    )

    assert len(parsed.sets) == 8
    assert [str(p) for p in parsed.skipped] == [
        "snap.csv:5: ECCENTRICITY: 1.5 is not within 0 <= e < 1",
        "snap.csv:8: has 3 fields, header has 17",
    ]
    expected = [s for i, s in enumerate(parse_omm_csv(csv_head(10))) if i not in (3, 6)]
    assert parsed.sets == expected


def test_json_file_skips_only_the_bad_objects_naming_their_line(tmp_path: Path) -> None:
    records = json.loads(format_omm_json(parse_omm_csv(csv_head(5))))
    del records[1]["EPOCH"]
    records[3]["INCLINATION"] = 200.0
    text = "[\n" + ",\n".join(json.dumps(record) for record in records) + "\n]\n"
    parsed = read_element_set_file(_write(tmp_path / "gp.json", text), source="gp.json")
    assert len(parsed.sets) == 3
    assert [str(p) for p in parsed.skipped] == [
        "gp.json:3: EPOCH: is missing",
        "gp.json:5: INCLINATION: 200.0 deg is outside 0..180",
    ]
    assert parsed.lines == [2, 4, 6]


def test_kvn_is_recognised_by_content_and_a_bad_message_costs_only_itself(
    tmp_path: Path,
) -> None:
    sets = parse_omm_csv(csv_head(3))
    text = format_omm_kvn(sets)
    parsed = read_element_set_file(_write(tmp_path / "three.txt", text))
    assert parsed.sets == sets and parsed.skipped == []

    lines = text.splitlines()
    first_mean_motion = next(n for n, line in enumerate(lines) if line.startswith("MEAN_MOTION"))
    lines[first_mean_motion] = "MEAN_MOTION = 31.0 [rev/day]"
    second_start = [n for n, line in enumerate(lines, 1) if "CCSDS_OMM_VERS" in line][1]
    lines.insert(second_start, "THIS IS NOT KVN")
    parsed = read_element_set_file(_write(tmp_path / "three.kvn", "\n".join(lines)), source="k")
    assert [s.catalog_number for s in parsed.sets] == [sets[2].catalog_number]
    first, second = parsed.skipped
    assert (first.field, "rev/day is faster than any Earth orbit" in first.reason) == (
        "MEAN_MOTION",
        True,
    )
    assert first.line == first_mean_motion + 1  # the keyword's own line
    assert (second.line, second.field) == (second_start + 1, None)
    assert "is not KEYWORD = value" in second.reason


def test_xml_bad_segment_is_skipped_with_its_line(tmp_path: Path) -> None:
    sets = parse_omm_csv(csv_head(2))
    text = format_omm_xml(sets).replace(
        f"<NORAD_CAT_ID>{sets[1].catalog_number}<", "<NORAD_CAT_ID>I0001<"
    )
    parsed = read_element_set_file(_write(tmp_path / "two.xml", text))
    assert parsed.sets == sets[:1]
    (problem,) = parsed.skipped
    assert problem.field == "NORAD_CAT_ID"
    assert "<NORAD_CAT_ID>I0001<" in text.splitlines()[problem.line - 1]  # type: ignore[operator]


def test_strict_refuses_at_the_first_bad_set(tmp_path: Path) -> None:
    lines = tle_head(CRYOSAT_TLE, 4).splitlines()
    lines[5] = lines[5][:8] + "200.0000" + lines[5][16:68]
    lines[5] += str(sum(int(c) if c.isdigit() else c == "-" for c in lines[5]) % 10)
    path = _write(tmp_path / "h.tle", "\n".join(lines))
    assert len(read_element_set_file(path).sets) == 3
    with pytest.raises(ElementFileError) as refused:
        read_element_set_file(path, strict=True, source="h.tle")
    assert str(refused.value) == (
        "h.tle:6: inclination: 200.0 deg is outside 0..180 (TLE line 2, columns 9-16)"
    )


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_head(2).encode())
    assert read_element_set_file(path).sets == parse_omm_csv(csv_head(2))


def _unusable_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, the exact one-line refusal)."""
    tle = tle_head(CRYOSAT_TLE, 2)

    def put(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    directory = tmp_path / "folder.tle"
    directory.mkdir()
    csv_rows = csv_head(2).splitlines()
    all_bad = "\n".join(tle.splitlines()[::2]) + "\n"  # two line 1s, no line 2
    return {
        "missing": (tmp_path / "nope.tle", "nope.tle: no such file"),
        "directory": (directory, "folder.tle: is a directory, not a file"),
        "empty": (put("empty.tle", b""), "empty.tle: holds no element set"),
        "blank": (put("blank.tle", b"\n  \n\n"), "blank.tle: holds no element set"),
        "header only": (
            put("head.csv", (csv_rows[0] + "\r\n").encode()),
            "head.csv: holds no element set",
        ),
        "binary": (
            put("binary.tle", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
            "binary.tle:3: holds NUL bytes: binary (or UTF-16/32) data, not text",
        ),
        "not utf-8": (
            put("latin1.tle", tle.encode() + "ÉTOILE\n".encode("latin-1")),
            "latin1.tle:5: byte 0xc9 in column 1 is not UTF-8 text",
        ),
        "utf-16": (
            put("wide.tle", tle.encode("utf-16")),
            "wide.tle: is UTF-16 text; save it as UTF-8 (or ASCII)",
        ),
        "utf-16 without BOM": (
            put("wide2.tle", tle.encode("utf-16-le")),
            "wide2.tle:1: holds NUL bytes: binary (or UTF-16/32) data, not text",
        ),
        "json syntax": (
            put("gp.json", b'[\n{"EPOCH": "2024-01-01T00:00:00",\n"NORAD_CAT_ID" 5}\n]'),
            "gp.json:3: Expecting ':' delimiter",
        ),
        "json nesting": (
            put("deep.json", b"[" * 100_000 + b"]" * 100_000),
            "deep.json: is nested too deeply",
        ),
        "xml syntax": (
            put("omm.xml", b"<ndm>\n<omm>\n</ndm>\n"),
            "omm.xml:3: omm: malformed XML: mismatched tag",
        ),
        "csv without key column": (
            put("nokey.csv", b"OBJECT_NAME,EPOCH\r\nISS,2024-01-01T00:00:00\r\n"),
            "nokey.csv:1: NORAD_CAT_ID: column is missing",
        ),
        "every set bad": (
            put("allbad.tle", all_bad.encode()),
            "allbad.tle:2: TLE line 2: expected line 2 to follow line 1 (column 1)"
            " (and 1 more unreadable element sets)",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "directory",
        "empty",
        "blank",
        "header only",
        "binary",
        "not utf-8",
        "utf-16",
        "utf-16 without BOM",
        "json syntax",
        "json nesting",
        "xml syntax",
        "csv without key column",
        "every set bad",
    ],
)
def test_files_that_cannot_be_used_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    path, expected = _unusable_files(tmp_path)[case]
    with pytest.raises(ElementFileError) as refused:
        read_element_set_file(path, source=path.name)
    assert str(refused.value) == expected


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tle"
    os.mkfifo(fifo)
    with pytest.raises(ElementFileError, match="is not a regular file"):
        read_element_set_file(fifo)


def test_a_problem_is_always_one_line() -> None:
    problem = InputProblem("f.tle", 3, "name", "first\nsecond\r\nthird")
    assert str(problem) == "f.tle:3: name: first second third"
