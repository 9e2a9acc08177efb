"""CCSDS OEM (502.0-B-3) KVN/XML reading, writing and validation.

The sample messages follow the layout of the examples in CCSDS 502.0-B-3 (the Mars Global
Surveyor OEM example, numbers abridged); expected values below are read off the sample text.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from astroshield.astro.formats import oem as oem_mod
from astroshield.astro.formats.oem import (
    Oem,
    OemCovariance,
    OemError,
    OemHeader,
    OemMetadata,
    OemSegment,
    OemStateVector,
)

SAMPLE_KVN = """\
CCSDS_OEM_VERS = 3.0
COMMENT Sample after CCSDS 502.0-B-3 figure 5-3
CREATION_DATE = 1996-11-04T17:22:31
ORIGINATOR = NASA/JPL
MESSAGE_ID = OEM 201113719185

META_START
OBJECT_NAME = MARS GLOBAL SURVEYOR
OBJECT_ID = 1996-062A
CENTER_NAME = MARS BARYCENTER
REF_FRAME = EME2000
TIME_SYSTEM = UTC
START_TIME = 1996-12-18T12:00:00.331
USEABLE_START_TIME = 1996-12-18T12:10:00.331
USEABLE_STOP_TIME = 1996-12-28T21:23:00.331
STOP_TIME = 1996-12-28T21:28:00.331
INTERPOLATION = HERMITE
INTERPOLATION_DEGREE = 7
META_STOP

COMMENT This file was produced by M.R. Somebody, MSOO NAV/JPL, 1996NOV 04.
1996-12-18T12:00:00.331 2789.619 -280.045 -1746.755 4.73372 -2.49586 -1.04195
1996-12-18T12:01:00.331 2783.419 -308.143 -1877.071 5.18604 -2.42124 -1.99608
1996-353T12:02:00.331 2776.033 -336.859 -2008.682 5.63678 -2.33951 -1.94687
1996-12-28T21:28:00.331 -3881.024 563.959 -682.773 -3.28827 -3.66735 1.63861

META_START
OBJECT_NAME = MARS GLOBAL SURVEYOR
OBJECT_ID = 1996-062A
CENTER_NAME = MARS BARYCENTER
REF_FRAME = EME2000
TIME_SYSTEM = UTC
START_TIME = 1996-12-28T21:29:07.267
STOP_TIME = 1996-12-30T01:28:02.267
INTERPOLATION = HERMITE
INTERPOLATION_DEGREE = 7
META_STOP
1996-12-28T21:29:07.267 -2432.166 -063.042 1742.754 7.33702 -3.495867 -1.041945 0.001 -0.002 0.003
1996-12-30T01:28:02.267 2164.375 1115.811 -688.131 -3.53328 -2.88452 0.88535 0.001 -0.002 0.003

COVARIANCE_START
EPOCH = 1996-12-28T21:29:07.267
COV_REF_FRAME = EME2000
3.3313494e-04
4.6189273e-04 6.7824216e-04
-3.0700078e-04 -4.2212341e-04 3.2319319e-04
-3.3493650e-07 -4.6860842e-07 2.4849495e-07 4.2960228e-10
-2.2118325e-07 -2.8641868e-07 1.7980986e-07 2.6088992e-10 1.7675147e-10
-3.0413460e-07 -4.9894969e-07 3.5403109e-07 1.8692631e-10 1.0088625e-10 6.2244443e-10
EPOCH = 1996-12-29T21:00:00
3.4424505e-04
4.5078162e-04 6.8935327e-04
-3.0600067e-04 -4.1101230e-04 3.3420420e-04
-3.2382549e-07 -4.5750731e-07 2.3738384e-07 4.3071339e-10
-2.1007214e-07 -2.7530757e-07 1.6870875e-07 2.5077881e-10 1.8786258e-10
-3.0302350e-07 -4.8783858e-07 3.4302008e-07 1.7581520e-10 1.1099736e-10 6.3355554e-10
COVARIANCE_STOP
"""


def sample_oem() -> Oem:
    cov = np.diag([1e-4, 2e-4, 3e-4, 1e-9, 2e-9, 3e-9])
    cov[1, 0] = cov[0, 1] = 5e-5
    cov[5, 2] = cov[2, 5] = -7.25e-8
    meta = OemMetadata(
        object_name="ASTROSHIELD-TEST 1",
        object_id="2024-123A",
        center_name="EARTH",
        ref_frame="GCRF",
        time_system="UTC",
        start_time=datetime(2024, 5, 1),  # noqa: DTZ001  # labels in TIME_SYSTEM by design
        stop_time=datetime(2024, 5, 1, 0, 2),  # noqa: DTZ001
        useable_start_time=datetime(2024, 5, 1, 0, 0, 30),  # noqa: DTZ001
        useable_stop_time=datetime(2024, 5, 1, 0, 1, 30),  # noqa: DTZ001
        interpolation="LAGRANGE",
        interpolation_degree=5,
        ref_frame_epoch=datetime(2000, 1, 1, 12),  # noqa: DTZ001
        comments=("metadata comment", ""),
    )
    states = tuple(
        OemStateVector(
            epoch=datetime(2024, 5, 1, 0, minute, 0, 123456 if minute == 1 else 0),  # noqa: DTZ001
            position_km=(6778.137 + minute, -0.1 / 3.0, 1e-300),
            velocity_km_s=(0.0, 7.6686 - minute * 1e-9, -1.5e-17),
            acceleration_km_s2=(-8.7e-3, 1e-12, 0.0) if minute == 2 else None,
        )
        for minute in range(3)
    )
    segment1 = OemSegment(
        metadata=meta,
        states=states,
        covariances=(
            OemCovariance.from_matrix(datetime(2024, 5, 1), cov, "RTN", ("cov note",)),  # noqa: DTZ001
            OemCovariance.from_matrix(datetime(2024, 5, 1, 0, 2), cov * 2.0),  # noqa: DTZ001
        ),
        data_comments=("data comment <with> & xml specials",),
    )
    meta2 = OemMetadata(
        object_name="ASTROSHIELD-TEST 1",
        object_id="2024-123A",
        center_name="EARTH",
        ref_frame="TEME",
        time_system="TAI",
        start_time=datetime(2024, 5, 1, 0, 2),  # noqa: DTZ001
        stop_time=datetime(2024, 5, 1, 0, 3),  # noqa: DTZ001
    )
    segment2 = OemSegment(
        metadata=meta2,
        states=(
            OemStateVector(
                datetime(2024, 5, 1, 0, 2, 30),  # noqa: DTZ001
                (1.0, 2.0, 3.0),
                (4.0, 5.0, 6.0),
            ),
        ),
    )
    header = OemHeader(
        creation_date=datetime(2024, 5, 2, 10, 11, 12, 999999),  # noqa: DTZ001
        originator="ASTROSHIELD",
        classification="UNCLASSIFIED",
        message_id="MSG-0001",
        comments=("header comment",),
    )
    return Oem(header=header, segments=(segment1, segment2))


# --------------------------------------------------------------------------- reading


def test_read_sample_kvn_values() -> None:
    msg = oem_mod.loads(SAMPLE_KVN)
    assert msg.header.version == "3.0"
    assert msg.header.originator == "NASA/JPL"
    assert msg.header.message_id == "OEM 201113719185"
    assert msg.header.comments == ("Sample after CCSDS 502.0-B-3 figure 5-3",)
    assert len(msg.segments) == 2
    seg1, seg2 = msg.segments
    assert seg1.metadata.object_name == "MARS GLOBAL SURVEYOR"
    assert seg1.metadata.interpolation == "HERMITE"
    assert seg1.metadata.interpolation_degree == 7
    assert seg1.metadata.start_time == datetime(1996, 12, 18, 12, 0, 0, 331000)  # noqa: DTZ001
    assert seg1.data_comments[0].startswith("This file was produced")
    assert seg1.states[0].position_km == (2789.619, -280.045, -1746.755)
    assert seg1.states[0].velocity_km_s == (4.73372, -2.49586, -1.04195)
    # day-of-year 353 of leap year 1996 is 18 December
    assert seg1.states[2].epoch == datetime(1996, 12, 18, 12, 2, 0, 331000)  # noqa: DTZ001
    assert seg2.states[0].acceleration_km_s2 == (0.001, -0.002, 0.003)
    assert seg2.states[0].position_km[1] == -63.042
    assert len(seg2.covariances) == 2
    cov = seg2.covariances[0]
    assert cov.cov_ref_frame == "EME2000"
    m = cov.matrix()
    assert m[0, 0] == 3.3313494e-04
    assert m[5, 3] == m[3, 5] == 1.8692631e-10  # row 6 (z_dot), column 4 (x_dot)
    assert m[5, 5] == 6.2244443e-10
    assert seg2.covariances[1].cov_ref_frame is None
    np.testing.assert_array_equal(
        seg1.positions_km()[:, 0], [2789.619, 2783.419, 2776.033, -3881.024]
    )


def test_kvn_and_xml_encodings_of_sample_agree() -> None:
    msg = oem_mod.loads(SAMPLE_KVN)
    assert oem_mod.loads_xml(oem_mod.dumps_xml(msg)) == msg


# ---------------------------------------------------------------------- round trips


def test_round_trip_kvn() -> None:
    original = sample_oem()
    text = oem_mod.dumps_kvn(original)
    assert text.startswith("CCSDS_OEM_VERS = 3.0\n")
    assert oem_mod.loads_kvn(text) == original
    # rewriting the parsed message is byte-identical
    assert oem_mod.dumps_kvn(oem_mod.loads_kvn(text)) == text


def test_round_trip_xml(tmp_path: Path) -> None:
    original = sample_oem()
    text = oem_mod.dumps_xml(original)
    assert "<covarianceMatrix>" in text
    assert "&lt;with&gt; &amp;" in text
    assert oem_mod.loads_xml(text) == original
    path = tmp_path / "sample.xml"
    oem_mod.write_oem(original, path, fmt="xml")
    assert oem_mod.read_oem(path) == original
    kvn_path = tmp_path / "sample.oem"
    oem_mod.write_oem(original, kvn_path)
    assert oem_mod.read_oem(kvn_path) == original


def test_loads_detects_encoding_and_byte_order_mark() -> None:
    original = sample_oem()
    for text in (oem_mod.dumps_kvn(original), oem_mod.dumps_xml(original)):
        assert oem_mod.loads(b"\xef\xbb\xbf" + text.encode()) == original
        assert oem_mod.loads("\ufeff" + text) == original


def test_covariance_matrix_helpers() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=(6, 6))
    full = a @ a.T
    cov = OemCovariance.from_matrix(datetime(2024, 1, 1), full)  # noqa: DTZ001
    np.testing.assert_array_equal(cov.matrix(), np.tril(full) + np.tril(full, -1).T)
    # CCSDS order: element 10 (index 9) is CX_DOT_X_DOT = C[3,3]
    assert cov.lower_triangle[9] == full[3, 3]
    assert oem_mod.COVARIANCE_ELEMENTS[9] == "CX_DOT_X_DOT"


def test_epoch_parsing_precision() -> None:
    parse = oem_mod.parse_epoch
    assert parse("2020-001T00:00:00Z") == datetime(2020, 1, 1)  # noqa: DTZ001
    assert parse("2020-366T23:59:59.5") == datetime(2020, 12, 31, 23, 59, 59, 500000)  # noqa: DTZ001
    # 7 fractional digits: rounded half-up to the microsecond
    assert parse("2020-01-01T00:00:00.3314995").microsecond == 331500
    assert parse("2020-01-01T00:00:00.9999996") == datetime(2020, 1, 1, 0, 0, 1)  # noqa: DTZ001


# ------------------------------------------------------------------------ validation


def _replace_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_missing_mandatory_keyword_named() -> None:
    bad = _replace_line(SAMPLE_KVN, "OBJECT_ID = 1996-062A\n", "")
    with pytest.raises(OemError, match="OBJECT_ID") as info:
        oem_mod.loads_kvn(bad)
    assert info.value.keyword == "OBJECT_ID"
    assert info.value.line == _line_of(bad, "META_STOP")
    bad = _replace_line(SAMPLE_KVN, "ORIGINATOR = NASA/JPL\n", "")
    with pytest.raises(OemError, match="ORIGINATOR"):
        oem_mod.loads_kvn(bad)


def test_epoch_outside_start_stop_names_line() -> None:
    bad = _replace_line(
        SAMPLE_KVN, "1996-12-28T21:28:00.331 -3881", "1996-12-28T21:28:00.332 -3881"
    )
    with pytest.raises(OemError, match=r"outside START_TIME\.\.STOP_TIME") as info:
        oem_mod.loads_kvn(bad)
    assert info.value.line == _line_of(bad, "1996-12-28T21:28:00.332")
    assert info.value.keyword == "EPOCH"
    assert f"line {info.value.line}" in str(info.value)


def test_wrong_column_count_names_line() -> None:
    bad = _replace_line(SAMPLE_KVN, " -1.04195\n", "\n")
    with pytest.raises(OemError, match="7 or 10 columns") as info:
        oem_mod.loads_kvn(bad)
    assert info.value.line == _line_of(bad, "1996-12-18T12:00:00.331 2789")


def test_bad_number_names_keyword_and_line() -> None:
    bad = _replace_line(SAMPLE_KVN, "-308.143", "-308.1x3")
    with pytest.raises(OemError, match="bad number") as info:
        oem_mod.loads_kvn(bad)
    assert info.value.keyword == "Y"
    assert info.value.line == _line_of(bad, "-308.1x3")
    bad = _replace_line(SAMPLE_KVN, "6.7824216e-04", "6.78.24216e-04")
    with pytest.raises(OemError, match="CY_Y") as info:
        oem_mod.loads_kvn(bad)
    assert info.value.line == _line_of(bad, "6.78.24216e-04")


def test_other_kvn_errors() -> None:
    cases = [
        (
            _replace_line(SAMPLE_KVN, "INTERPOLATION_DEGREE = 7", "INTERPOLATION_DEGREE = seven"),
            "INTERPOLATION_DEGREE",
        ),
        (
            _replace_line(SAMPLE_KVN, "TIME_SYSTEM = UTC", "TIME_SYSTEM = UTC\nTIME_SYSTEM = TAI"),
            "duplicate",
        ),
        (_replace_line(SAMPLE_KVN, "TIME_SYSTEM = UTC", "TIME_SYSTEM = UTC\nFOO = 1"), "FOO"),
        (
            _replace_line(SAMPLE_KVN, "1996-12-18T12:01:00.331", "1996-12-18T11:59:00.331"),
            "outside",
        ),
        (
            _replace_line(SAMPLE_KVN, "1996-353T12:02:00.331", "1996-12-18T12:00:30.331"),
            "increasing",
        ),
        (
            _replace_line(
                SAMPLE_KVN, "1996-12-18T12:00:00.331 2789", "1996-12-18T12:00:60.000 2789"
            ),
            "leap-second",
        ),
        (
            _replace_line(SAMPLE_KVN, "CCSDS_OEM_VERS = 3.0", "CCSDS_OPM_VERS = 3.0"),
            "CCSDS_OEM_VERS",
        ),
        (SAMPLE_KVN.split("\nCOVARIANCE_STOP")[0], "unexpected end"),
    ]
    for text, pattern in cases:
        with pytest.raises(OemError, match=pattern):
            oem_mod.loads_kvn(text)


def test_xml_validation_errors_name_element_and_line() -> None:
    text = oem_mod.dumps_xml(sample_oem())
    bad = _replace_line(text, "<OBJECT_ID>2024-123A</OBJECT_ID>", "")
    with pytest.raises(OemError, match="OBJECT_ID") as info:
        oem_mod.loads_xml(bad)
    assert info.value.line == _line_of(bad, "<metadata>")
    bad = _replace_line(text, "<Y_DOT>7.6686</Y_DOT>", "<Y_DOT>7.66.86</Y_DOT>")
    with pytest.raises(OemError, match="bad number") as info:
        oem_mod.loads_xml(bad)
    assert info.value.keyword == "Y_DOT"
    assert info.value.line == _line_of(bad, "7.66.86")
    bad = _replace_line(
        text,
        "<EPOCH>2024-05-01T00:02:30.000000</EPOCH>",
        "<EPOCH>2024-05-01T00:03:30.000000</EPOCH>",
    )
    with pytest.raises(OemError, match="outside") as info:
        oem_mod.loads_xml(bad)
    assert info.value.line == _line_of(bad, "00:03:30") - 1  # the <stateVector> line
    with pytest.raises(OemError, match="malformed XML") as info:
        oem_mod.loads_xml(text.replace("</header>", "</heder>"))
    assert info.value.line == _line_of(text, "</header>")


def test_xml_entity_expansion_and_external_entities_refused() -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE oem [\n<!ENTITY a "aaaaaaaaaa">\n'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">\n'
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + ']>\n<oem id="CCSDS_OEM_VERS" version="3.0"><header><ORIGINATOR>&i;</ORIGINATOR>'
        "</header></oem>"
    )
    start = time.perf_counter()
    with pytest.raises(OemError, match="not allowed"):
        oem_mod.loads_xml(laughs)
    assert time.perf_counter() - start < 1.0
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE oem [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<oem version="3.0"><header><ORIGINATOR>&x;</ORIGINATOR></header></oem>'
    )
    with pytest.raises(OemError, match="not allowed"):
        oem_mod.loads_xml(xxe)


def test_writer_validates() -> None:
    good = sample_oem()
    seg = good.segments[1]
    late = OemSegment(
        metadata=seg.metadata,
        states=(OemStateVector(datetime(2024, 5, 1, 0, 5), (1.0, 2.0, 3.0), (4.0, 5.0, 6.0)),),  # noqa: DTZ001
    )
    with pytest.raises(OemError, match="outside"):
        oem_mod.dumps_kvn(Oem(header=good.header, segments=(late,)))
    with pytest.raises(OemError, match="non-finite"):
        oem_mod.dumps_xml(
            Oem(
                header=good.header,
                segments=(
                    OemSegment(
                        metadata=seg.metadata,
                        states=(
                            OemStateVector(
                                datetime(2024, 5, 1, 0, 2, 30),  # noqa: DTZ001
                                (float("nan"), 2.0, 3.0),
                                (4.0, 5.0, 6.0),
                            ),
                        ),
                    ),
                ),
            )
        )


@pytest.mark.parametrize(("method", "degree"), [("LAGRANGE", 7), ("HERMITE", 7), (None, None)])
def test_segment_interpolation_reproduces_circular_orbit(
    method: str | None, degree: int | None
) -> None:
    # Analytic circular orbit sampled every 60 s. Remainder bounds (see test_interpolation):
    # Lagrange 8 nodes ~1e-9 km, Hermite 4 nodes ~2e-11 km at this step; 1e-8 km leaves
    # room for rounding of the 7000-km values.
    mu, radius = 398600.4418, 7000.0
    n = np.sqrt(mu / radius**3)
    t0 = datetime(2025, 1, 1)  # noqa: DTZ001
    seconds = np.arange(0, 1201, 60)

    def state(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = n * t
        r = radius * np.stack([np.cos(u), np.sin(u), 0 * u], axis=-1)
        v = radius * n * np.stack([-np.sin(u), np.cos(u), 0 * u], axis=-1)
        return r, v

    r, v = state(seconds.astype(float))
    epochs = [t0 + timedelta(seconds=int(s)) for s in seconds]
    epochs64 = np.datetime64("2025-01-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    meta = OemMetadata(
        object_name="CIRC",
        object_id="2025-001A",
        center_name="EARTH",
        ref_frame="GCRF",
        time_system="UTC",
        start_time=epochs[0],
        stop_time=epochs[-1],
        interpolation=method,
        interpolation_degree=degree,
    )
    segment = OemSegment.from_arrays(meta, epochs64, r, v)
    assert segment.states[1].epoch == epochs[1]
    assert segment.states[1].position_km == (float(r[1, 0]), float(r[1, 1]), 0.0)
    assert oem_mod.loads_kvn(
        oem_mod.dumps_kvn(Oem(OemHeader(datetime(2025, 1, 2), "T"), (segment,)))  # noqa: DTZ001
    ).segments == (segment,)
    query_s = np.array([30.0, 455.5, 1170.0])
    query = np.datetime64("2025-01-01T00:00:00", "us") + (query_s * 1e6).astype("timedelta64[us]")
    r_i, v_i = segment.interpolate(query)
    r_true, v_true = state(query_s)
    np.testing.assert_allclose(r_i, r_true, atol=1e-8)
    np.testing.assert_allclose(v_i, v_true, atol=1e-10)
