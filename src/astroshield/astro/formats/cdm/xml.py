"""XML encoding of the CDM (NDM/XML ``<cdm>``): reader and writer.

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks (the reader of
:mod:`astroshield.astro.formats.ccsds`, shared with ``oem`` and ``omm``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Sequence
from typing import Any

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import XmlNode
from astroshield.astro.formats.cdm.errors import CdmError
from astroshield.astro.formats.cdm.keywords import (
    BLOCK_OF,
    BLOCKS,
    HEADER_SPECS,
    REL_SPECS,
    RELATIVE_STATE_KEYS,
    SEGMENT_BLOCKS,
    Spec,
)
from astroshield.astro.formats.cdm.model import Cdm
from astroshield.astro.formats.cdm.segments import Segment, assemble
from astroshield.astro.formats.cdm.values import Raw, format_value
from astroshield.astro.formats.cdm.writing import object_parts

# ------------------------------------------------------------------------------------ read

_XML_DATA_BLOCKS = {
    "odParameters": "od",
    "additionalParameters": "additional",
    "stateVector": "state",
    "covarianceMatrix": "covariance",
}


def _keywords_of(block: str) -> dict[str, str]:
    return {k: b for k, b in BLOCK_OF.items() if b == block}


def _xml_fields(
    node: XmlNode, block_of: dict[str, str], flatten: Sequence[str] = ()
) -> tuple[dict[str, dict[str, Raw]], list[str]]:
    """Leaf elements of ``node`` (and of the ``flatten`` sub-elements) grouped by block."""
    raws: dict[str, dict[str, Raw]] = {}
    comments: list[str] = []
    for child in node.children:
        if child.tag == "COMMENT":
            comments.append(child.text)
            continue
        if child.tag in flatten:
            sub, sub_comments = _xml_fields(child, block_of)
            comments.extend(sub_comments)
            for b, d in sub.items():
                raws.setdefault(b, {}).update(d)
            continue
        block = block_of.get(child.tag)
        if block is None:
            raise CdmError(
                f"element not allowed in <{node.tag}>", keyword=child.tag, line=child.line
            )
        target = raws.setdefault(block, {})
        if child.tag in target:
            raise CdmError("duplicate element", keyword=child.tag, line=child.line)
        if child.children:
            raise CdmError("element must hold a value", keyword=child.tag, line=child.line)
        target[child.tag] = Raw(child.text, child.line, child.attrs.get("units"))
    return raws, comments


def _xml_block(
    node: XmlNode, block: str, flatten: Sequence[str] = ()
) -> tuple[dict[str, Raw], list[str]]:
    """The raw values of ``block`` held by ``node``, and its comments."""
    raws, comments = _xml_fields(node, _keywords_of(block), flatten)
    return raws.get(block, {}), comments


def _xml_data(seg: Segment, data_node: XmlNode) -> None:
    data_comments: list[str] = []
    first_block: str | None = None
    for child in data_node.children:
        if child.tag == "COMMENT":
            data_comments.append(child.text)
            continue
        block = _XML_DATA_BLOCKS.get(child.tag)
        if block is None:
            raise CdmError("element not allowed in <data>", keyword=child.tag, line=child.line)
        if seg.raws[block] or seg.comments[block]:
            raise CdmError("duplicate element", keyword=child.tag, line=child.line)
        first_block = first_block or block
        seg.raws[block], seg.comments[block] = _xml_block(child, block)
        seg.last_line = max(seg.last_line, child.line)
        if block != "od" and block != "additional" and not seg.raws[block]:
            raise CdmError(
                f"<{child.tag}> is empty", keyword=BLOCKS[block][0].keyword, line=child.line
            )
    # <data> comments have no KVN counterpart of their own: keep them with the first block.
    if data_comments:
        seg.comments[first_block or "state"][:0] = data_comments


def _xml_segment(node: XmlNode) -> Segment:
    seg = Segment(line=node.line, last_line=node.line)
    meta_node = node.child("metadata", error=CdmError)
    seg.raws["metadata"], seg.comments["metadata"] = _xml_block(meta_node, "metadata")
    data_node = node.child("data", error=CdmError)
    _xml_data(seg, data_node)
    for block in SEGMENT_BLOCKS:
        seg.present.update(seg.raws[block])
    if not seg.raws["state"]:
        raise CdmError("<data> has no <stateVector>", keyword="X", line=data_node.line)
    if not seg.raws["covariance"]:
        raise CdmError("<data> has no <covarianceMatrix>", keyword="CR_R", line=data_node.line)
    return seg


def _xml_segments(body: XmlNode, rel_node: XmlNode) -> list[Segment]:
    """The object segments of ``<body>``, which must follow its one ``<relativeMetadataData>``."""
    segments: list[Segment] = []
    for child in body.children:
        if child.tag == "relativeMetadataData":
            if child is not rel_node:
                raise CdmError("duplicate element", keyword=child.tag, line=child.line)
            if segments:
                raise CdmError(
                    "<relativeMetadataData> must precede the segments",
                    keyword=child.tag,
                    line=child.line,
                )
            continue
        if child.tag != "segment":
            raise CdmError("element not allowed in <body>", keyword=child.tag, line=child.line)
        seg = _xml_segment(child)
        if len(segments) >= 2:
            raise CdmError(
                "a CDM has exactly two object segments", keyword="OBJECT", line=child.line
            )
        want = ("OBJECT1", "OBJECT2")[len(segments)]
        obj = seg.raws["metadata"].get("OBJECT")
        if obj is None or obj.text != want:
            raise CdmError(
                f"segments missing or out of order: expected OBJECT = {want}, "
                f"got {obj.text if obj else None!r}",
                keyword="OBJECT",
                line=obj.line if obj else child.line,
            )
        segments.append(seg)
    return segments


def loads_xml(text: str | bytes, *, strict: bool = False) -> Cdm:
    """Parse an XML-encoded CDM (NDM/XML ``<cdm>``); see
    :func:`~astroshield.astro.formats.cdm.loads` for ``strict``."""
    root = ccsds.parse_xml_tree(text, kind="CDM", error=CdmError)
    if root.tag != "cdm":
        raise CdmError(f"root element must be <cdm>, got <{root.tag}>", keyword=root.tag, line=1)
    version = root.attrs.get("version", "").strip()
    if not version:
        raise CdmError("<cdm> needs a version attribute", keyword="CCSDS_CDM_VERS", line=root.line)
    header = _xml_block(root.child("header", error=CdmError), "header")
    body = root.child("body", error=CdmError)
    rel_node = body.child("relativeMetadataData", error=CdmError)
    relative = _xml_block(rel_node, "relative", flatten=("relativeStateVector",))
    segments = _xml_segments(body, rel_node)
    last_line = segments[-1].last_line if segments else body.line
    return assemble(version, header, relative, segments, last_line, strict=strict)


# ----------------------------------------------------------------------------------- write


def _xml_block_out(parent: ET.Element, specs: Sequence[Spec], obj: Any) -> None:
    for c in obj.comments:
        ET.SubElement(parent, "COMMENT").text = c
    for spec in specs:
        value = getattr(obj, spec.attr)
        if value is None:
            continue
        attrs = {"units": spec.unit} if spec.unit is not None else {}
        ET.SubElement(parent, spec.keyword, attrs).text = format_value(spec, value)


class _NoComments:
    """A view that hides ``comments`` (they were already written at the block start)."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self.comments: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


def _relative_out(body: ET.Element, cdm: Cdm) -> None:
    rel = ET.SubElement(body, "relativeMetadataData")
    # 508.0-B-1 XML groups RELATIVE_POSITION_*/RELATIVE_VELOCITY_* in <relativeStateVector>,
    # placed after RELATIVE_SPEED (and APPROACH_ANGLE, 2.0 draft).
    before = [s for s in REL_SPECS if s.keyword not in RELATIVE_STATE_KEYS]
    split = next(i for i, s in enumerate(before) if s.keyword == "START_SCREEN_PERIOD")
    _xml_block_out(rel, before[:split], cdm.relative)
    state_specs = [s for s in REL_SPECS if s.keyword in RELATIVE_STATE_KEYS]
    if any(getattr(cdm.relative, s.attr) is not None for s in state_specs):
        rsv = ET.SubElement(rel, "relativeStateVector")
        _xml_block_out(rsv, state_specs, _NoComments(cdm.relative))
    _xml_block_out(rel, before[split:], _NoComments(cdm.relative))


def dumps_xml(cdm: Cdm) -> str:
    """Serialise to NDM/XML (validates first)."""
    cdm.validate()
    h = cdm.header
    root = ET.Element("cdm", {"id": "CCSDS_CDM_VERS", "version": h.version})
    _xml_block_out(ET.SubElement(root, "header"), HEADER_SPECS, h)
    body = ET.SubElement(root, "body")
    _relative_out(body, cdm)
    for obj in (cdm.object1, cdm.object2):
        seg = ET.SubElement(body, "segment")
        data: ET.Element | None = None
        for tag, specs, part in object_parts(obj):
            if tag == "metadata":
                _xml_block_out(ET.SubElement(seg, "metadata"), specs, part)
                data = ET.SubElement(seg, "data")
                continue
            assert data is not None
            _xml_block_out(ET.SubElement(data, tag), specs, part)
    return ccsds.xml_document(root) + "\n"
