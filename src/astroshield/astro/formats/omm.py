"""CCSDS Orbit Mean-Elements Messages (502.0-B-3, SGP4 theory) in KVN, XML, JSON and CSV.

JSON and CSV follow CelesTrak's flat GP flavour (one object/row per element set with the OMM
keywords as names). Values are written with ``repr`` so write → read gives identical floats.
Errors name the record (``row``, ``line``, ``segment`` or ``object``), its line in the input
and the keyword. The ``scan_omm_*`` readers yield a record that cannot be read as its error and
go on with the next record; the ``parse_omm_*`` readers raise the first error. A document that
cannot be read at all (JSON or XML syntax, a CSV without the key columns) raises either way.

Epochs are CCSDS time codes (``YYYY-MM-DDThh:mm:ss[.f]`` or ``YYYY-DDDThh:mm:ss[.f]``, optional
trailing ``Z``) read as UTC. KVN and XML are read with the shared CCSDS readers of
:mod:`astroshield.astro.formats.ccsds`; XML with any DOCTYPE is refused, which blocks
entity-expansion
and external-entity attacks.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sgp4.api import Satrec

from astroshield.astro.dynamics.elements import (
    ElementSet,
    ElementSetError,
    normalize_object_id,
    to_satrec,
)
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ids import IdentifierError, normalize_catalog_number

__all__ = [
    "CELESTRAK_COLUMNS",
    "KVN_MARKER",
    "OMMCatalog",
    "OMMError",
    "format_omm_csv",
    "format_omm_json",
    "format_omm_kvn",
    "format_omm_xml",
    "load_omm_catalog",
    "parse_omm_csv",
    "parse_omm_json",
    "parse_omm_kvn",
    "parse_omm_xml",
    "read_omm_file",
    "satrecs_for",
    "scan_omm_csv",
    "scan_omm_json",
    "scan_omm_kvn",
    "scan_omm_xml",
]

CELESTRAK_COLUMNS: tuple[str, ...] = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
_FLOAT_FIELDS: dict[str, str] = {
    "MEAN_MOTION": "mean_motion_rev_per_day",
    "ECCENTRICITY": "eccentricity",
    "INCLINATION": "inclination_deg",
    "RA_OF_ASC_NODE": "ra_of_asc_node_deg",
    "ARG_OF_PERICENTER": "arg_of_pericenter_deg",
    "MEAN_ANOMALY": "mean_anomaly_deg",
    "BSTAR": "bstar_per_earth_radius",
    "MEAN_MOTION_DOT": "mean_motion_dot_rev_per_day2",
    "MEAN_MOTION_DDOT": "mean_motion_ddot_rev_per_day3",
}
# Optional in CelesTrak data; CCSDS defaults where the standard gives one.
_INT_FIELDS: dict[str, tuple[str, int]] = {
    "EPHEMERIS_TYPE": ("ephemeris_type", 0),
    "ELEMENT_SET_NO": ("element_set_number", 999),
    "REV_AT_EPOCH": ("rev_at_epoch", 0),
}
_UNITS: dict[str, str] = {
    "MEAN_MOTION": "rev/day",
    "INCLINATION": "deg",
    "RA_OF_ASC_NODE": "deg",
    "ARG_OF_PERICENTER": "deg",
    "MEAN_ANOMALY": "deg",
    "BSTAR": "1/ER",
    "MEAN_MOTION_DOT": "rev/day**2",
    "MEAN_MOTION_DDOT": "rev/day**3",
}
# Metadata an SGP4 element set must carry if it is present at all.
_REQUIRED_METADATA = {
    "CENTER_NAME": "EARTH",
    "REF_FRAME": "TEME",
    "TIME_SYSTEM": "UTC",
    "MEAN_ELEMENT_THEORY": "SGP4",
}
_METADATA_KEYS = ("OBJECT_NAME", "OBJECT_ID", *_REQUIRED_METADATA)
_MEAN_ELEMENT_KEYS = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
)
_TLE_PARAMETER_KEYS = (
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
_OMM_VERSION = "3.0"
KVN_MARKER = "CCSDS_OMM_VERS"  # the first keyword of every KVN OMM
# The keyword of each ElementSet attribute, to locate range errors found by ElementSet itself.
_ATTRIBUTE_KEYWORDS: dict[str, str] = {
    **{attribute: keyword for keyword, attribute in _FLOAT_FIELDS.items()},
    **{attribute: keyword for keyword, (attribute, _) in _INT_FIELDS.items()},
    "catalog_number": "NORAD_CAT_ID",
    "object_id": "OBJECT_ID",
    "epoch": "EPOCH",
    "classification": "CLASSIFICATION_TYPE",
}
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")

FieldValue = str | int | float | None


class OMMError(ccsds.CcsdsError):
    """An OMM record that cannot be read; ``location`` and ``keyword`` say where.

    ``line`` is the line number where the location is a line of KVN or XML input, else None.
    """

    def __init__(
        self, location: str, keyword: str | None, reason: str, *, line: int | None = None
    ) -> None:
        self.location = location
        super().__init__(reason, keyword=keyword, line=line)

    def _location(self) -> str:
        return self.location


@dataclass(frozen=True, slots=True)
class OMMCatalog:
    """Element sets and their initialised SGP4 records, index for index."""

    elements: list[ElementSet]
    satrecs: list[Satrec]


def _text(value: FieldValue) -> str:
    return "" if value is None else str(value).strip()


def _format_epoch(value: datetime) -> str:
    return ccsds.format_epoch(value.astimezone(UTC).replace(tzinfo=None), kind="OMM")


def _elements_from_fields(
    fields: Mapping[str, FieldValue],
    location: str,
    *,
    line: int | None = None,
    lines: Mapping[str, int] | None = None,
) -> ElementSet:
    """Validate one flat keyword → value record and build the element set.

    ``line`` is where the record starts in the input, ``lines`` where each keyword is (KVN,
    XML); errors carry the keyword's line when known, else the record's.
    """

    def fail(keyword: str | None, reason: str) -> OMMError:
        where = (lines or {}).get(keyword, line) if keyword else line
        return OMMError(location, keyword, reason, line=where)

    for keyword, expected in _REQUIRED_METADATA.items():
        value = _text(fields.get(keyword))
        if value and value.upper() != expected:
            raise fail(keyword, f"{value!r} is not supported, expected {expected}")

    values: dict[str, float] = {}
    for keyword, attribute in _FLOAT_FIELDS.items():
        raw = _text(fields.get(keyword))
        if not raw:
            raise fail(keyword, "is missing")
        try:
            values[attribute] = float(raw)
        except ValueError:
            raise fail(keyword, f"{raw!r} is not a number") from None

    integers: dict[str, int] = {}
    for keyword, (attribute, default) in _INT_FIELDS.items():
        raw = _text(fields.get(keyword))
        if not raw:
            integers[attribute] = default
            continue
        try:
            integers[attribute] = int(raw)
        except ValueError:
            raise fail(keyword, f"{raw[:40]!r} is not an integer") from None

    raw_catalog = fields.get("NORAD_CAT_ID")
    if raw_catalog is None or _text(raw_catalog) == "":
        raise fail("NORAD_CAT_ID", "is missing")
    try:
        catalog_number = normalize_catalog_number(
            raw_catalog if isinstance(raw_catalog, int) else _text(raw_catalog)
        )
    except (IdentifierError, ValueError) as error:
        raise fail("NORAD_CAT_ID", str(error)) from None

    raw_object_id = _text(fields.get("OBJECT_ID"))
    try:
        object_id = normalize_object_id(raw_object_id) if raw_object_id else None
    except IdentifierError as error:
        raise fail("OBJECT_ID", str(error)) from None

    raw_epoch = _text(fields.get("EPOCH"))
    if not raw_epoch:
        raise fail("EPOCH", "is missing")
    try:
        epoch = ccsds.parse_epoch(raw_epoch).replace(tzinfo=UTC)
    except ccsds.CcsdsError:
        raise fail(
            "EPOCH", f"{raw_epoch!r} is not an ISO 8601 UTC time like 2024-10-29T12:18:43.49"
        ) from None

    classification = _text(fields.get("CLASSIFICATION_TYPE")) or "U"
    try:
        return ElementSet(
            catalog_number=catalog_number,
            epoch=epoch,
            object_name=_text(fields.get("OBJECT_NAME")) or None,
            object_id=object_id,
            classification=classification,
            mean_motion_rev_per_day=values["mean_motion_rev_per_day"],
            eccentricity=values["eccentricity"],
            inclination_deg=values["inclination_deg"],
            ra_of_asc_node_deg=values["ra_of_asc_node_deg"],
            arg_of_pericenter_deg=values["arg_of_pericenter_deg"],
            mean_anomaly_deg=values["mean_anomaly_deg"],
            bstar_per_earth_radius=values["bstar_per_earth_radius"],
            mean_motion_dot_rev_per_day2=values["mean_motion_dot_rev_per_day2"],
            mean_motion_ddot_rev_per_day3=values["mean_motion_ddot_rev_per_day3"],
            ephemeris_type=integers["ephemeris_type"],
            element_set_number=integers["element_set_number"],
            rev_at_epoch=integers["rev_at_epoch"],
        )
    except ElementSetError as error:
        raise fail(_ATTRIBUTE_KEYWORDS.get(error.field), error.reason) from None


Scanned = tuple[int | None, ElementSet | OMMError]


def _first_error(items: Iterable[Scanned]) -> list[ElementSet]:
    result = []
    for _, item in items:
        if isinstance(item, OMMError):
            raise item
        result.append(item)
    return result


def _fields_from_elements(elements: ElementSet) -> dict[str, str | int | float]:
    """Flat OMM record with native types (JSON writes numbers as numbers)."""
    return {
        "OBJECT_NAME": elements.object_name or "",
        "OBJECT_ID": elements.object_id or "",
        "EPOCH": _format_epoch(elements.epoch),
        "MEAN_MOTION": elements.mean_motion_rev_per_day,
        "ECCENTRICITY": elements.eccentricity,
        "INCLINATION": elements.inclination_deg,
        "RA_OF_ASC_NODE": elements.ra_of_asc_node_deg,
        "ARG_OF_PERICENTER": elements.arg_of_pericenter_deg,
        "MEAN_ANOMALY": elements.mean_anomaly_deg,
        "EPHEMERIS_TYPE": elements.ephemeris_type,
        "CLASSIFICATION_TYPE": elements.classification,
        "NORAD_CAT_ID": int(elements.catalog_number),
        "ELEMENT_SET_NO": elements.element_set_number,
        "REV_AT_EPOCH": elements.rev_at_epoch,
        "BSTAR": elements.bstar_per_earth_radius,
        "MEAN_MOTION_DOT": elements.mean_motion_dot_rev_per_day2,
        "MEAN_MOTION_DDOT": elements.mean_motion_ddot_rev_per_day3,
    }


def _as_text(value: str | int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------- CSV


def parse_omm_csv(source: str | Iterable[str]) -> list[ElementSet]:
    """Read CelesTrak's OMM CSV (header row of OMM keywords; CRLF or LF; column order free)."""
    return _first_error(scan_omm_csv(source))


def scan_omm_csv(source: str | Iterable[str]) -> Iterator[Scanned]:
    """(line, element set or error) for each row of an OMM CSV (errors name ``row N``)."""
    lines = io.StringIO(source, newline="") if isinstance(source, str) else source
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise OMMError("header", None, f"not CSV: {error}", line=1) from None
    if not header:
        return
    missing = [name for name in ("NORAD_CAT_ID", "EPOCH") if name not in header]
    if missing:
        raise OMMError("header", missing[0], "column is missing", line=1)
    row_number = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as error:
            # The reader cannot resynchronise after a broken quote or an oversized field.
            raise OMMError(f"row {row_number + 1}", None, f"not CSV: {error}", line=start) from None
        if row is None:
            return
        if not row:
            continue
        row_number += 1
        if len(row) != len(header):
            yield (
                start,
                OMMError(
                    f"row {row_number}",
                    None,
                    f"has {len(row)} fields, header has {len(header)}",
                    line=start,
                ),
            )
            continue
        try:
            yield (
                start,
                _elements_from_fields(
                    dict(zip(header, row, strict=True)), f"row {row_number}", line=start
                ),
            )
        except OMMError as error:
            yield start, error


def format_omm_csv(elements: Iterable[ElementSet]) -> str:
    """CelesTrak-style CSV with CRLF line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CELESTRAK_COLUMNS)
    for element_set in elements:
        fields = _fields_from_elements(element_set)
        writer.writerow([_as_text(fields[name]) for name in CELESTRAK_COLUMNS])
    return buffer.getvalue()


# --------------------------------------------------------------------------------- JSON


def parse_omm_json(text: str | bytes) -> list[ElementSet]:
    """Read CelesTrak GP JSON: a list of flat objects (a single object is accepted too)."""
    return _first_error(scan_omm_json(text))


def _json_document(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise OMMError(f"JSON line {error.lineno}", None, error.msg, line=error.lineno) from None
    except RecursionError:
        raise OMMError("JSON", None, "is nested too deeply") from None
    except ValueError as error:  # e.g. an integer longer than Python converts
        raise OMMError("JSON", None, str(error)) from None


def _after_whitespace(text: str, position: int) -> int:
    match = _JSON_WHITESPACE.match(text, position)
    return match.end() if match else position


def _json_array_lines(text: str, count: int) -> list[int]:
    """The line each element of a (valid) top-level JSON array starts on."""
    decoder = json.JSONDecoder()
    position = _after_whitespace(text, 0) + 1  # past "["
    lines: list[int] = []
    line, counted = 1, 0
    for _ in range(count):
        position = _after_whitespace(text, position)
        line += text.count("\n", counted, position)
        counted = position
        lines.append(line)
        _, position = decoder.raw_decode(text, position)
        position = _after_whitespace(text, position) + 1  # past "," or "]"
    return lines


def scan_omm_json(text: str | bytes) -> Iterator[Scanned]:
    """(line, element set or error) for each object of CelesTrak GP JSON (``object N``)."""
    try:
        text = ccsds.decode_message(text)
    except UnicodeDecodeError as error:
        raise OMMError("JSON", None, f"byte {error.start} is not UTF-8") from None
    document = _json_document(text)
    if isinstance(document, list):
        records: list[object] = document
        lines = _json_array_lines(text, len(records))
    else:
        records, lines = [document], [1]
    for index, (record, line) in enumerate(zip(records, lines, strict=True), start=1):
        location = f"object {index}"
        if not isinstance(record, dict):
            yield line, OMMError(location, None, "is not a JSON object", line=line)
            continue
        bad = next(
            (
                key
                for key, value in record.items()
                if not isinstance(value, str | int | float) and value is not None
            ),
            None,
        )
        if bad is not None:
            yield line, OMMError(location, bad, f"{record[bad]!r:.60} is not a scalar", line=line)
            continue
        try:
            yield line, _elements_from_fields(record, location, line=line)
        except OMMError as error:
            yield line, error


def format_omm_json(elements: Iterable[ElementSet], *, indent: int | None = None) -> str:
    """CelesTrak GP JSON: list of flat objects, numbers as JSON numbers."""
    return json.dumps([_fields_from_elements(item) for item in elements], indent=indent)


# ---------------------------------------------------------------------------------- KVN


def parse_omm_kvn(text: str) -> list[ElementSet]:
    """Read one or more KVN OMMs (each starts with ``CCSDS_OMM_VERS``); units are ignored."""
    return _first_error(scan_omm_kvn(text))


def scan_omm_kvn(text: str) -> Iterator[Scanned]:
    """(line, element set or first error) for each KVN OMM; after an error, reading resumes
    at the next ``CCSDS_OMM_VERS``."""
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    start_line = 0
    broken: OMMError | None = None

    def finish() -> Iterator[Scanned]:
        if broken is not None:
            yield broken.line, broken
        elif fields:
            try:
                yield (
                    start_line,
                    _elements_from_fields(
                        fields, f"message at line {start_line}", line=start_line, lines=lines
                    ),
                )
            except OMMError as error:
                yield error.line, error

    raw_lines = text.splitlines()
    for item in ccsds.kvn_lines(text):
        line_number, keyword = item.line, item.keyword
        if item.comment is not None:
            continue
        if keyword == "CCSDS_OMM_VERS":
            yield from finish()
            fields, lines, start_line, broken = {}, {}, line_number, None
        if broken is not None:
            continue
        problem: tuple[str | None, str] | None = None
        if keyword is None:
            raw = raw_lines[line_number - 1]
            problem = None, f"{raw[:80]!r} is not KEYWORD = value"
        elif not start_line:
            problem = keyword, "appears before CCSDS_OMM_VERS"
        elif keyword in fields:
            problem = keyword, "appears twice in one message"
        if problem is not None:
            broken = OMMError(f"line {line_number}", problem[0], problem[1], line=line_number)
            if not start_line:
                # Lines before the first message belong to none: report them once.
                start_line = line_number
            continue
        assert keyword is not None
        # Only numeric values carry units; names such as "ECHO 1 DEB [METAL OBJ]" keep brackets.
        numeric = keyword in _FLOAT_FIELDS or keyword in _INT_FIELDS
        fields[keyword] = item.value if numeric else item.full_value
        lines[keyword] = line_number
    yield from finish()


def format_omm_kvn(
    elements: Iterable[ElementSet],
    *,
    originator: str = "ASTROSHIELD",
    creation_date: datetime | None = None,
) -> str:
    """One KVN OMM per element set, concatenated."""
    created = _format_epoch(creation_date or datetime.now(UTC))
    blocks = []
    for element_set in elements:
        fields = _fields_from_elements(element_set)
        lines = [
            f"CCSDS_OMM_VERS = {_OMM_VERSION}",
            f"CREATION_DATE = {created}",
            f"ORIGINATOR = {originator}",
            "",
            f"OBJECT_NAME = {fields['OBJECT_NAME']}",
            f"OBJECT_ID = {fields['OBJECT_ID']}",
            *(f"{key} = {value}" for key, value in _REQUIRED_METADATA.items()),
            "",
        ]
        for key in (*_MEAN_ELEMENT_KEYS, *_TLE_PARAMETER_KEYS):
            unit = f" [{_UNITS[key]}]" if key in _UNITS else ""
            lines.append(f"{key} = {_as_text(fields[key])}{unit}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


# ---------------------------------------------------------------------------------- XML


def parse_omm_xml(text: str | bytes) -> list[ElementSet]:
    """Read CCSDS NDM/XML OMMs (``<ndm>`` with several ``<omm>`` or a bare ``<omm>``)."""
    return _first_error(scan_omm_xml(text))


def scan_omm_xml(text: str | bytes) -> Iterator[Scanned]:
    """(line, element set or error) for each ``<segment>`` of NDM/XML OMMs (``segment N``)."""
    try:
        root = ccsds.parse_xml_tree(text, kind="OMM")
    except ccsds.CcsdsError as error:
        location = "XML" if error.line is None else f"XML line {error.line}"
        raise OMMError(location, error.keyword, error.reason, line=error.line) from None
    segments = [node for node in root.iter() if node.tag == "segment"]
    for index, segment in enumerate(segments, start=1):
        fields: dict[str, str] = {}
        lines: dict[str, int] = {}
        for node in segment.iter():
            if not node.children and node is not segment:
                fields[node.tag] = node.text
                lines[node.tag] = node.line
        try:
            yield (
                segment.line,
                _elements_from_fields(fields, f"segment {index}", line=segment.line, lines=lines),
            )
        except OMMError as error:
            yield error.line, error


def format_omm_xml(
    elements: Iterable[ElementSet],
    *,
    originator: str = "ASTROSHIELD",
    creation_date: datetime | None = None,
) -> str:
    """An ``<ndm>`` document with one ``<omm>`` per element set (CCSDS NDM/XML 3.0)."""
    created = _format_epoch(creation_date or datetime.now(UTC))
    root = ET.Element(
        "ndm",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": (
                "https://sanaregistry.org/r/ndmxml_unqualified/ndmxml-3.0.0-master-3.0.xsd"
            ),
        },
    )
    for element_set in elements:
        fields = _fields_from_elements(element_set)
        omm = ET.SubElement(root, "omm", {"id": "CCSDS_OMM_VERS", "version": _OMM_VERSION})
        header = ET.SubElement(omm, "header")
        ET.SubElement(header, "CREATION_DATE").text = created
        ET.SubElement(header, "ORIGINATOR").text = originator
        segment = ET.SubElement(ET.SubElement(omm, "body"), "segment")
        metadata = ET.SubElement(segment, "metadata")
        ET.SubElement(metadata, "OBJECT_NAME").text = str(fields["OBJECT_NAME"])
        ET.SubElement(metadata, "OBJECT_ID").text = str(fields["OBJECT_ID"])
        for key, value in _REQUIRED_METADATA.items():
            ET.SubElement(metadata, key).text = value
        data = ET.SubElement(segment, "data")
        for group, keys in (
            ("meanElements", _MEAN_ELEMENT_KEYS),
            ("tleParameters", _TLE_PARAMETER_KEYS),
        ):
            parent = ET.SubElement(data, group)
            for key in keys:
                node = ET.SubElement(parent, key)
                node.text = _as_text(fields[key])
                if key in _UNITS:
                    node.set("units", _UNITS[key])
    return ccsds.xml_document(root)


# -------------------------------------------------------------------------------- files


def read_omm_file(path: str | Path) -> list[ElementSet]:
    """Read an OMM file, choosing the format from the suffix (.csv, .json, .xml, else KVN)."""
    file_path = Path(path)
    suffix = file_path.suffix.lower()
    if suffix == ".csv":
        with file_path.open(newline="", encoding="utf-8") as handle:
            return parse_omm_csv(handle)
    text = file_path.read_text(encoding="utf-8")
    if suffix == ".json":
        return parse_omm_json(text)
    if suffix == ".xml":
        return parse_omm_xml(text)
    return parse_omm_kvn(text)


def load_omm_catalog(path: str | Path, opsmode: str = "i") -> OMMCatalog:
    """Read an OMM file and initialise one SGP4 record per element set (WGS72)."""
    elements = read_omm_file(path)
    return OMMCatalog(elements=elements, satrecs=satrecs_for(elements, opsmode))


def satrecs_for(elements: Sequence[ElementSet], opsmode: str = "i") -> list[Satrec]:
    """SGP4 records for element sets, in order."""
    return [to_satrec(element_set, opsmode) for element_set in elements]
