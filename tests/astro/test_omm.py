"""OMM reading/writing in KVN, XML, JSON and CSV, and the shared CelesTrak catalog.

References:
* MARIO (NORAD 55123) as CelesTrak published it on the same day as TLE, XML and CSV
  (gp.php?CATNR=55123, copied in python-sgp4 2.27 tests.py);
* the CelesTrak on-orbit snapshot in ../shared/data/catalog and its README (counts, quirks);
  spot values are copied from the raw CSV text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.astro.paths import CATALOG_CSV

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.dynamics.propagation import propagate
from astroshield.astro.formats.omm import (
    OMMError,
    format_omm_csv,
    format_omm_json,
    format_omm_kvn,
    format_omm_xml,
    load_omm_catalog,
    parse_omm_csv,
    parse_omm_json,
    parse_omm_kvn,
    parse_omm_xml,
    read_omm_file,
)
from astroshield.astro.formats.tle import iter_tles

MARIO_TLE = """\
MARIO
1 55123U 98067UQ  23115.44827133  .00787702  29408-3  15680-2 0  9999
2 55123  51.6242 216.2930 0014649 331.8976  28.1241 15.99081912 18396
"""
MARIO_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<ndm xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://sanaregistry.org/r/ndmxml_unqualified/ndmxml-2.0.0-master-2.0.xsd">
<omm id="CCSDS_OMM_VERS" version="2.0">
<header><CREATION_DATE/><ORIGINATOR/></header><body><segment><metadata><OBJECT_NAME>MARIO</OBJECT_NAME><OBJECT_ID>1998-067UQ</OBJECT_ID><CENTER_NAME>EARTH</CENTER_NAME><REF_FRAME>TEME</REF_FRAME><TIME_SYSTEM>UTC</TIME_SYSTEM><MEAN_ELEMENT_THEORY>SGP4</MEAN_ELEMENT_THEORY></metadata><data><meanElements><EPOCH>2023-04-25T10:45:30.642912</EPOCH><MEAN_MOTION>15.99081912</MEAN_MOTION><ECCENTRICITY>.0014649</ECCENTRICITY><INCLINATION>51.6242</INCLINATION><RA_OF_ASC_NODE>216.2930</RA_OF_ASC_NODE><ARG_OF_PERICENTER>331.8976</ARG_OF_PERICENTER><MEAN_ANOMALY>28.1241</MEAN_ANOMALY></meanElements><tleParameters><EPHEMERIS_TYPE>0</EPHEMERIS_TYPE><CLASSIFICATION_TYPE>U</CLASSIFICATION_TYPE><NORAD_CAT_ID>55123</NORAD_CAT_ID><ELEMENT_SET_NO>999</ELEMENT_SET_NO><REV_AT_EPOCH>1839</REV_AT_EPOCH><BSTAR>.1568E-2</BSTAR><MEAN_MOTION_DOT>.787702E-2</MEAN_MOTION_DOT><MEAN_MOTION_DDOT>.29408E-3</MEAN_MOTION_DDOT></tleParameters></data></segment></body></omm>
</ndm>
"""
MARIO_CSV = """\
OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,MEAN_MOTION_DOT,MEAN_MOTION_DDOT
MARIO,1998-067UQ,2023-04-25T10:45:30.642912,15.99081912,.0014649,51.6242,216.2930,331.8976,28.1241,0,U,55123,999,1839,.1568E-2,.787702E-2,.29408E-3
"""
# The same record in CelesTrak's JSON flavour (numbers as JSON numbers).
MARIO_JSON = """[{"OBJECT_NAME":"MARIO","OBJECT_ID":"1998-067UQ",
"EPOCH":"2023-04-25T10:45:30.642912","MEAN_MOTION":15.99081912,"ECCENTRICITY":0.0014649,
"INCLINATION":51.6242,"RA_OF_ASC_NODE":216.293,"ARG_OF_PERICENTER":331.8976,
"MEAN_ANOMALY":28.1241,"EPHEMERIS_TYPE":0,"CLASSIFICATION_TYPE":"U","NORAD_CAT_ID":55123,
"ELEMENT_SET_NO":999,"REV_AT_EPOCH":1839,"BSTAR":0.001568,"MEAN_MOTION_DOT":0.00787702,
"MEAN_MOTION_DDOT":0.00029408}]"""


@pytest.fixture(scope="module")
def catalog_elements() -> list[ElementSet]:
    return read_omm_file(CATALOG_CSV)


def _odd_element_sets() -> list[ElementSet]:
    """Sets exercising blank name/id, launch-only id, Alpha-5 and 9-digit numbers."""
    (mario,) = parse_omm_csv(MARIO_CSV)
    return [
        mario,
        replace(mario, object_name=None, object_id=None, catalog_number="270387"),
        replace(mario, object_id="1970-025", catalog_number="81123", object_name="UNKNOWN"),
        replace(mario, catalog_number="123456789", mean_motion_ddot_rev_per_day3=-1.25e-13),
    ]


def test_every_celestrak_format_gives_the_tle_elements() -> None:
    (from_tle,) = [tle.elements for tle in iter_tles(MARIO_TLE)]
    assert parse_omm_csv(MARIO_CSV) == [from_tle]
    assert parse_omm_xml(MARIO_XML) == [from_tle]
    assert parse_omm_json(MARIO_JSON) == [from_tle]


def test_tle_and_omm_give_the_same_state() -> None:
    (tle,) = iter_tles(MARIO_TLE)
    (omm,) = parse_omm_xml(MARIO_XML)
    # At epoch and one day later; python-sgp4's own test finds twoline2rv and its OMM
    # initialiser produce identical records for this set, so the states must agree to
    # rounding (1 mm, 1 µm/s).
    times = [tle.elements.epoch, datetime(2023, 4, 26, 10, 45, 30, 642912, tzinfo=UTC)]
    result = propagate([tle, omm], times)
    assert result.all_ok
    np.testing.assert_allclose(result.r_km[0], result.r_km[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.v_km_s[0], result.v_km_s[1], rtol=0, atol=1e-9)
    tle_satrec, omm_satrec = tle.satrec(), to_satrec(omm)
    assert (tle_satrec.jdsatepoch, tle_satrec.jdsatepochF) == (
        omm_satrec.jdsatepoch,
        omm_satrec.jdsatepochF,
    )


@pytest.mark.parametrize(
    ("write", "read"),
    [
        (format_omm_kvn, parse_omm_kvn),
        (format_omm_xml, parse_omm_xml),
        (format_omm_json, parse_omm_json),
        (format_omm_csv, parse_omm_csv),
    ],
    ids=["kvn", "xml", "json", "csv"],
)
def test_write_then_read_is_identical(
    write: Callable[[list[ElementSet]], str],
    read: Callable[[str], list[ElementSet]],
    catalog_elements: list[ElementSet],
) -> None:
    sample = _odd_element_sets() + catalog_elements[::500]
    assert read(write(sample)) == sample


def test_files_are_read_by_suffix(tmp_path: Path) -> None:
    elements = _odd_element_sets()
    writers: list[tuple[str, Callable[[list[ElementSet]], str]]] = [
        (".kvn", format_omm_kvn),
        (".xml", format_omm_xml),
        (".json", format_omm_json),
        (".csv", format_omm_csv),
    ]
    for suffix, write in writers:
        path = tmp_path / f"omm{suffix}"
        path.write_text(write(elements), encoding="utf-8", newline="")
        assert read_omm_file(path) == elements, suffix


def test_kvn_units_comments_and_several_messages() -> None:
    text = """\
CCSDS_OMM_VERS = 3.0
COMMENT written by hand from the MARIO CSV row
CREATION_DATE = 2023-04-25T12:00:00
ORIGINATOR = TEST
OBJECT_NAME = ECHO 1 DEB [METAL OBJ]
OBJECT_ID = 1998-067UQ
CENTER_NAME = EARTH
REF_FRAME = TEME
TIME_SYSTEM = UTC
MEAN_ELEMENT_THEORY = SGP4
EPOCH = 2023-115T10:45:30.642912
MEAN_MOTION = 15.99081912 [rev/day]
ECCENTRICITY = .0014649
INCLINATION = 51.6242 [deg]
RA_OF_ASC_NODE = 216.2930 [deg]
ARG_OF_PERICENTER = 331.8976 [deg]
MEAN_ANOMALY = 28.1241 [deg]
NORAD_CAT_ID = 55123
REV_AT_EPOCH = 1839
BSTAR = .1568E-2 [1/ER]
MEAN_MOTION_DOT = .787702E-2 [rev/day**2]
MEAN_MOTION_DDOT = .29408E-3 [rev/day**3]
"""
    first, second = parse_omm_kvn(text + "\n" + text)
    (mario,) = parse_omm_csv(MARIO_CSV)
    # Day-of-year epoch, default ELEMENT_SET_NO/EPHEMERIS_TYPE, and brackets kept in names.
    assert first == replace(mario, object_name="ECHO 1 DEB [METAL OBJ]")
    assert second == first


def test_csv_errors_name_row_and_field() -> None:
    header, row = MARIO_CSV.splitlines()
    bad_eccentricity = row.replace(",.0014649,", ",1.2,")
    with pytest.raises(OMMError, match=r"^row 2, ECCENTRICITY: 1.2 is not within"):
        parse_omm_csv(f"{header}\n{row}\n{bad_eccentricity}\n")
    with pytest.raises(OMMError, match=r"^row 1, INCLINATION: 'abc' is not a number$"):
        parse_omm_csv(f"{header}\n{row.replace(',51.6242,', ',abc,')}\n")
    with pytest.raises(OMMError, match=r"^row 1, NORAD_CAT_ID: catalog number 'X1'"):
        parse_omm_csv(f"{header}\n{row.replace(',55123,', ',X1,')}\n")
    with pytest.raises(OMMError, match=r"^row 1, EPOCH: '2023-13-25T10:45:30' is not"):
        parse_omm_csv(
            f"{header}\n{row.replace('2023-04-25T10:45:30.642912', '2023-13-25T10:45:30')}\n"
        )
    with pytest.raises(OMMError, match=r"^row 1: has 16 fields, header has 17$"):
        parse_omm_csv(f"{header}\n{row.rsplit(',', 1)[0]}\n")


def test_other_formats_name_the_record() -> None:
    with pytest.raises(OMMError, match=r"^segment 1, REF_FRAME: 'GCRF' is not supported"):
        parse_omm_xml(MARIO_XML.replace("<REF_FRAME>TEME", "<REF_FRAME>GCRF"))
    with pytest.raises(OMMError, match=r"^object 1, MEAN_MOTION: is missing$"):
        parse_omm_json(MARIO_JSON.replace('"MEAN_MOTION":15.99081912,', ""))
    kvn = format_omm_kvn(parse_omm_csv(MARIO_CSV))
    with pytest.raises(OMMError, match=r"^message at line 1, TIME_SYSTEM: 'TAI' is not supported"):
        parse_omm_kvn(kvn.replace("TIME_SYSTEM = UTC", "TIME_SYSTEM = TAI"))
    with pytest.raises(OMMError, match=r"^line 4, INCLINATION: appears twice"):
        parse_omm_kvn(kvn.replace("ORIGINATOR = ASTROSHIELD", "INCLINATION = 1\nINCLINATION = 2"))


def test_xml_entity_expansion_and_external_entities_are_refused(tmp_path: Path) -> None:
    # Same safe reader as OEM and CDM: any DOCTYPE is refused before an entity can expand or
    # an external one be fetched.
    laughs = MARIO_XML.replace(
        "<ndm ",
        '<!DOCTYPE ndm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n<ndm ',
    ).replace("<OBJECT_NAME>MARIO<", "<OBJECT_NAME>&c;<")
    with pytest.raises(OMMError, match=r"^XML, DOCTYPE: DTDs and entity declarations") as info:
        parse_omm_xml(laughs)
    assert info.value.keyword == "DOCTYPE"
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    xxe = MARIO_XML.replace(
        "<ndm ", f'<!DOCTYPE ndm [<!ENTITY x SYSTEM "file://{secret}">]>\n<ndm '
    ).replace("<OBJECT_NAME>MARIO<", "<OBJECT_NAME>&x;<")
    path = tmp_path / "xxe.xml"
    path.write_text(xxe, encoding="utf-8")
    with pytest.raises(OMMError, match="not allowed in OMM XML") as info:
        read_omm_file(path)
    assert info.value.keyword == "DOCTYPE"
    assert "top secret" not in str(info.value)
    # A plain DOCTYPE without entities is refused as well.
    with pytest.raises(OMMError, match="DOCTYPE"):
        parse_omm_xml(MARIO_XML.replace("<ndm ", "<!DOCTYPE ndm>\n<ndm "))


def test_malformed_xml_names_line_and_element() -> None:
    broken = MARIO_XML.replace("</header>", "</heder>")
    with pytest.raises(OMMError, match=r"^XML line 4, header: malformed XML") as info:
        parse_omm_xml(broken)
    assert info.value.line == 4


def test_catalog_counts_match_the_readme(catalog_elements: list[ElementSet]) -> None:
    assert len(catalog_elements) == 26_834
    numbers = [elements.catalog_number for elements in catalog_elements]
    assert len(set(numbers)) == 26_834
    as_int = [int(number) for number in numbers]
    assert (min(as_int), max(as_int)) == (5, 270_387)
    assert sum(270_000 <= number <= 270_387 for number in as_int) == 304
    assert sum(elements.object_id is None for elements in catalog_elements) == 494
    assert sum(e.mean_motion_ddot_rev_per_day3 == 0.0 for e in catalog_elements) == 26_686
    # README: the 304 objects numbered 270000+ are all UNKNOWN. Its "304 rows are UNKNOWN"
    # undercounts: `grep -c '^UNKNOWN,'` on the raw file gives 567 (analyst 8xxxx too).
    unknown = [e for e in catalog_elements if e.object_name == "UNKNOWN"]
    assert len(unknown) == 567
    assert sum(int(e.catalog_number) >= 270_000 for e in unknown) == 304


def test_catalog_spot_values_match_the_raw_file(catalog_elements: list[ElementSet]) -> None:
    by_number = {elements.catalog_number: elements for elements in catalog_elements}
    # Raw row: VANGUARD 1,1958-002B,2024-10-29T12:18:43.492896,10.85746790,.1843421,34.2551,
    # 352.8583,332.7861,18.6796,0,U,5,999,37861,.16091E-2,.1286E-4,0
    vanguard = by_number["5"]
    assert vanguard.object_name == "VANGUARD 1"
    assert vanguard.object_id == "1958-002B"
    assert vanguard.epoch == datetime(2024, 10, 29, 12, 18, 43, 492896, tzinfo=UTC)
    assert vanguard.mean_motion_rev_per_day == 10.85746790
    assert vanguard.eccentricity == 0.1843421
    assert vanguard.inclination_deg == 34.2551
    assert vanguard.bstar_per_earth_radius == 0.16091e-2
    assert vanguard.mean_motion_dot_rev_per_day2 == 0.1286e-4
    assert vanguard.rev_at_epoch == 37861
    # Raw row for 81123 carries a launch-only OBJECT_ID "1970-025" (no piece letter).
    assert by_number["81123"].object_id == "1970-025"


def test_catalog_loads_with_satrecs() -> None:
    catalog = load_omm_catalog(CATALOG_CSV)
    assert len(catalog.satrecs) == len(catalog.elements) == 26_834
    last = catalog.satrecs[catalog.elements.index(max(catalog.elements, key=_number))]
    # Alpha-5 T0387 is 270387 (T is the 18th letter without I and O: 27).
    assert last.satnum_str == "T0387"


def _number(elements: ElementSet) -> int:
    return int(elements.catalog_number)


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("INCLINATION", "200", r"200.0 deg is outside 0..180"),
        ("ECCENTRICITY", "1.0", r"1.0 is not within 0 <= e < 1"),
        ("ECCENTRICITY", "0.9", r"0.9 with mean motion 15.99081912 rev/day puts the perigee"),
        ("MEAN_MOTION", "0", r"0.0 rev/day must be positive"),
        ("MEAN_MOTION", "17.5", r"17.5 rev/day is faster than any Earth orbit"),
        ("MEAN_MOTION", "nan", r"nan is not a finite number"),
        ("RA_OF_ASC_NODE", "720", r"720.0 deg is outside -360..360"),
        ("MEAN_ANOMALY", "-inf", r"-inf is not a finite number"),
        ("BSTAR", "1e999", r"inf is not a finite number"),
        ("EPOCH", "1949-12-31T00:00:00", r"1949-12-31T00:00:00\+00:00 is outside 1957-01-01"),
        ("EPOCH", "2100-01-01T00:00:00", r"2100-01-01T00:00:00\+00:00 is outside 1957-01-01"),
        ("REV_AT_EPOCH", "-1", r"-1 is outside 0..999999999"),
        ("ELEMENT_SET_NO", "99999999999", r"99999999999 is outside 0..999999999"),
        ("EPHEMERIS_TYPE", "12", r"12 is outside 0..9"),
    ],
)
def test_physically_impossible_values_name_keyword_and_line(
    keyword: str, value: str, message: str
) -> None:
    kvn = format_omm_kvn(parse_omm_csv(MARIO_CSV))
    lines = kvn.splitlines()
    index = next(n for n, line in enumerate(lines) if line.startswith(f"{keyword} ="))
    lines[index] = f"{keyword} = {value}"
    with pytest.raises(OMMError, match=f"^message at line 1, {keyword}: {message}") as caught:
        parse_omm_kvn("\n".join(lines))
    assert (caught.value.keyword, caught.value.line) == (keyword, index + 1)

    header, row = MARIO_CSV.splitlines()
    fields = dict(zip(header.split(","), row.split(","), strict=True))
    fields[keyword] = value
    csv_text = f"{header}\n{row}\n{','.join(fields.values())}\n"
    with pytest.raises(OMMError, match=f"^row 2, {keyword}: {message}") as caught:
        parse_omm_csv(csv_text)
    assert caught.value.line == 3


def test_angles_are_stored_between_0_and_360() -> None:
    header, row = MARIO_CSV.splitlines()
    negative = row.replace(",216.2930,331.8976,28.1241,", ",-143.7070,360.0,-331.8759,")
    (elements,) = parse_omm_csv(f"{header}\n{negative}\n")
    (mario,) = parse_omm_csv(MARIO_CSV)
    assert elements.ra_of_asc_node_deg == pytest.approx(mario.ra_of_asc_node_deg, abs=1e-12)
    assert elements.arg_of_pericenter_deg == 0.0
    assert elements.mean_anomaly_deg == pytest.approx(mario.mean_anomaly_deg, abs=1e-12)


def test_json_records_carry_their_line_and_odd_documents_are_refused() -> None:
    record = MARIO_JSON.strip()[1:-1]
    text = f"[\n{record},\n\n{record.replace('51.6242', '251.6242')}\n]"
    with pytest.raises(OMMError, match=r"^object 2, INCLINATION: 251.6242 deg") as caught:
        parse_omm_json(text)
    assert caught.value.line == 2 + record.count("\n") + 2
    with pytest.raises(OMMError, match=r"^JSON: is nested too deeply$"):
        parse_omm_json("[" * 50_000 + "]" * 50_000)
    with pytest.raises(OMMError, match=r"^JSON: Exceeds the limit"):
        parse_omm_json("[" + "9" * 5000 + "]")
    with pytest.raises(OMMError, match=r"^object 1, NORAD_CAT_ID: "):
        parse_omm_json(MARIO_JSON.replace('"NORAD_CAT_ID":55123', '"NORAD_CAT_ID":1e300'))
