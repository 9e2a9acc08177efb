"""XTCE telemetry definitions and CCSDS space packet decoding, on space-packet-parser.

The packet structure (bit layout, calibration, container inheritance by APID) is decoded by
space-packet-parser; this module adds what a telemetry archive needs around it:

* a parameter dictionary (:class:`ParameterSpec`: type, unit, description, valid range,
  enumeration labels) and the XTCE ``DefaultAlarm`` static ranges, which space-packet-parser
  does not read;
* sample times from the packet's secondary-header time field: the parameter of an
  ``AbsoluteTimeParameterType`` with a ``ReferenceTime/Epoch`` (the coarse count) plus any
  absolute-time parameters whose ``ReferenceTime/OffsetFrom`` names it (the fine count),
  both in seconds; see :mod:`astroshield.tm.timecodes` for the epochs;
* errors that say which packet and which byte: :class:`PacketDecodeError`.

The primary-header fields (the root container's entries) and the time fields are not
telemetry parameters. Enumerated parameters decode to their integer code (the labels are in
the dictionary), booleans to ``bool``, binary fields to a hex string.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from space_packet_parser import XtcePacketDefinition  # type: ignore[import-untyped]
from space_packet_parser.exceptions import UnrecognizedPacketTypeError  # type: ignore[import-untyped]
from space_packet_parser.generators import ccsds_generator  # type: ignore[import-untyped]
from space_packet_parser.xtce import parameter_types  # type: ignore[import-untyped]

from astroshield.tm import timecodes

PRIMARY_HEADER_BYTES = 6
ALARM_LEVELS = ("watch", "warning", "distress", "critical", "severe")
_XTCE_RANGE_ELEMENTS = {f"{level.capitalize()}Range": level for level in ALARM_LEVELS}

SampleValue = float | int | bool | str
Range = tuple[float | None, float | None]


class XtceError(ValueError):
    """The definition cannot be used; the message names the offending element."""


class PacketDecodeError(ValueError):
    """A packet in a byte stream cannot be decoded."""

    def __init__(self, packet_index: int, byte_offset: int, reason: str) -> None:
        super().__init__(f"packet {packet_index} at byte {byte_offset}: {reason}")
        self.packet_index = packet_index
        self.byte_offset = byte_offset
        self.reason = reason


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str  # "float" | "int" | "bool" | "enum" | "string"
    unit: str | None
    description: str | None
    valid_min: float | None
    valid_max: float | None
    enum_labels: dict[int, str] | None


@dataclass(frozen=True)
class DecodedSample:
    parameter: str
    time: datetime
    value: SampleValue


@dataclass(frozen=True)
class _TimeField:
    coarse: str
    fine: tuple[str, ...]
    epoch: timecodes.Epoch


@dataclass(frozen=True)
class PacketDefinition:
    """A loaded XTCE definition: space-packet-parser's model plus what we read around it."""

    packets: XtcePacketDefinition
    specs: tuple[ParameterSpec, ...]
    alarm_ranges: dict[str, dict[str, Range]]
    """XTCE DefaultAlarm static ranges per parameter: level -> acceptable [low, high]."""
    time_fields: tuple[_TimeField, ...]
    known_apids: frozenset[int]
    _telemetry: frozenset[str] = field(repr=False, default=frozenset())


# space-packet-parser keeps the namespace of the document being parsed in class attributes.
_LOAD_LOCK = threading.Lock()
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _children(element: Any, name: str) -> Iterator[Any]:
    for child in element:
        if isinstance(child.tag, str) and _local(child) == name:
            yield child


def _child(element: Any, name: str) -> Any | None:
    return next(_children(element, name), None)


def _float_attribute(element: Any, *names: str) -> float | None:
    for name in names:
        text = element.get(name)
        if text is not None:
            try:
                return float(text)
            except ValueError:
                raise XtceError(
                    f"{_local(element)} of {element.getparent().get('name')!r}: "
                    f"{name}={text!r} is not a number"
                ) from None
    return None


def _range(element: Any) -> Range:
    return (
        _float_attribute(element, "minInclusive", "minExclusive"),
        _float_attribute(element, "maxInclusive", "maxExclusive"),
    )


@dataclass
class _TypeExtras:
    valid: Range = (None, None)
    alarms: dict[str, Range] = field(default_factory=dict)


def _telemetry_sets(root: Any) -> tuple[Any, Any]:
    """The ParameterTypeSet and ParameterSet of the document's TelemetryMetaData."""
    metadata = _child(root, "TelemetryMetaData")
    if metadata is None:
        raise XtceError("SpaceSystem has no TelemetryMetaData element")
    type_set = _child(metadata, "ParameterTypeSet")
    parameter_set = _child(metadata, "ParameterSet")
    if type_set is None or parameter_set is None or _child(metadata, "ContainerSet") is None:
        raise XtceError("TelemetryMetaData needs ParameterTypeSet, ParameterSet and ContainerSet")
    return type_set, parameter_set


def _elements(parent: Any) -> Iterator[Any]:
    """Child elements, without comments and processing instructions."""
    return (child for child in parent if isinstance(child.tag, str))


def _default_alarms(type_element: Any) -> dict[str, Range]:
    """A parameter type's DefaultAlarm static ranges: level -> acceptable range."""
    default_alarm = _child(type_element, "DefaultAlarm")
    static = _child(default_alarm, "StaticAlarmRanges") if default_alarm is not None else None
    if static is None:
        return {}
    return {
        _XTCE_RANGE_ELEMENTS[_local(element)]: _range(element)
        for element in _elements(static)
        if _local(element) in _XTCE_RANGE_ELEMENTS
    }


def _type_extras(type_set: Any) -> dict[str, _TypeExtras]:
    extras: dict[str, _TypeExtras] = {}
    for type_element in _elements(type_set):
        name = type_element.get("name")
        if not name:
            raise XtceError(f"a {_local(type_element)} in ParameterTypeSet has no name")
        valid = _child(type_element, "ValidRange")
        extras[name] = _TypeExtras(
            valid=_range(valid) if valid is not None else (None, None),
            alarms=_default_alarms(type_element),
        )
    return extras


def _read_extras(root: Any) -> tuple[dict[str, _TypeExtras], dict[str, str]]:
    """Valid ranges and default alarms per parameter type; parameter -> type name."""
    type_set, parameter_set = _telemetry_sets(root)
    extras = _type_extras(type_set)
    type_of: dict[str, str] = {}
    for parameter in _elements(parameter_set):
        name, type_ref = parameter.get("name"), parameter.get("parameterTypeRef")
        if not name or not type_ref:
            raise XtceError("every Parameter needs a name and a parameterTypeRef")
        if type_ref not in extras:
            raise XtceError(f"Parameter {name!r} refers to unknown parameter type {type_ref!r}")
        type_of[name] = type_ref
    for entry in root.iter("{*}ParameterRefEntry"):
        ref = entry.get("parameterRef")
        if ref not in type_of:
            raise XtceError(f"ParameterRefEntry refers to unknown parameter {ref!r}")
    return extras, type_of


def _spec_type(parameter_type: parameter_types.ParameterType) -> str | None:
    if isinstance(parameter_type, parameter_types.EnumeratedParameterType):
        return "enum"
    if isinstance(parameter_type, parameter_types.BooleanParameterType):
        return "bool"
    if isinstance(parameter_type, parameter_types.IntegerParameterType):
        return "int"
    if isinstance(parameter_type, parameter_types.FloatParameterType):
        return "float"
    if isinstance(
        parameter_type, parameter_types.StringParameterType | parameter_types.BinaryParameterType
    ):
        return "string"
    return None  # time types: they date the packet, they are not samples


def _unit(parameter_type: parameter_types.ParameterType) -> str | None:
    unit = parameter_type.unit
    if isinstance(unit, tuple):
        return " ".join(unit)
    return str(unit) if unit is not None else None


def _time_fields(packets: XtcePacketDefinition) -> tuple[_TimeField, ...]:
    coarse: dict[str, timecodes.Epoch] = {}
    fine: dict[str, list[str]] = {}
    for name, parameter in packets.parameters.items():
        time_type = parameter.parameter_type
        if not isinstance(time_type, parameter_types.AbsoluteTimeParameterType):
            continue
        if time_type.unit not in (None, "s", "seconds"):
            raise XtceError(
                f"AbsoluteTimeParameterType {time_type.name!r}: units {time_type.unit!r} "
                "(only seconds are supported)"
            )
        if time_type.epoch is not None:
            try:
                coarse[name] = timecodes.parse_epoch(time_type.epoch)
            except ValueError as exc:
                raise XtceError(f"AbsoluteTimeParameterType {time_type.name!r}: {exc}") from None
        elif time_type.offset_from is not None:
            fine.setdefault(time_type.offset_from, []).append(name)
    for reference in fine:
        if reference not in coarse:
            raise XtceError(
                f"OffsetFrom refers to {reference!r}, which is not a time parameter with an Epoch"
            )
    return tuple(
        _TimeField(name, tuple(fine.get(name, ())), epoch) for name, epoch in coarse.items()
    )


def _known_apids(packets: XtcePacketDefinition) -> frozenset[int]:
    apids: set[int] = set()
    for container in packets.containers.values():
        for criterion in container.restriction_criteria or ():
            reference = getattr(criterion, "referenced_parameter", None)
            required = getattr(criterion, "required_value", None)
            if reference and "APID" in str(reference).upper() and required is not None:
                try:
                    apids.add(int(float(required)))
                except ValueError:
                    continue
    return frozenset(apids)


def _parse_document(document: bytes) -> Any:
    """The root SpaceSystem element, parsed without entities, DTDs or network access."""
    try:
        root = etree.fromstring(document, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise XtceError(f"not well-formed XML: {exc}") from None
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise XtceError("DOCTYPE declarations are not accepted in an XTCE definition")
    if _local(root) != "SpaceSystem":
        raise XtceError(f"root element is {_local(root)!r}, expected SpaceSystem")
    return root


def _load_packets(document: bytes) -> XtcePacketDefinition:
    """space-packet-parser's model of the document, its errors as :class:`XtceError`."""
    try:
        with _LOAD_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "no XTCE namespace": parsed all the same
            packets = XtcePacketDefinition.from_xtce(io.BytesIO(document))
    except XtceError:
        raise
    except NotImplementedError as exc:
        raise XtceError(f"unsupported XTCE construct: {exc}") from None
    except Exception as exc:  # the library reports structure errors with assorted types
        raise XtceError(f"invalid XTCE definition: {type(exc).__name__}: {exc}") from None
    if packets.root_container_name not in packets.containers:
        raise XtceError(f"no SequenceContainer named {packets.root_container_name!r}")
    return packets


def _spec(name: str, parameter: Any, spec_type: str, extra: _TypeExtras) -> ParameterSpec:
    enumeration = getattr(parameter.parameter_type, "enumeration", None)
    labels = (
        {int(code): str(label) for code, label in enumeration.items()}
        if spec_type == "enum" and enumeration
        else None
    )
    return ParameterSpec(
        name=name,
        type=spec_type,
        unit=_unit(parameter.parameter_type),
        description=parameter.short_description or parameter.long_description,
        valid_min=extra.valid[0],
        valid_max=extra.valid[1],
        enum_labels=labels,
    )


def load_definition(xtce: bytes | str) -> PacketDefinition:
    """Parse an XTCE document (its text, not a path). Raises :class:`XtceError`."""
    document = xtce.encode() if isinstance(xtce, str) else xtce
    extras, type_of = _read_extras(_parse_document(document))
    packets = _load_packets(document)
    header = {
        entry.name
        for entry in packets.containers[packets.root_container_name].entry_list
        if hasattr(entry, "parameter_type")
    }
    specs: list[ParameterSpec] = []
    alarm_ranges: dict[str, dict[str, Range]] = {}
    for name, parameter in packets.parameters.items():
        spec_type = _spec_type(parameter.parameter_type)
        if spec_type is None or name in header:
            continue
        extra = extras.get(type_of.get(name, ""), _TypeExtras())
        specs.append(_spec(name, parameter, spec_type, extra))
        if extra.alarms:
            alarm_ranges[name] = dict(extra.alarms)
    return PacketDefinition(
        packets=packets,
        specs=tuple(specs),
        alarm_ranges=alarm_ranges,
        time_fields=_time_fields(packets),
        known_apids=_known_apids(packets),
        _telemetry=frozenset(spec.name for spec in specs),
    )


def parameter_specs(definition: PacketDefinition) -> list[ParameterSpec]:
    return list(definition.specs)


def _sample_value(value: Any, spec_type: str) -> SampleValue:
    if spec_type == "enum":
        return int(value.raw_value)
    if spec_type == "bool":
        return bool(value)
    if spec_type == "int":
        return int(value)
    if spec_type == "float":
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _seconds_us(value: Any) -> int:
    if isinstance(value, int):
        return int(value) * 1_000_000
    return round(float(value) * 1_000_000)


def _packet_time(definition: PacketDefinition, packet: dict[str, Any]) -> datetime | None:
    for time_field in definition.time_fields:
        if time_field.coarse in packet:
            count_us = _seconds_us(packet[time_field.coarse]) + sum(
                _seconds_us(packet[name]) for name in time_field.fine if name in packet
            )
            return timecodes.count_to_utc(time_field.epoch, count_us)
    return None


def _parse_packet(
    definition: PacketDefinition,
    raw: Any,
    index: int,
    offset: int,
    caught: list[warnings.WarningMessage],
) -> dict[str, Any]:
    """One packet's fields, or :class:`PacketDecodeError` naming it; ``caught`` collects
    the warnings space-packet-parser gives instead of errors."""
    caught.clear()
    try:
        packet: dict[str, Any] = definition.packets.parse_bytes(raw)
    except UnrecognizedPacketTypeError:
        raise PacketDecodeError(index, offset, _unmatched(definition, raw.apid)) from None
    except ValueError as exc:
        if "beyond the end" in str(exc):
            raise PacketDecodeError(
                index, offset, "truncated: packet is shorter than its definition"
            ) from None
        raise PacketDecodeError(index, offset, f"cannot decode: {exc}") from None
    if any("did not match" in str(warning.message) for warning in caught):
        if not definition._telemetry.intersection(packet):
            raise PacketDecodeError(index, offset, _unmatched(definition, raw.apid))
        raise PacketDecodeError(index, offset, "packet is longer than its definition")
    return packet


def count_packets(data: bytes) -> int:
    """The number of space packets in ``data``, by their primary headers' length fields
    (a truncated tail counts as one)."""
    count = offset = 0
    while offset < len(data):
        offset += PRIMARY_HEADER_BYTES + int.from_bytes(data[offset + 4 : offset + 6]) + 1
        count += 1
    return count


def _truncated(data: bytes, offset: int) -> str:
    """Why the bytes from ``offset`` on are not a whole packet."""
    remaining = len(data) - offset
    if remaining < PRIMARY_HEADER_BYTES:
        return f"truncated: {remaining} bytes left, a primary header needs 6"
    needed = PRIMARY_HEADER_BYTES + int.from_bytes(data[offset + 4 : offset + 6]) + 1
    return f"truncated: {remaining} bytes left, the packet length field says {needed}"


def decode_packets(definition: PacketDefinition, data: bytes) -> list[DecodedSample]:
    """Decode concatenated CCSDS space packets into samples, in stream order.

    space-packet-parser reports a packet longer than its container, and a truncated tail,
    only as warnings; they are caught here (``warnings.catch_warnings``, which is
    process-wide: do not decode in several threads at once) and raised as
    :class:`PacketDecodeError`.
    """
    types = {spec.name: spec.type for spec in definition.specs}
    samples: list[DecodedSample] = []
    offset = 0
    index = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for raw in ccsds_generator(bytes(data)):
            packet = _parse_packet(definition, raw, index, offset, caught)
            time = _packet_time(definition, packet)
            if time is None:
                raise PacketDecodeError(index, offset, "packet has no secondary-header time")
            samples.extend(
                DecodedSample(name, time, _sample_value(value, types[name]))
                for name, value in packet.items()
                if name in types
            )
            offset += len(raw)
            index += 1
    if offset != len(data):
        raise PacketDecodeError(index, offset, _truncated(data, offset))
    return samples


def _unmatched(definition: PacketDefinition, apid: int) -> str:
    if apid not in definition.known_apids:
        return f"unknown APID 0x{apid:03X}"
    return f"no container of the definition matches this packet (APID 0x{apid:03X})"
