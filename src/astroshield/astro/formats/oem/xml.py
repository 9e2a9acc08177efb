"""XML encoding of the OEM (NDM/XML ``<oem>``): reader and writer.

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks; ``defusedxml`` is not needed
(see :mod:`astroshield.astro.formats.ccsds`, shared with the other CCSDS message modules).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Sequence

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import XmlNode
from astroshield.astro.formats.oem.blocks import (
    SegmentData,
    build_header,
    build_metadata,
    metadata_items,
    require,
)
from astroshield.astro.formats.oem.checks import check_header, check_segment
from astroshield.astro.formats.oem.errors import OemError
from astroshield.astro.formats.oem.keywords import (
    ACCEL_ELEMENTS,
    COVARIANCE_ELEMENTS,
    HEADER_KEYS,
    HEADER_REQUIRED,
    META_KEYS,
    META_REQUIRED,
    STATE_ELEMENTS,
)
from astroshield.astro.formats.oem.model import (
    Oem,
    OemCovariance,
    OemHeader,
    OemSegment,
    OemStateVector,
)
from astroshield.astro.formats.oem.values import (
    format_epoch,
    format_float,
    parse_epoch,
    parse_float,
)

# ------------------------------------------------------------------------------------ read


def _fields(
    node: XmlNode, allowed: Sequence[str]
) -> tuple[dict[str, str], dict[str, int], list[str]]:
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    comments: list[str] = []
    for child in node.children:
        if child.tag == "COMMENT":
            comments.append(child.text)
            continue
        if child.tag not in allowed:
            raise OemError(
                f"element not allowed in <{node.tag}>", keyword=child.tag, line=child.line
            )
        if child.tag in values:
            raise OemError("duplicate element", keyword=child.tag, line=child.line)
        values[child.tag] = child.text
        where[child.tag] = child.line
    return values, where, comments


def _xml_state(node: XmlNode) -> OemStateVector:
    allowed = ("EPOCH", *STATE_ELEMENTS, *ACCEL_ELEMENTS)
    values, where, comments = _fields(node, allowed)
    if comments:
        raise OemError("COMMENT not allowed in <stateVector>", keyword="COMMENT", line=node.line)
    for key in ("EPOCH", *STATE_ELEMENTS):
        if key not in values:
            raise OemError("missing from <stateVector>", keyword=key, line=node.line)
    names = list(STATE_ELEMENTS)
    present_acc = [k for k in ACCEL_ELEMENTS if k in values]
    if present_acc and len(present_acc) != 3:
        missing = next(k for k in ACCEL_ELEMENTS if k not in values)
        raise OemError("accelerations need all three components", keyword=missing, line=node.line)
    names.extend(present_acc)
    epoch = parse_epoch(values["EPOCH"], keyword="EPOCH", line=where["EPOCH"])
    nums = [parse_float(values[k], keyword=k, line=where[k]) for k in names]
    return OemStateVector(
        epoch=epoch,
        position_km=(nums[0], nums[1], nums[2]),
        velocity_km_s=(nums[3], nums[4], nums[5]),
        acceleration_km_s2=(nums[6], nums[7], nums[8]) if len(nums) == 9 else None,
    )


def _xml_covariance(node: XmlNode) -> OemCovariance:
    values, where, comments = _fields(node, ("EPOCH", "COV_REF_FRAME", *COVARIANCE_ELEMENTS))
    for key in ("EPOCH", *COVARIANCE_ELEMENTS):
        if key not in values:
            raise OemError("missing from <covarianceMatrix>", keyword=key, line=node.line)
    return OemCovariance(
        epoch=parse_epoch(values["EPOCH"], keyword="EPOCH", line=where["EPOCH"]),
        lower_triangle=tuple(
            parse_float(values[k], keyword=k, line=where[k]) for k in COVARIANCE_ELEMENTS
        ),
        cov_ref_frame=values.get("COV_REF_FRAME"),
        comments=tuple(comments),
    )


def _xml_data(data_node: XmlNode) -> SegmentData:
    data = SegmentData()
    for child in data_node.children:
        if child.tag == "COMMENT":
            data.comments.append(child.text)
        elif child.tag == "stateVector":
            if data.covariances:
                raise OemError(
                    "<stateVector> after <covarianceMatrix>",
                    keyword="stateVector",
                    line=child.line,
                )
            data.states.append(_xml_state(child))
            data.state_lines.append(child.line)
        elif child.tag == "covarianceMatrix":
            data.covariances.append(_xml_covariance(child))
        else:
            raise OemError("element not allowed in <data>", keyword=child.tag, line=child.line)
    return data


def _xml_segment(seg_node: XmlNode) -> OemSegment:
    if seg_node.tag != "segment":
        raise OemError("only <segment> allowed in <body>", keyword=seg_node.tag, line=seg_node.line)
    meta_node = seg_node.child("metadata", error=OemError)
    values, where, comments = _fields(meta_node, META_KEYS)
    require(values, META_REQUIRED, "<metadata>", meta_node.line)
    metadata = build_metadata(values, where, comments)
    data_node = seg_node.child("data", error=OemError)
    data = _xml_data(data_node)
    segment = data.segment(metadata)
    if not data.states:
        raise OemError("segment has no <stateVector>", keyword="stateVector", line=data_node.line)
    check_segment(segment, where, data.state_lines)
    return segment


def _xml_header(root: XmlNode) -> OemHeader:
    version = root.attrs.get("version", "").strip()
    if not version:
        raise OemError("<oem> needs a version attribute", keyword="CCSDS_OEM_VERS", line=root.line)
    header_node = root.child("header", error=OemError)
    values, where, comments = _fields(header_node, HEADER_KEYS)
    require(values, HEADER_REQUIRED, "<header>", header_node.line)
    header = build_header(version, values, where, comments)
    check_header(header, where)
    return header


def loads_xml(text: str | bytes) -> Oem:
    """Parse an XML-encoded OEM (NDM/XML ``<oem>``)."""
    root = ccsds.parse_xml_tree(text, kind="OEM", error=OemError, name_open_element=False)
    if root.tag != "oem":
        raise OemError(f"root element must be <oem>, got <{root.tag}>", keyword=root.tag, line=1)
    header = _xml_header(root)
    body = root.child("body", error=OemError)
    segments = [_xml_segment(seg_node) for seg_node in body.children]
    if not segments:
        raise OemError("an OEM needs at least one <segment>", keyword="segment", line=body.line)
    return Oem(header=header, segments=tuple(segments))


# ----------------------------------------------------------------------------------- write


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _comments_out(parent: ET.Element, comments: Sequence[str]) -> None:
    for c in comments:
        _sub(parent, "COMMENT", c)


def _header_out(root: ET.Element, h: OemHeader) -> None:
    header = ET.SubElement(root, "header")
    _comments_out(header, h.comments)
    if h.classification is not None:
        _sub(header, "CLASSIFICATION", h.classification)
    _sub(header, "CREATION_DATE", format_epoch(h.creation_date))
    _sub(header, "ORIGINATOR", h.originator)
    if h.message_id is not None:
        _sub(header, "MESSAGE_ID", h.message_id)


def _state_out(data: ET.Element, state: OemStateVector) -> None:
    sv = ET.SubElement(data, "stateVector")
    _sub(sv, "EPOCH", format_epoch(state.epoch))
    numbers = [*state.position_km, *state.velocity_km_s]
    names = list(STATE_ELEMENTS)
    if state.acceleration_km_s2 is not None:
        numbers.extend(state.acceleration_km_s2)
        names.extend(ACCEL_ELEMENTS)
    for name, number in zip(names, numbers, strict=True):
        _sub(sv, name, format_float(number))


def _covariance_out(data: ET.Element, cov: OemCovariance) -> None:
    cm = ET.SubElement(data, "covarianceMatrix")
    _comments_out(cm, cov.comments)
    _sub(cm, "EPOCH", format_epoch(cov.epoch))
    if cov.cov_ref_frame is not None:
        _sub(cm, "COV_REF_FRAME", cov.cov_ref_frame)
    for name, number in zip(COVARIANCE_ELEMENTS, cov.lower_triangle, strict=True):
        _sub(cm, name, format_float(number))


def _segment_out(body: ET.Element, segment: OemSegment) -> None:
    seg = ET.SubElement(body, "segment")
    meta = ET.SubElement(seg, "metadata")
    _comments_out(meta, segment.metadata.comments)
    for key, value in metadata_items(segment.metadata):
        _sub(meta, key, value)
    data = ET.SubElement(seg, "data")
    _comments_out(data, segment.data_comments)
    for state in segment.states:
        _state_out(data, state)
    for cov in segment.covariances:
        _covariance_out(data, cov)


def dumps_xml(oem: Oem) -> str:
    """Serialise to NDM/XML (validates first)."""
    oem.validate()
    root = ET.Element("oem", {"id": "CCSDS_OEM_VERS", "version": oem.header.version})
    _header_out(root, oem.header)
    body = ET.SubElement(root, "body")
    for segment in oem.segments:
        _segment_out(body, segment)
    return ccsds.xml_document(root) + "\n"
