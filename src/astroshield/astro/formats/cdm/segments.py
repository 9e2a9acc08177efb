"""Assembly shared by the KVN and XML readers: raw keyword values -> :class:`Cdm`.

Each reader groups what it read per block (header, relative metadata/data, and for each object
segment its metadata, OD, additional, state and covariance blocks) and hands it to
:func:`assemble`, which builds, checks and reports in one place so both encodings fail alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from astroshield.astro.formats.cdm.covariance import element_count, report_covariances
from astroshield.astro.formats.cdm.errors import CdmError
from astroshield.astro.formats.cdm.keywords import (
    ADD_SPECS,
    COVARIANCE_KEYWORDS,
    HEADER_SPECS,
    META_SPECS,
    OD_SPECS,
    REL_SPECS,
    SEGMENT_BLOCKS,
    SEGMENT_ORDER,
    SPEC_OF,
    STATE_SPECS,
    Spec,
)
from astroshield.astro.formats.cdm.model import (
    Cdm,
    CdmAdditionalParameters,
    CdmCovariance,
    CdmHeader,
    CdmObject,
    CdmObjectMetadata,
    CdmOdParameters,
    CdmRelativeData,
    CdmStateVector,
)
from astroshield.astro.formats.cdm.values import (
    Raw,
    build,
    check_metadata,
    check_text,
    convert,
    first_line,
    lines_of,
)

RawBlock = tuple[dict[str, Raw], list[str]]
"""A block as read: raw values by keyword, and the comments at its start."""


@dataclass
class Segment:
    """Raw keyword values of one object segment, grouped by block."""

    line: int
    raws: dict[str, dict[str, Raw]] = field(default_factory=lambda: {b: {} for b in SEGMENT_BLOCKS})
    comments: dict[str, list[str]] = field(default_factory=lambda: {b: [] for b in SEGMENT_BLOCKS})
    present: set[str] = field(default_factory=set)
    last_line: int = 0


def _optional_block(
    seg: Segment, block: str, cls: type[Any], specs: tuple[Spec, ...], end: int
) -> Any:
    if not (seg.raws[block] or seg.comments[block]):
        return None
    return build(cls, specs, seg.raws[block], seg.comments[block], end)


def build_object(seg: Segment) -> CdmObject:
    """The :class:`CdmObject` of one segment, checked (metadata values, covariance rows)."""
    end = seg.last_line
    all_raws = {k: r for b in SEGMENT_BLOCKS for k, r in seg.raws[b].items()}
    meta = build(
        CdmObjectMetadata, META_SPECS, all_raws, seg.comments["metadata"], end, SEGMENT_ORDER
    )
    meta_where = lines_of(seg.raws["metadata"])
    check_text("metadata", META_SPECS, meta, meta_where)
    check_metadata(meta, meta_where)
    od = _optional_block(seg, "od", CdmOdParameters, OD_SPECS, end)
    add = _optional_block(seg, "additional", CdmAdditionalParameters, ADD_SPECS, end)
    state = build(CdmStateVector, STATE_SPECS, all_raws, seg.comments["state"], end, SEGMENT_ORDER)
    cov_raws = seg.raws["covariance"]
    count = element_count(cov_raws, all_raws, end)
    values = tuple(float(convert(SPEC_OF[k], cov_raws[k])) for k in COVARIANCE_KEYWORDS[:count])
    cov = CdmCovariance(values, tuple(seg.comments["covariance"]))
    return CdmObject(meta, state, cov, od, add)


def assemble(
    version: str,
    header: RawBlock,
    relative: RawBlock,
    segments: list[Segment],
    last_line: int,
    *,
    strict: bool,
) -> Cdm:
    """Build and check the message.

    Covariance problems are reported by
    :func:`~astroshield.astro.formats.cdm.covariance.report_covariances` with a warning that
    points at the code calling :func:`~astroshield.astro.formats.cdm.files.loads`; so the
    readers ``loads_kvn`` and ``loads_xml`` call this function themselves, not through a helper.
    """
    h_raws, h_comments = header
    r_raws, r_comments = relative
    hdr = build(CdmHeader, HEADER_SPECS, h_raws, h_comments, first_line(r_raws) or last_line)
    hdr = replace(hdr, version=version)
    check_text("header", HEADER_SPECS, hdr, lines_of(h_raws))
    rel_end = segments[0].line if segments else None
    rel = build(CdmRelativeData, REL_SPECS, r_raws, r_comments, rel_end)
    check_text("relative", REL_SPECS, rel, lines_of(r_raws))
    if not segments:
        raise CdmError("OBJECT1 segment missing", keyword="OBJECT", line=last_line)
    if len(segments) == 1:
        raise CdmError("OBJECT2 segment missing", keyword="OBJECT", line=last_line)
    objects = [build_object(seg) for seg in segments]
    cdm = Cdm(hdr, rel, objects[0], objects[1])
    cov_lines: dict[str, int | None] = {
        obj.metadata.object: seg.raws["covariance"]["CR_R"].line
        for obj, seg in zip(objects, segments, strict=True)
    }
    return report_covariances(cdm, cov_lines, strict=strict, stacklevel=4)
