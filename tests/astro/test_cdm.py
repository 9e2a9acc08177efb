"""CCSDS CDM (508.0-B-1) KVN/XML reading, writing and validation.

The sample message is the 508.0-B-1 Annex example (see tests/data/cdm/README.md); expected
values below are read off the sample text.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from tests.astro.paths import CDM_DATA

from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.formats import cdm as cdm_mod
from astroshield.astro.formats.cdm import (
    COVARIANCE_KEYWORDS,
    Cdm,
    CdmCovariance,
    CdmError,
    CdmWarning,
)

KVN_TEXT = (CDM_DATA / "annex_example.kvn").read_text(encoding="utf-8")
XML_TEXT = (CDM_DATA / "annex_example.xml").read_text(encoding="utf-8")


def _quiet_loads(text: str) -> Cdm:
    # The published example's OBJECT1 covariance is not positive definite (README.md); most
    # tests are about something else, so the expected warning is silenced here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CdmWarning)
        return cdm_mod.loads(text)


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line where ``needle`` starts (``occurrence``-th match)."""
    seen = 0
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(needle):
            seen += 1
            if seen == occurrence:
                return n
    raise AssertionError(f"{needle!r} not found")


def _replace_line(text: str, needle: str, new: str | None, occurrence: int = 1) -> str:
    lines = text.splitlines()
    n = _line_of(text, needle, occurrence)
    if new is None:
        del lines[n - 1]
    else:
        lines[n - 1] = new
    return "\n".join(lines) + "\n"


def _raises(text: str, keyword: str, line: int, match: str) -> CdmError:
    with pytest.raises(CdmError) as info:
        _quiet_loads(text)
    err = info.value
    assert err.keyword == keyword, str(err)
    assert err.line == line, str(err)
    assert str(err).startswith(f"line {line}, {keyword}: ")
    assert re.search(match, str(err)), str(err)
    return err


@pytest.fixture(scope="module")
def sample() -> Cdm:
    return _quiet_loads(KVN_TEXT)


# ----------------------------------------------------------------------------- reading


def test_values_read_from_sample(sample: Cdm) -> None:
    h, rel = sample.header, sample.relative
    assert h.version == "1.0"
    assert h.creation_date == datetime(2010, 3, 12, 22, 31, 12)  # noqa: DTZ001  # UTC labels
    assert (h.originator, h.message_for, h.message_id) == ("JSPOC", "SATELLITE A", "201113719185")
    assert rel.tca == datetime(2010, 3, 13, 22, 37, 52, 618000)  # noqa: DTZ001
    assert rel.miss_distance_m == 715.0
    assert rel.relative_speed_m_s == 14762.0
    assert (rel.relative_position_r_m, rel.relative_velocity_n_m_s) == (27.4, -1437.2)
    assert rel.screen_volume_shape == "ELLIPSOID"
    assert rel.collision_probability == 4.835e-05
    assert rel.collision_probability_method == "FOSTER-1992"
    o1, o2 = sample.object1, sample.object2
    assert o1.metadata.object == "OBJECT1"
    assert o2.metadata.object_name == "FENGYUN 1C DEB"
    assert o2.metadata.international_designator == "1999-025AA"
    assert o1.metadata.ref_frame == "EME2000"
    assert o1.metadata.maneuverable == "YES"
    assert o1.od_parameters is not None
    assert o1.od_parameters.obs_available == 592
    assert o1.od_parameters.actual_od_span_d == 5.5
    assert o1.additional_parameters is not None
    assert o1.additional_parameters.area_pc_m2 == 5.2
    assert o2.additional_parameters is not None
    assert o2.additional_parameters.comments[1] == "Apogee Altitude=768 km"
    assert o1.state.x_km == 2570.097065
    assert o2.state.z_dot_km_s == 3.328770172
    assert o1.covariance.size == 6
    assert o1.covariance.lower_triangle[0] == 41.42
    assert o2.covariance.lower_triangle[COVARIANCE_KEYWORDS.index("CN_T")] == -758.88
    assert o2.covariance.lower_triangle[20] == 5.178e-05


def test_kvn_and_xml_samples_are_the_same_message(sample: Cdm) -> None:
    assert _quiet_loads(XML_TEXT) == sample


def test_covariance_matrix_layout(sample: Cdm) -> None:
    m = sample.object1.covariance_rtn_m()
    assert m.shape == (6, 6)
    np.testing.assert_array_equal(m, m.T)
    # CCSDS row order: CT_R is (T, R), CRDOT_T is (RDOT, T), CNDOT_TDOT is (NDOT, TDOT).
    assert m[1, 0] == -8.579
    assert m[3, 1] == -5.476
    assert m[5, 4] == -1.091e-06
    assert m[2, 2] == 70.98


def test_covariance_inertial_km_is_the_rtn_rotation(sample: Cdm) -> None:
    obj = sample.object2
    c_km = obj.covariance_inertial_km()
    rot = rtn_rotation(obj.position_km(), obj.velocity_km_s())
    # Rotating back into the object's own RTN axes must give the message's matrix in km units.
    jac = np.zeros((6, 6))
    jac[:3, :3] = rot
    jac[3:, 3:] = rot
    np.testing.assert_allclose(
        jac @ c_km @ jac.T * 1e6, obj.covariance_rtn_m(), rtol=1e-9, atol=1e-12
    )
    # Position variance is invariant under rotation: trace in km² = trace in m² * 1e-6.
    assert np.trace(c_km[:3, :3]) == pytest.approx((1337.0 + 2.492e6 + 71.05) * 1e-6, rel=1e-12)


def test_identifiers_canonical(sample: Cdm) -> None:
    assert sample.object1.metadata.catalog_number() == "12345"
    assert sample.object2.metadata.cospar_id() == "1999-025AA"
    odd = replace(sample.object1.metadata, international_designator="UNKNOWN")
    assert odd.cospar_id() is None


def test_text_value_with_brackets_is_not_a_unit() -> None:
    text = _replace_line(KVN_TEXT, "OBJECT_NAME", "OBJECT_NAME = SATELLITE [A]")
    assert _quiet_loads(text).object1.metadata.object_name == "SATELLITE [A]"


def test_hard_body_radius_from_area_pc(sample: Cdm) -> None:
    got = sample.object1.hard_body_radius_m()
    assert got is not None
    assert got[1] == "AREA_PC"
    assert got[0] == pytest.approx((5.2 / np.pi) ** 0.5, rel=1e-15)


# --------------------------------------------------------------------------- round trips


def test_kvn_round_trip(sample: Cdm) -> None:
    text = cdm_mod.dumps_kvn(sample)
    assert _quiet_loads(text) == sample
    assert cdm_mod.dumps_kvn(_quiet_loads(text)) == text


def test_xml_round_trip(sample: Cdm) -> None:
    text = cdm_mod.dumps_xml(sample)
    assert text.lstrip().startswith("<?xml")
    assert _quiet_loads(text) == sample
    assert cdm_mod.dumps_xml(_quiet_loads(text)) == text


def test_file_helpers(tmp_path: Path, sample: Cdm) -> None:
    for fmt in ("kvn", "xml"):
        path = tmp_path / f"out.{fmt}"
        cdm_mod.write_cdm(sample, path, fmt=fmt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CdmWarning)
            assert cdm_mod.read_cdm(path) == sample
    with pytest.raises(ValueError, match="fmt"):
        cdm_mod.write_cdm(sample, tmp_path / "x", fmt="json")


def test_nine_by_nine_covariance_and_v2_fields_round_trip(sample: Cdm) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9, 9))
    cov9 = a @ a.T + 9.0 * np.eye(9)
    assert sample.object1.additional_parameters is not None
    add = replace(sample.object1.additional_parameters, hbr_m=2.5)
    obj1 = replace(
        sample.object1, covariance=CdmCovariance.from_matrix(cov9), additional_parameters=add
    )
    msg = replace(
        sample,
        object1=obj1,
        header=replace(sample.header, classification="UNCLASSIFIED"),
        relative=replace(sample.relative, conjunction_id="C-1", approach_angle_deg=95.5),
    )
    for text in (cdm_mod.dumps_kvn(msg), cdm_mod.dumps_xml(msg)):
        back = _quiet_loads(text)
        assert back == msg
        assert back.object1.covariance.size == 9
        np.testing.assert_array_equal(back.object1.covariance.matrix(), (cov9 + cov9.T) / 2)
    kvn = cdm_mod.dumps_kvn(msg)
    assert re.search(r"^CTHR_THR\s+= \S+ \[m\*\*2/s\*\*4\]$", kvn, re.M)
    assert re.search(r"^CDRG_RDOT\s+= \S+ \[m\*\*3/\(kg\*s\)\]$", kvn, re.M)
    assert re.search(r"^HBR\s+= 2.5 \[m\]$", kvn, re.M)


def test_writer_refuses_invalid_message(sample: Cdm) -> None:
    bad = replace(
        sample,
        object1=replace(
            sample.object1, metadata=replace(sample.object1.metadata, ref_frame="J2000")
        ),
    )
    with pytest.raises(CdmError, match="REF_FRAME"):
        cdm_mod.dumps_kvn(bad)
    swapped = replace(sample, object1=sample.object2, object2=sample.object1)
    with pytest.raises(CdmError, match="OBJECT"):
        cdm_mod.dumps_xml(swapped)


# ----------------------------------------------------------------------- malformed KVN


def test_missing_mandatory_keyword() -> None:
    # Without CR_R, the place it was expected is the line now holding CT_R.
    text = _replace_line(KVN_TEXT, "CR_R", None)
    _raises(text, "CR_R", _line_of(text, "CT_R"), "missing mandatory keyword")
    # A header keyword is expected before the first relative keyword (TCA).
    text = _replace_line(KVN_TEXT, "MESSAGE_ID", None)
    _raises(text, "MESSAGE_ID", _line_of(text, "TCA"), "missing mandatory")
    text = _replace_line(KVN_TEXT, "EPHEMERIS_NAME", None, occurrence=2)
    _raises(text, "EPHEMERIS_NAME", _line_of(text, "COVARIANCE_METHOD", 2), "missing mandatory")
    text = _replace_line(KVN_TEXT, "MISS_DISTANCE", None)
    _raises(text, "MISS_DISTANCE", _line_of(text, "RELATIVE_SPEED"), "missing mandatory")


def test_bad_number() -> None:
    text = _replace_line(KVN_TEXT, "CT_T", "CT_T = 2.5.33E+03 [m**2]", occurrence=2)
    _raises(text, "CT_T", _line_of(text, "CT_T", 2), r"bad number '2\.5\.33E\+03'")
    text = _replace_line(KVN_TEXT, "OBS_USED", "OBS_USED = many")
    _raises(text, "OBS_USED", _line_of(text, "OBS_USED"), "bad number")


def test_bad_epoch() -> None:
    text = _replace_line(KVN_TEXT, "TCA", "TCA = 2010-13-13T22:37:52.618")
    _raises(text, "TCA", _line_of(text, "TCA"), "bad epoch")
    text = _replace_line(KVN_TEXT, "TIME_LASTOB_END", "TIME_LASTOB_END = yesterday")
    _raises(text, "TIME_LASTOB_END", _line_of(text, "TIME_LASTOB_END"), "bad epoch")


def test_unknown_ref_frame() -> None:
    text = _replace_line(KVN_TEXT, "REF_FRAME", "REF_FRAME = MARSIAU", occurrence=2)
    _raises(text, "REF_FRAME", _line_of(text, "REF_FRAME", 2), "unknown REF_FRAME 'MARSIAU'")


def test_non_positive_definite_covariance_is_reported_not_fatal() -> None:
    line = _line_of(KVN_TEXT, "CR_R")
    with pytest.warns(CdmWarning, match=rf"^line {line}, CR_R: OBJECT1 .*not positive definite"):
        msg = cdm_mod.loads(KVN_TEXT)
    assert len(msg.issues) == 1
    assert msg.issues[0].startswith(f"line {line}, CR_R: OBJECT1")
    assert msg.covariance_issues()[0].startswith("OBJECT1")
    with pytest.raises(CdmError) as info:
        cdm_mod.loads(KVN_TEXT, strict=True)
    assert (info.value.keyword, info.value.line) == ("CR_R", line)
    # The same in XML, located at the XML line of <CR_R>.
    xml_line = _line_of(XML_TEXT, "<CR_R")
    with pytest.warns(CdmWarning, match=rf"^line {xml_line}, CR_R: OBJECT1"):
        cdm_mod.loads(XML_TEXT)


def test_segments_missing_or_out_of_order() -> None:
    lines = KVN_TEXT.splitlines()
    cut = _line_of(KVN_TEXT, "COMMENT Object2 Metadata") - 1
    only_one = "\n".join(lines[:cut]) + "\n"
    _raises(only_one, "OBJECT", len(lines[:cut]), "OBJECT2 segment missing")
    swapped = KVN_TEXT.replace("= OBJECT1", "= OBJECTX").replace("= OBJECT2", "= OBJECT1")
    swapped = swapped.replace("= OBJECTX", "= OBJECT2")
    _raises(swapped, "OBJECT", _line_of(swapped, "OBJECT "), "out of order")
    # Object keywords before any OBJECT line: OBJECT1 is missing.
    no_obj1 = _replace_line(KVN_TEXT, "OBJECT ", None)
    _raises(no_obj1, "OBJECT_DESIGNATOR", _line_of(no_obj1, "OBJECT_DESIGNATOR"), "OBJECT1 segment")
    relative_only = "\n".join(lines[: _line_of(KVN_TEXT, "COMMENT Object1 Metadata") - 1])
    _raises(
        relative_only,
        "OBJECT",
        _line_of(relative_only, "COLLISION_PROBABILITY_METHOD"),
        "OBJECT1 segment missing",
    )


def test_unit_contradicting_the_standard() -> None:
    text = _replace_line(KVN_TEXT, "MISS_DISTANCE", "MISS_DISTANCE = 0.715 [km]")
    _raises(text, "MISS_DISTANCE", _line_of(text, "MISS_DISTANCE"), r"\[km\] contradicts.*\[m\]")
    text = _replace_line(KVN_TEXT, "X_DOT", "X_DOT = 4418.769571 [m/s]")
    _raises(text, "X_DOT", _line_of(text, "X_DOT"), "contradicts")
    text = _replace_line(KVN_TEXT, "CRDOT_RDOT", "CRDOT_RDOT = 5.744E-03 [m**2/s]")
    _raises(text, "CRDOT_RDOT", _line_of(text, "CRDOT_RDOT"), "contradicts")
    # Equivalent spellings of the standard unit are fine.
    ok = _replace_line(KVN_TEXT, "CN_N", "CN_N = 7.098E+01 [M ^ 2]")
    assert _quiet_loads(ok).object1.covariance.lower_triangle[5] == 70.98
    xml = XML_TEXT.replace('<MISS_DISTANCE units="m">715', '<MISS_DISTANCE units="km">0.715')
    _raises(xml, "MISS_DISTANCE", _line_of(xml, "<MISS_DISTANCE"), "contradicts")


def test_duplicate_keyword() -> None:
    lines = KVN_TEXT.splitlines()
    n = _line_of(KVN_TEXT, "CT_T", 2)
    dup = "\n".join([*lines[:n], lines[n - 1], *lines[n:]]) + "\n"
    _raises(dup, "CT_T", n + 1, "duplicate keyword")
    n = _line_of(KVN_TEXT, "ORIGINATOR")
    dup = "\n".join([*lines[:n], lines[n - 1], *lines[n:]]) + "\n"
    _raises(dup, "ORIGINATOR", n + 1, "duplicate keyword")
    xml = XML_TEXT.replace(
        "<TCA>2010-03-13T22:37:52.618</TCA>",
        "<TCA>2010-03-13T22:37:52.618</TCA>\n<TCA>2010-03-13T22:37:52.618</TCA>",
    )
    _raises(xml, "TCA", _line_of(XML_TEXT, "<TCA>") + 1, "duplicate element")


def test_truncated_file() -> None:
    lines = KVN_TEXT.splitlines()
    # Cut after OBJECT2's CN_T: the rest of the mandatory covariance is missing.
    n = _line_of(KVN_TEXT, "CN_T", 2)
    cut = "\n".join(lines[:n]) + "\n"
    _raises(cut, "CN_N", n, "truncated message")
    # Cut in the middle of a line.
    partial = "\n".join(lines[:n]) + "\nCNDO"
    _raises(partial, "CNDO", n + 1, "truncated message")
    partial = "\n".join(lines[:n]) + "\nCN_N ="
    _raises(partial, "CN_N", n + 1, "truncated message")
    # A cut XML document: expat reports the unclosed element at end of input.
    xml_cut = XML_TEXT[: XML_TEXT.index("<CNDOT_R", XML_TEXT.index("OBJECT2"))]
    with pytest.raises(CdmError, match="truncated message") as info:
        cdm_mod.loads(xml_cut)
    # expat stops at the end of input: the line after the last newline.
    assert info.value.line == xml_cut.count("\n") + 1
    assert info.value.keyword == "covarianceMatrix"


def test_unknown_keyword_and_bad_enum() -> None:
    text = _replace_line(KVN_TEXT, "SEDR", "SEDRX = 1.0 [W/kg]")
    _raises(text, "SEDRX", _line_of(text, "SEDRX"), "unknown keyword")
    text = _replace_line(KVN_TEXT, "MANEUVERABLE", "MANEUVERABLE = MAYBE")
    _raises(text, "MANEUVERABLE", _line_of(text, "MANEUVERABLE"), "not allowed")


def test_malformed_xml_locates_keyword_and_line() -> None:
    # Missing mandatory element: reported where it was expected (the next element present).
    lines = XML_TEXT.splitlines()
    n = _line_of(XML_TEXT, "<CR_R")
    text = "\n".join(lines[: n - 1] + lines[n:]) + "\n"
    _raises(text, "CR_R", n, "missing mandatory keyword")
    text = XML_TEXT.replace(">2.533E+03<", ">2.5.33E+03<")
    _raises(text, "CT_T", _line_of(XML_TEXT, '<CT_T units="m**2">2.533'), "bad number")
    text = XML_TEXT.replace("<TCA>2010-03-13T22", "<TCA>2010-03-32T22")
    _raises(text, "TCA", _line_of(XML_TEXT, "<TCA>"), "bad epoch")
    text = XML_TEXT.replace("<REF_FRAME>EME2000", "<REF_FRAME>MARSIAU", 1)
    _raises(text, "REF_FRAME", _line_of(XML_TEXT, "<REF_FRAME>"), "unknown REF_FRAME")
    swapped = XML_TEXT.replace(">OBJECT1<", ">OBJECTX<").replace(">OBJECT2<", ">OBJECT1<")
    swapped = swapped.replace(">OBJECTX<", ">OBJECT2<")
    _raises(swapped, "OBJECT", _line_of(XML_TEXT, "<OBJECT>"), "out of order")
    start = XML_TEXT.index("<segment>", XML_TEXT.index("OBJECT1"))
    one_segment = XML_TEXT[:start] + XML_TEXT[XML_TEXT.index("</body>") :]
    with pytest.raises(CdmError, match="OBJECT2 segment missing") as info:
        _quiet_loads(one_segment)
    assert info.value.keyword == "OBJECT"


def test_first_line_must_be_version() -> None:
    text = _replace_line(KVN_TEXT, "CCSDS_CDM_VERS", "CCSDS_OEM_VERS = 1.0")
    _raises(text, "CCSDS_CDM_VERS", 1, "must start with")


# --------------------------------------------------------------------------- XML safety


def test_xml_entity_expansion_is_rejected() -> None:
    bomb = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE cdm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
        '<cdm id="CCSDS_CDM_VERS" version="1.0"><header><ORIGINATOR>&c;</ORIGINATOR>'
        "</header></cdm>\n"
    )
    with pytest.raises(CdmError) as info:
        cdm_mod.loads(bomb)
    assert info.value.keyword == "DOCTYPE"


def test_xml_external_entity_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    xxe = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE cdm [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<cdm id="CCSDS_CDM_VERS" version="1.0"><header><ORIGINATOR>&x;</ORIGINATOR>'
        "</header></cdm>\n"
    )
    with pytest.raises(CdmError, match="DOCTYPE") as info:
        cdm_mod.loads(xxe)
    assert "top secret" not in str(info.value)
