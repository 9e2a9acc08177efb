"""A deterministic demo spacecraft: telemetry frames and the CCSDS packets that carry them.

The packets are packed field by field from the demo XTCE definition (the same document the
decoder reads), so the generator and the definition cannot drift apart. The values follow a
simple physical model of a LEO bus on a 94-minute orbit with a 35 % eclipse:

* battery voltage rises while charging in sunlight (exponential approach to ~28.6 V) and
  falls linearly in eclipse (to ~27.0 V); the current is positive while charging;
* bus temperatures swing with the orbit and drift slowly upwards; the battery heater turns
  on when the battery compartment falls below 10 degC;
* the attitude is nadir pointing: a rotation about the body y axis at orbital rate.

``seed`` only changes the sensor noise and the orbit phase at ``start``; ``faults`` force a
parameter to a value for a run of time steps (to exercise limits and alarms).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from space_packet_parser.xtce import calibrators, encodings, parameter_types, parameters  # type: ignore[import-untyped]

from astroshield.tm import timecodes
from astroshield.tm.xtce import PacketDefinition, load_definition

DEMO_XTCE_PATH = resources.files("astroshield.tm") / "data" / "demo_spacecraft.xtce.xml"
HOUSEKEEPING = "HK"
ATTITUDE = "ATT"
ORBIT_PERIOD_S = 5640.0
ECLIPSE_FRACTION = 0.35
_SUNLIT_S = ORBIT_PERIOD_S * (1 - ECLIPSE_FRACTION)
_ECLIPSE_S = ORBIT_PERIOD_S * ECLIPSE_FRACTION
_FLOAT_FORMATS = {32: ">f", 64: ">d"}
_SEQUENCE_MODULUS = 1 << 14


@dataclass(frozen=True)
class Fault:
    """Force ``parameter`` to ``value`` for ``count`` time steps from step ``start``."""

    parameter: str
    start: int
    count: int
    value: float


@dataclass(frozen=True)
class Frame:
    """One packet's content: the values exactly as the packet represents them."""

    container: str
    time: datetime
    values: dict[str, float | int | bool]


@cache
def demo_definition() -> PacketDefinition:
    return load_definition(DEMO_XTCE_PATH.read_bytes())


def _housekeeping(elapsed_s: float, noise: np.random.Generator) -> dict[str, float | int | bool]:
    phase_s = elapsed_s % ORBIT_PERIOD_S
    sunlit = phase_s < _SUNLIT_S
    end_of_sun_v = 27.0 + 1.6 * (1 - math.exp(-_SUNLIT_S / 1200.0))
    if sunlit:
        voltage = 27.0 + 1.6 * (1 - math.exp(-phase_s / 1200.0))
        current = 5.0 * math.exp(-phase_s / 1200.0) + 0.3
    else:
        voltage = end_of_sun_v - (end_of_sun_v - 27.0) * (phase_s - _SUNLIT_S) / _ECLIPSE_S
        current = -3.2
    angle = 2 * math.pi * phase_s / ORBIT_PERIOD_S
    drift = 0.2 * elapsed_s / 3600.0
    avionics = 18.0 + 6.0 * math.sin(angle) + drift
    battery = 12.0 + 3.0 * math.sin(angle - 0.6) + drift
    science = 0.1 * ORBIT_PERIOD_S <= phase_s < 0.4 * ORBIT_PERIOD_S
    return {
        "BATT_V": voltage + noise.normal(0, 0.01),
        "BATT_I": current + noise.normal(0, 0.02),
        "BUS_TEMP_A": avionics + noise.normal(0, 0.05),
        "BUS_TEMP_B": battery + noise.normal(0, 0.05),
        "MODE": 2 if science else 1,
        "HEATER": battery < 10.0,
        "HK_SPARE": 0,
    }


def _attitude(elapsed_s: float, noise: np.random.Generator) -> dict[str, float | int | bool]:
    angle = 2 * math.pi * (elapsed_s % ORBIT_PERIOD_S) / ORBIT_PERIOD_S
    orbit_rate = -360.0 / ORBIT_PERIOD_S
    return {
        "ATT_Q1": 0.0,
        "ATT_Q2": math.sin(angle / 2),
        "ATT_Q3": 0.0,
        "ATT_Q4": math.cos(angle / 2),
        "RATE_X": noise.normal(0, 0.002),
        "RATE_Y": orbit_rate + noise.normal(0, 0.002),
        "RATE_Z": noise.normal(0, 0.002),
    }


def demo_frames(
    start: datetime,
    count: int,
    *,
    period_s: float = 1.0,
    seed: int = 0,
    faults: Sequence[Fault] = (),
) -> list[Frame]:
    """``count`` time steps from ``start``, each with one housekeeping and one attitude
    frame (in that order); values and times already quantised as the packets carry them."""
    if count < 0 or period_s <= 0:
        raise ValueError("count must be >= 0 and period_s > 0")
    definition = demo_definition()
    noise = np.random.default_rng(seed)
    orbit_offset_s = float(noise.uniform(0, ORBIT_PERIOD_S)) if seed else 0.0
    frames: list[Frame] = []
    for step in range(count):
        elapsed = step * period_s
        time = start + timedelta(seconds=elapsed)
        hk = _housekeeping(orbit_offset_s + elapsed, noise)
        att = _attitude(orbit_offset_s + elapsed, noise)
        for fault in faults:
            if fault.start <= step < fault.start + fault.count:
                target = hk if fault.parameter in hk else att
                if fault.parameter not in target:
                    raise ValueError(f"unknown demo parameter {fault.parameter!r}")
                target[fault.parameter] = fault.value
        for container, values in ((HOUSEKEEPING, hk), (ATTITUDE, att)):
            frames.append(
                Frame(container, _carried_time(definition, time), _carried(definition, values))
            )
    return frames


def demo_packets(
    start: datetime,
    count: int,
    *,
    period_s: float = 1.0,
    seed: int = 0,
    faults: Sequence[Fault] = (),
) -> bytes:
    """The CCSDS packets of :func:`demo_frames`, concatenated (2 x ``count`` packets)."""
    return encode_frames(
        demo_definition(), demo_frames(start, count, period_s=period_s, seed=seed, faults=faults)
    )


# --- packing per the definition -------------------------------------------------------------


def _linear(calibrator: Any) -> tuple[float, float]:
    if calibrator is None:
        return 0.0, 1.0
    if not isinstance(calibrator, calibrators.PolynomialCalibrator):
        raise ValueError(f"cannot invert a {type(calibrator).__name__}")
    terms = {int(c.exponent): float(c.coefficient) for c in calibrator.coefficients}
    if set(terms) - {0, 1}:
        raise ValueError("only linear polynomial calibrators can be inverted")
    return terms.get(0, 0.0), terms.get(1, 1.0)


def _raw(parameter_type: parameter_types.ParameterType, value: Any) -> tuple[int, int]:
    """(raw bits, size in bits) for an engineering value."""
    encoding = parameter_type.encoding
    if getattr(encoding, "byte_order", "mostSignificantByteFirst") != "mostSignificantByteFirst":
        raise ValueError(f"{parameter_type.name}: only big-endian encodings are packed")
    if isinstance(parameter_type, parameter_types.EnumeratedParameterType) and isinstance(
        value, str
    ):
        codes = {label: code for code, label in parameter_type.enumeration.items()}
        value = codes[value]
    if isinstance(encoding, encodings.FloatDataEncoding):
        fmt = _FLOAT_FORMATS[encoding.size_in_bits]
        return int.from_bytes(struct.pack(fmt, float(value))), encoding.size_in_bits
    if isinstance(encoding, encodings.IntegerDataEncoding):
        size = encoding.size_in_bits
        offset, scale = _linear(encoding.default_calibrator)
        raw = round((float(value) - offset) / scale) if encoding.default_calibrator else int(value)
        signed = encoding.encoding != "unsigned"
        low, high = (-(1 << (size - 1)), (1 << (size - 1)) - 1) if signed else (0, (1 << size) - 1)
        if not low <= raw <= high:
            raise ValueError(f"{parameter_type.name}: {value!r} does not fit in {size} bits")
        return raw & ((1 << size) - 1), size
    raise ValueError(f"{parameter_type.name}: cannot pack a {type(encoding).__name__}")


def _unpacked(parameter_type: parameter_types.ParameterType, value: Any) -> float | int | bool:
    """What the decoder will read back for ``value`` (the packet's quantisation)."""
    raw, size = _raw(parameter_type, value)
    encoding = parameter_type.encoding
    if isinstance(parameter_type, parameter_types.BooleanParameterType):
        return bool(raw)
    if isinstance(encoding, encodings.FloatDataEncoding):
        return float(struct.unpack(_FLOAT_FORMATS[size], raw.to_bytes(size // 8))[0])
    signed = encoding.encoding != "unsigned"
    if signed and raw >= 1 << (size - 1):
        raw -= 1 << size
    if getattr(encoding, "default_calibrator", None) is None:
        return raw
    offset, scale = _linear(encoding.default_calibrator)
    return offset + scale * raw


def _parameter(definition: PacketDefinition, name: str) -> parameters.Parameter:
    return definition.packets.parameters[name]


def _carried(definition: PacketDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _unpacked(_parameter(definition, name).parameter_type, value)
        for name, value in values.items()
    }


def _time_counts(definition: PacketDefinition, time: datetime) -> dict[str, int]:
    """Raw coarse and fine counts of the secondary-header time field."""
    time_field = definition.time_fields[0]
    count_us = timecodes.utc_to_count_us(time_field.epoch, time)
    seconds, micros = divmod(count_us, 1_000_000)
    counts = {time_field.coarse: seconds}
    for fine in time_field.fine:
        _, scale = _linear(_parameter(definition, fine).parameter_type.encoding.default_calibrator)
        ticks = round(micros / 1e6 / scale)
        if ticks * scale >= 1:  # rounding reached the next second
            ticks = 0
            counts[time_field.coarse] += 1
        counts[fine] = ticks
    return counts


def _carried_time(definition: PacketDefinition, time: datetime) -> datetime:
    time_field = definition.time_fields[0]
    counts = _time_counts(definition, time)
    count_us = counts[time_field.coarse] * 1_000_000
    for fine in time_field.fine:
        _, scale = _linear(_parameter(definition, fine).parameter_type.encoding.default_calibrator)
        count_us += round(counts[fine] * scale * 1e6)
    return timecodes.count_to_utc(time_field.epoch, count_us).astimezone(UTC)


def _container_chain(definition: PacketDefinition, name: str) -> list[Any]:
    containers = definition.packets.containers
    chain = [containers[name]]
    while chain[-1].base_container_name:
        chain.append(containers[chain[-1].base_container_name])
    return list(reversed(chain))


def encode_frame(definition: PacketDefinition, frame: Frame, sequence_count: int) -> bytes:
    """One CCSDS packet carrying ``frame``; the first container of the chain must be the
    7-field primary header (version, type, secondary header flag, APID, sequence flags,
    sequence count, data length)."""
    chain = _container_chain(definition, frame.container)
    fixed: dict[str, Any] = {}
    for container in chain:
        for criterion in container.restriction_criteria or ():
            fixed[criterion.referenced_parameter] = int(float(criterion.required_value))
    fixed.update(_time_counts(definition, frame.time))
    header = [entry.name for entry in chain[0].entry_list]
    if len(header) != 7:
        raise ValueError(f"{chain[0].name} is not a CCSDS primary header")
    fixed.update(
        {header[0]: 0, header[1]: 0, header[4]: 3, header[5]: sequence_count % _SEQUENCE_MODULUS}
    )
    bits = 0
    size = 0
    for container in chain[1:]:
        for entry in container.entry_list:
            if entry.name in fixed:
                raw, width = _raw_count(entry.parameter_type, fixed[entry.name])
            else:
                raw, width = _raw(entry.parameter_type, frame.values[entry.name])
            bits, size = (bits << width) | raw, size + width
    if size % 8:
        raise ValueError(f"{frame.container} is not a whole number of octets ({size} bits)")
    body = bits.to_bytes(size // 8) if size else b""
    fixed[header[6]] = len(body) - 1
    head = 0
    for entry in chain[0].entry_list:
        raw, width = _raw_count(entry.parameter_type, fixed[entry.name])
        head = (head << width) | raw
    return head.to_bytes(6) + body


def _raw_count(parameter_type: parameter_types.ParameterType, raw: int) -> tuple[int, int]:
    size = int(parameter_type.encoding.size_in_bits)
    if not 0 <= raw < 1 << size:
        raise ValueError(f"{parameter_type.name}: {raw} does not fit in {size} bits")
    return raw, size


def encode_frames(definition: PacketDefinition, frames: Iterable[Frame]) -> bytes:
    counters: dict[str, int] = {}
    out = bytearray()
    for frame in frames:
        sequence = counters.get(frame.container, 0)
        counters[frame.container] = sequence + 1
        out += encode_frame(definition, frame, sequence)
    return bytes(out)
