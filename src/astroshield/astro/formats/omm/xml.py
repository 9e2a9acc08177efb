"""CCSDS NDM/XML OMMs: an ``<ndm>`` of ``<omm>`` messages, or a bare ``<omm>``."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.omm.keywords import (
    MEAN_ELEMENT_KEYS,
    OMM_VERSION,
    REQUIRED_METADATA,
    TLE_PARAMETER_KEYS,
    UNITS,
)
from astroshield.astro.formats.omm.records import (
    OMMError,
    Scanned,
    as_text,
    elements_from_fields,
    fields_from_elements,
    first_error,
    format_epoch,
)


def parse_omm_xml(text: str | bytes) -> list[ElementSet]:
    """Read CCSDS NDM/XML OMMs (``<ndm>`` with several ``<omm>`` or a bare ``<omm>``)."""
    return first_error(scan_omm_xml(text))


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
                elements_from_fields(fields, f"segment {index}", line=segment.line, lines=lines),
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
    created = format_epoch(creation_date or datetime.now(UTC))
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
        fields = fields_from_elements(element_set)
        omm = ET.SubElement(root, "omm", {"id": "CCSDS_OMM_VERS", "version": OMM_VERSION})
        header = ET.SubElement(omm, "header")
        ET.SubElement(header, "CREATION_DATE").text = created
        ET.SubElement(header, "ORIGINATOR").text = originator
        segment = ET.SubElement(ET.SubElement(omm, "body"), "segment")
        metadata = ET.SubElement(segment, "metadata")
        ET.SubElement(metadata, "OBJECT_NAME").text = str(fields["OBJECT_NAME"])
        ET.SubElement(metadata, "OBJECT_ID").text = str(fields["OBJECT_ID"])
        for key, value in REQUIRED_METADATA.items():
            ET.SubElement(metadata, key).text = value
        data = ET.SubElement(segment, "data")
        for group, keys in (
            ("meanElements", MEAN_ELEMENT_KEYS),
            ("tleParameters", TLE_PARAMETER_KEYS),
        ):
            parent = ET.SubElement(data, group)
            for key in keys:
                node = ET.SubElement(parent, key)
                node.text = as_text(fields[key])
                if key in UNITS:
                    node.set("units", UNITS[key])
    return ccsds.xml_document(root)
