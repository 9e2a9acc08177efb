"""XTCE loading and CCSDS packet decoding on the demo spacecraft definition.

Independent references: the packet bytes are unpacked by hand with ``struct`` at the
offsets the definition documents, and the GPS time of the secondary header is checked
against astropy's ``gps`` time format.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from astropy.time import Time
from space_packet_parser import validate_xtce
from space_packet_parser import xtce as spp_xtce

from astroshield.tm.demo import DEMO_XTCE_PATH, Fault, demo_definition, demo_frames, demo_packets
from astroshield.tm.xtce import (
    PacketDecodeError,
    XtceError,
    decode_packets,
    load_definition,
    parameter_specs,
)

START = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)
HK_BYTES = 6 + 6 + 4 + 2 + 2 + 2 + 1 + 1
ATT_BYTES = 6 + 6 + 7 * 4


def test_demo_definition_is_schema_valid_xtce() -> None:
    xsd = Path(spp_xtce.__file__).parent / "schemas" / "SpaceSystem.xsd"
    result = validate_xtce(
        str(DEMO_XTCE_PATH),
        local_xsd=xsd,
        allow_schema_download=False,
        raise_on_error=False,
        print_results=False,
    )
    assert result.valid, result


def test_parameter_specs_carry_type_unit_range_and_labels() -> None:
    specs = {spec.name: spec for spec in parameter_specs(demo_definition())}
    # Primary-header and time fields are not telemetry parameters.
    assert not {"PKT_APID", "SRC_SEQ_CTR", "SHCOARSE", "SHFINE"} & specs.keys()
    assert len(specs) == 14
    battery = specs["BATT_V"]
    assert (battery.type, battery.unit, battery.valid_min, battery.valid_max) == (
        "float",
        "V",
        0.0,
        40.0,
    )
    assert battery.description == "Battery voltage"
    assert specs["BUS_TEMP_A"].unit == "degC"
    assert specs["MODE"].type == "enum"
    assert specs["MODE"].enum_labels == {0: "SAFE", 1: "NOMINAL", 2: "SCIENCE", 3: "DOWNLINK"}
    assert specs["HEATER"].type == "bool"
    assert specs["HK_SPARE"].type == "int"
    assert specs["RATE_Z"].unit == "deg/s"


def test_default_alarm_ranges_are_read() -> None:
    ranges = demo_definition().alarm_ranges
    assert ranges["BATT_V"] == {"warning": (25.5, 29.4), "critical": (24.0, 30.5)}
    assert ranges["BUS_TEMP_A"]["watch"] == (-5.0, 40.0)


def test_generated_packets_decode_back_exactly() -> None:
    frames = demo_frames(START, 50, period_s=0.5, seed=3)
    samples = decode_packets(demo_definition(), demo_packets(START, 50, period_s=0.5, seed=3))
    expected = [
        (name, frame.time, value) for frame in frames for name, value in frame.values.items()
    ]
    assert [(s.parameter, s.time, s.value) for s in samples] == expected
    assert samples[0].time == START
    assert {s.time for s in samples if s.parameter == "BATT_V"} == {
        START + timedelta(seconds=0.5 * i) for i in range(50)
    }


def test_packet_bytes_match_an_independent_unpacking() -> None:
    data = demo_packets(START, 2, seed=1)
    assert len(data) == 2 * (HK_BYTES + ATT_BYTES)
    hk = data[:HK_BYTES]
    word0, sequence, length = struct.unpack(">HHH", hk[:6])
    assert word0 >> 13 == 0 and (word0 >> 11) & 1 == 1 and word0 & 0x7FF == 0x064
    assert sequence >> 14 == 3 and sequence & 0x3FFF == 0
    assert length == HK_BYTES - 7
    coarse, fine = struct.unpack(">IH", hk[6:12])
    gps_seconds = Time(START).gps  # astropy: seconds since 1980-01-06 00:00:00 UTC, uniform
    assert coarse + fine / 65536 == pytest.approx(gps_seconds, abs=1e-6)
    (voltage,) = struct.unpack(">f", hk[12:16])
    current_raw, temp_a_raw, temp_b_raw, mode, flags = struct.unpack(">hhhBB", hk[16:24])
    samples = {
        s.parameter: s.value for s in decode_packets(demo_definition(), hk) if s.time == START
    }
    assert samples["BATT_V"] == voltage
    assert samples["BATT_I"] == pytest.approx(current_raw * 0.001, abs=1e-12)
    assert samples["BUS_TEMP_A"] == pytest.approx(temp_a_raw * 0.01, abs=1e-12)
    assert samples["BUS_TEMP_B"] == pytest.approx(temp_b_raw * 0.01, abs=1e-12)
    assert samples["MODE"] == mode
    assert samples["HEATER"] is bool(flags >> 7)
    att = data[HK_BYTES : HK_BYTES + ATT_BYTES]
    assert struct.unpack(">H", att[:2])[0] & 0x7FF == 0x065
    quaternion = struct.unpack(">4f", att[12:28])
    assert sum(q * q for q in quaternion) == pytest.approx(1.0, abs=1e-6)


def test_values_are_physically_plausible_over_an_orbit() -> None:
    frames = demo_frames(START, 94, period_s=60.0)
    voltages = [f.values["BATT_V"] for f in frames if f.container == "HK"]
    currents = [f.values["BATT_I"] for f in frames if f.container == "HK"]
    assert 26.8 < min(voltages) < 27.2 and 28.3 < max(voltages) < 28.8
    assert min(currents) < -3 and max(currents) > 4  # discharging in eclipse, charging in sun


def test_fault_injection_forces_a_value_for_k_steps() -> None:
    frames = demo_frames(START, 10, faults=[Fault("BATT_V", 3, 4, 31.0)])
    voltages = [f.values["BATT_V"] for f in frames if f.container == "HK"]
    assert [v == 31.0 for v in voltages] == [False] * 3 + [True] * 4 + [False] * 3


def test_generation_is_deterministic() -> None:
    assert demo_packets(START, 20, seed=7) == demo_packets(START, 20, seed=7)
    assert demo_packets(START, 20, seed=7) != demo_packets(START, 20, seed=8)


def test_truncated_stream_names_the_packet_and_offset() -> None:
    data = demo_packets(START, 2)
    cut = 2 * HK_BYTES + ATT_BYTES + 10  # inside the fourth packet
    with pytest.raises(PacketDecodeError) as caught:
        decode_packets(demo_definition(), data[:cut])
    error = caught.value
    assert (error.packet_index, error.byte_offset) == (3, HK_BYTES + ATT_BYTES + HK_BYTES)
    assert error.reason.startswith("truncated")


def test_a_short_tail_is_truncated_too() -> None:
    data = demo_packets(START, 1)
    with pytest.raises(PacketDecodeError) as caught:
        decode_packets(demo_definition(), data + b"\x08\x64")
    assert caught.value.packet_index == 2 and caught.value.byte_offset == len(data)
    assert "truncated" in caught.value.reason


def test_packet_shorter_than_its_definition_is_truncated() -> None:
    hk = bytearray(demo_packets(START, 1)[:HK_BYTES])
    short = bytes(hk[:4]) + struct.pack(">H", HK_BYTES - 7 - 4) + bytes(hk[6 : HK_BYTES - 4])
    with pytest.raises(PacketDecodeError) as caught:
        decode_packets(demo_definition(), short)
    assert caught.value.reason.startswith("truncated")


def test_unknown_apid_is_reported_with_its_number() -> None:
    data = bytearray(demo_packets(START, 2))
    second_hk = HK_BYTES + ATT_BYTES
    data[second_hk : second_hk + 2] = struct.pack(">H", (1 << 11) | 0x123)
    with pytest.raises(PacketDecodeError) as caught:
        decode_packets(demo_definition(), bytes(data))
    assert caught.value.packet_index == 2
    assert caught.value.byte_offset == second_hk
    assert caught.value.reason == "unknown APID 0x123"


def test_empty_stream_has_no_samples() -> None:
    assert decode_packets(demo_definition(), b"") == []


def _demo_text() -> str:
    return DEMO_XTCE_PATH.read_text()


def test_a_j2000_tt_epoch_is_converted_with_leap_seconds() -> None:
    definition = load_definition(
        _demo_text().replace("<xtce:Epoch>GPS</xtce:Epoch>", "<xtce:Epoch>J2000</xtce:Epoch>")
    )
    hk = bytearray(demo_packets(START, 1)[:HK_BYTES])
    tt_seconds = (Time(START).tt - Time("J2000", scale="tt")).to_value("s")  # astropy reference
    coarse = int(tt_seconds)
    fine = round((tt_seconds - coarse) * 65536)
    hk[6:12] = struct.pack(">IH", coarse, fine)
    time = decode_packets(definition, bytes(hk))[0].time
    assert abs((time - START).total_seconds()) < 1 / 65536


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda t: t.replace('parameterTypeRef="MODE_Type"', 'parameterTypeRef="NOPE"'), "NOPE"),
        (lambda t: t.replace('parameterRef="BATT_I"/>', 'parameterRef="BATT_X"/>'), "BATT_X"),
        (lambda t: t.replace("<xtce:Epoch>GPS", "<xtce:Epoch>MARS"), "CUC_COARSE_Type"),
        (lambda t: t.replace('maxInclusive="40"', 'maxInclusive="forty"'), "ValidRange"),
        (lambda t: t.replace("</xtce:SpaceSystem>", ""), "well-formed"),
        (lambda t: '<!DOCTYPE x [<!ENTITY e "x">]>' + t.split("?>", 1)[1], "DOCTYPE"),
    ],
)
def test_bad_definitions_name_the_element(mutate: object, names: str) -> None:
    with pytest.raises(XtceError, match=names):
        load_definition(mutate(_demo_text()))  # type: ignore[operator]
