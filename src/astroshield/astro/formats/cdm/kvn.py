"""KVN encoding of the CDM (508.0-B-1 §4): reader and writer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import KvnLine
from astroshield.astro.formats.cdm.errors import CdmError
from astroshield.astro.formats.cdm.keywords import (
    BLOCK_OF,
    HEADER_SPECS,
    REL_SPECS,
    SEGMENT_ORDER,
    SPEC_OF,
    Spec,
)
from astroshield.astro.formats.cdm.model import Cdm, CdmHeader
from astroshield.astro.formats.cdm.segments import RawBlock, Segment, assemble
from astroshield.astro.formats.cdm.values import Raw, build, format_value
from astroshield.astro.formats.cdm.writing import object_parts

# ------------------------------------------------------------------------------------ read


def _check_truncated(seg: Segment, last_line: int) -> None:
    # A message that stops inside the last segment: every mandatory keyword still missing
    # comes after the last keyword present in the standard's order (§3.5 order), so the
    # file was cut rather than a keyword forgotten.
    mandatory = [k for k in SEGMENT_ORDER if SPEC_OF[k].mandatory]
    missing = [k for k in mandatory if k not in seg.present]
    if not missing:
        return
    positions = [SEGMENT_ORDER.index(k) for k in seg.present]
    last_pos = max(positions) if positions else -1
    if all(SEGMENT_ORDER.index(k) > last_pos for k in missing):
        obj = seg.raws["metadata"].get("OBJECT")
        raise CdmError(
            f"truncated message: ends inside the {obj.text if obj else '?'} segment, "
            f"{len(missing)} mandatory keyword(s) from {missing[0]} on are missing",
            keyword=missing[0],
            line=last_line,
        )


class _KvnReader:
    """Routes each line of a KVN CDM to its block, enforcing the order of the sections.

    ``section`` is where the reader is: ``header``, ``relative`` (relative metadata/data) or
    ``segment`` (an object segment). Comments wait in ``pending`` for the next keyword, whose
    block they are kept with.
    """

    def __init__(self, last_line: int) -> None:
        self.last_line = last_line
        self.header: RawBlock = ({}, [])
        self.relative: RawBlock = ({}, [])
        self.segments: list[Segment] = []
        self.section = "header"
        self.pending: list[str] = []

    def read(self, item: KvnLine) -> None:
        if item.comment is not None:
            self.pending.append(item.comment)
            return
        key, raw = self._keyword_value(item)
        block = BLOCK_OF.get(key)
        if block is None:
            raise CdmError("unknown keyword", keyword=key, line=item.line)
        raws, comments = self._target(key, raw, block, item.line)
        if key in raws:
            raise CdmError("duplicate keyword", keyword=key, line=item.line)
        raws[key] = raw
        comments.extend(self.pending)
        self.pending = []

    def _keyword_value(self, item: KvnLine) -> tuple[str, Raw]:
        n = item.line
        if item.keyword is None:
            if n == self.last_line:
                raise CdmError(
                    f"truncated message: last line {item.text!r} is not 'KEYWORD = value'",
                    keyword=item.text.split("=")[0].strip() or None,
                    line=n,
                )
            raise CdmError(f"expected 'KEYWORD = value', got {item.text!r}", line=n)
        key, value, unit = item.keyword, item.value, item.unit
        spec = SPEC_OF.get(key)
        if spec is not None and spec.kind == "str" and unit is not None:
            # Text values carry no unit: a bracket belongs to the value (e.g. a name).
            value, unit = item.full_value, None
        if n == self.last_line and value == "":
            raise CdmError("truncated message: keyword without value", keyword=key, line=n)
        return key, Raw(value, n, unit)

    def _target(self, key: str, raw: Raw, block: str, n: int) -> RawBlock:
        if block == "header":
            if self.section != "header":
                raise CdmError("header keyword after the header", keyword=key, line=n)
            return self.header
        if block == "relative":
            if self.section == "segment":
                raise CdmError(
                    "relative metadata/data keyword inside an object segment", keyword=key, line=n
                )
            self.section = "relative"
            return self.relative
        if key == "OBJECT":
            self._start_segment(raw.text, n)
        elif self.section != "segment":
            raise CdmError(
                "object keyword before OBJECT: OBJECT1 segment missing", keyword=key, line=n
            )
        seg = self.segments[-1]
        if key in seg.present:
            raise CdmError("duplicate keyword", keyword=key, line=n)
        if block == "metadata" and seg.present - set(seg.raws["metadata"]):
            raise CdmError("metadata keyword after the data section", keyword=key, line=n)
        seg.present.add(key)
        seg.last_line = n
        return seg.raws[block], seg.comments[block]

    def _start_segment(self, value: str, n: int) -> None:
        if len(self.segments) >= 2:
            raise CdmError("a CDM has exactly two object segments", keyword="OBJECT", line=n)
        want = ("OBJECT1", "OBJECT2")[len(self.segments)]
        if value != want:
            raise CdmError(
                f"segments missing or out of order: expected OBJECT = {want}, got {value!r}",
                keyword="OBJECT",
                line=n,
            )
        if self.section == "header":
            raise CdmError("missing relative metadata/data before OBJECT1", keyword="TCA", line=n)
        self.segments.append(Segment(line=n))
        self.section = "segment"

    def finish(self) -> None:
        """Check the message did not stop early; keep trailing comments."""
        if self.pending:
            # Comments after the last keyword: keep them with the last covariance block.
            if self.segments:
                self.segments[-1].comments["covariance"].extend(self.pending)
            else:
                self.relative[1].extend(self.pending)
        if self.segments:
            _check_truncated(self.segments[-1], self.last_line)
        if self.section == "header":
            build(CdmHeader, HEADER_SPECS, *self.header, self.last_line)
            raise CdmError(
                "truncated message: ends before the relative metadata/data",
                keyword="TCA",
                line=self.last_line,
            )


def _version(first: KvnLine) -> str:
    if first.keyword != "CCSDS_CDM_VERS":
        raise CdmError(
            "message must start with CCSDS_CDM_VERS", keyword="CCSDS_CDM_VERS", line=first.line
        )
    if not first.value:
        raise CdmError("missing value", keyword="CCSDS_CDM_VERS", line=first.line)
    return first.value


def loads_kvn(text: str, *, strict: bool = False) -> Cdm:
    """Parse a KVN-encoded CDM (508.0-B-1 §4); see
    :func:`~astroshield.astro.formats.cdm.loads` for ``strict``."""
    items = ccsds.kvn_lines(text)
    if not items:
        raise CdmError("empty message", keyword="CCSDS_CDM_VERS", line=1)
    version = _version(items[0])
    reader = _KvnReader(items[-1].line)
    for item in items[1:]:
        reader.read(item)
    reader.finish()
    return assemble(
        version, reader.header, reader.relative, reader.segments, reader.last_line, strict=strict
    )


# ----------------------------------------------------------------------------------- write


def _block_lines(specs: Sequence[Spec], obj: Any, comments: Iterable[str]) -> list[str]:
    out = ccsds.kvn_comment_lines(comments, error=CdmError)
    for spec in specs:
        value = getattr(obj, spec.attr)
        if value is None:
            continue
        line = f"{spec.keyword:<28} = {format_value(spec, value)}"
        if spec.unit is not None:
            line += f" [{spec.unit}]"
        out.append(line)
    return out


def dumps_kvn(cdm: Cdm) -> str:
    """Serialise to KVN (validates first)."""
    cdm.validate()
    h = cdm.header
    out = [f"{'CCSDS_CDM_VERS':<28} = {h.version}"]
    out.extend(_block_lines(HEADER_SPECS, h, h.comments))
    out.append("")
    out.extend(_block_lines(REL_SPECS, cdm.relative, cdm.relative.comments))
    for obj in (cdm.object1, cdm.object2):
        out.append("")
        for _tag, specs, part in object_parts(obj):
            out.extend(_block_lines(specs, part, part.comments))
    return "\n".join(out) + "\n"
