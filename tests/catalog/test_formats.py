"""Reading element-set files leniently (CLI) and request bodies strictly (API). No database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astroshield.astro.omm import format_omm_json, format_omm_kvn, parse_omm_csv
from astroshield.catalog.formats import parse_upload, read_element_set_file
from astroshield.errors import InvalidInputError
from tests.catalog.conftest import CRYOSAT_TLE, csv_head, tle_head, tle_sets


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
    assert [r.where for r in parsed.rejected] == ["mixed.tle line 3", "mixed.tle line 11"]
    assert "checksum" in parsed.rejected[0].reason
    assert parsed.rejected[1].reason.startswith("line 2, column 69: checksum")


def test_csv_file_rejects_only_the_bad_rows(tmp_path: Path) -> None:
    lines = csv_head(10).splitlines()
    fields = lines[4].split(",")
    fields[4] = "1.5"  # row 4: eccentricity >= 1
    lines[4] = ",".join(fields)
    parsed = read_element_set_file(_write(tmp_path / "snap.csv", "\r\n".join(lines) + "\r\n"))

    assert len(parsed.sets) == 9
    assert [r.where for r in parsed.rejected] == ["snap.csv row 4, ECCENTRICITY"]
    assert parsed.sets == [s for i, s in enumerate(parse_omm_csv(csv_head(10))) if i != 3]


def test_json_file_rejects_only_the_bad_objects(tmp_path: Path) -> None:
    records = json.loads(format_omm_json(parse_omm_csv(csv_head(5))))
    del records[1]["EPOCH"]
    parsed = read_element_set_file(_write(tmp_path / "gp.json", json.dumps(records)))
    assert len(parsed.sets) == 4
    assert [r.where for r in parsed.rejected] == ["gp.json object 2, EPOCH"]


def test_kvn_file_is_recognised_by_content(tmp_path: Path) -> None:
    sets = parse_omm_csv(csv_head(3))
    parsed = read_element_set_file(_write(tmp_path / "three.txt", format_omm_kvn(sets)))
    assert parsed.sets == sets and parsed.rejected == []


def test_upload_is_all_or_nothing() -> None:
    text = tle_head(CRYOSAT_TLE, 2) + "1 36508U garbage\n"
    with pytest.raises(InvalidInputError) as raised:
        parse_upload(text.encode(), "text/plain")
    assert raised.value.errors[0]["loc"] == ["body", "line 5"]

    with pytest.raises(InvalidInputError) as raised:
        parse_upload(b"", "application/json")
    assert raised.value.errors[0]["loc"] == ["body", "JSON line 1"]

    with pytest.raises(InvalidInputError, match="no element set"):
        parse_upload(b"[]", "application/json")
    with pytest.raises(InvalidInputError, match="UTF-8"):
        parse_upload(b"\xff\xfe", "text/plain")
