"""KVN encoding of the OEM (502.0-B-3 §5-6): reader and writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import KvnLine
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
from astroshield.astro.formats.oem.model import Oem, OemCovariance, OemSegment, OemStateVector
from astroshield.astro.formats.oem.values import (
    format_epoch,
    format_float,
    parse_epoch,
    parse_float,
)

# ------------------------------------------------------------------------------------ read


class _Lines:
    """Non-blank input lines (:func:`~astroshield.astro.formats.ccsds.kvn_lines`) with lookahead."""

    def __init__(self, text: str) -> None:
        self._items = ccsds.kvn_lines(text)
        self._pos = 0

    def peek(self) -> KvnLine | None:
        return self._items[self._pos] if self._pos < len(self._items) else None

    def next(self) -> KvnLine:
        item = self.peek()
        if item is None:
            last = self._items[-1].line if self._items else 0
            raise OemError("unexpected end of message", line=last)
        self._pos += 1
        return item


def _key_value(item: KvnLine) -> tuple[str, str]:
    if item.keyword is None:
        raise OemError(f"expected 'KEYWORD = value', got {item.text!r}", line=item.line)
    return item.keyword, item.full_value


def _read_block(
    lines: _Lines,
    allowed: Sequence[str],
    stop: Callable[[str], bool],
) -> tuple[dict[str, str], dict[str, int], list[str]]:
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    comments: list[str] = []
    while (item := lines.peek()) is not None and not stop(item.text):
        lines.next()
        n = item.line
        if item.comment is not None:
            # CCSDS puts comments at the start of a block; elsewhere we keep them anyway.
            comments.append(item.comment)
            continue
        key, value = _key_value(item)
        if key not in allowed:
            raise OemError("keyword not allowed here", keyword=key, line=n)
        if key in values:
            raise OemError("duplicate keyword", keyword=key, line=n)
        values[key] = value
        where[key] = n
    return values, where, comments


def _state_from_fields(
    epoch_text: str, numbers: Sequence[str], line: int | None, names: Sequence[str]
) -> OemStateVector:
    epoch = parse_epoch(epoch_text, keyword="EPOCH", line=line)
    values = [
        parse_float(text, keyword=name, line=line)
        for text, name in zip(numbers, names[: len(numbers)], strict=True)
    ]
    acc = (values[6], values[7], values[8]) if len(values) == 9 else None
    return OemStateVector(
        epoch=epoch,
        position_km=(values[0], values[1], values[2]),
        velocity_km_s=(values[3], values[4], values[5]),
        acceleration_km_s2=acc,
    )


def _read_covariances(lines: _Lines) -> list[OemCovariance]:
    covariances: list[OemCovariance] = []
    comments: list[str] = []
    while True:
        item = lines.next()
        n = item.line
        if item.text == "COVARIANCE_STOP":
            if comments:
                raise OemError(
                    "comment after the last covariance matrix", keyword="COMMENT", line=n
                )
            return covariances
        if item.comment is not None:
            comments.append(item.comment)
            continue
        key, value = _key_value(item)
        if key != "EPOCH":
            raise OemError("each covariance matrix must start with EPOCH", keyword=key, line=n)
        epoch = parse_epoch(value, keyword="EPOCH", line=n)
        frame: str | None = None
        next_item = lines.peek()
        if next_item is not None and next_item.text.startswith("COV_REF_FRAME"):
            _, frame = _key_value(lines.next())
        elements: list[float] = []
        for row in range(6):
            row_item = lines.next()
            rn = row_item.line
            fields = row_item.text.split()
            if len(fields) != row + 1:
                raise OemError(
                    f"covariance row {row + 1} needs {row + 1} values, got {len(fields)}",
                    keyword="COVARIANCE",
                    line=rn,
                )
            base = len(elements)
            elements.extend(
                parse_float(f, keyword=COVARIANCE_ELEMENTS[base + i], line=rn)
                for i, f in enumerate(fields)
            )
        covariances.append(
            OemCovariance(
                epoch=epoch,
                lower_triangle=tuple(elements),
                cov_ref_frame=frame,
                comments=tuple(comments),
            )
        )
        comments = []


def _state_line(item: KvnLine) -> OemStateVector:
    fields = item.text.split()
    if len(fields) not in (7, 10):
        raise OemError(
            f"ephemeris data line needs 7 or 10 columns (epoch, x y z, vx vy vz"
            f"[, ax ay az]), got {len(fields)}",
            keyword="EPHEMERIS_DATA",
            line=item.line,
        )
    return _state_from_fields(fields[0], fields[1:], item.line, STATE_ELEMENTS + ACCEL_ELEMENTS)


def _read_data(lines: _Lines) -> SegmentData:
    """Ephemeris lines, then at most one covariance block, up to the next META_START."""
    data = SegmentData()
    while (item := lines.peek()) is not None and item.text != "META_START":
        lines.next()
        n = item.line
        if item.comment is not None:
            data.comments.append(item.comment)
            continue
        if item.text == "COVARIANCE_START":
            if data.covariances:
                raise OemError("second covariance block", keyword="COVARIANCE_START", line=n)
            data.covariances = _read_covariances(lines)
            continue
        if data.covariances:
            raise OemError(
                "ephemeris data after the covariance block", keyword="COVARIANCE_STOP", line=n
            )
        data.states.append(_state_line(item))
        data.state_lines.append(n)
    return data


def _read_segment(lines: _Lines) -> OemSegment:
    start = lines.next()
    if start.text != "META_START":
        raise OemError(
            f"expected META_START, got {start.text!r}", keyword="META_START", line=start.line
        )
    values, where, comments = _read_block(lines, META_KEYS, lambda t: t == "META_STOP")
    stop_line = lines.next().line  # META_STOP (or end-of-message error)
    require(values, META_REQUIRED, "the metadata block", stop_line)
    metadata = build_metadata(values, where, comments)
    data = _read_data(lines)
    segment = data.segment(metadata)
    if not data.states:
        raise OemError("segment has no ephemeris data lines", keyword="META_STOP", line=stop_line)
    check_segment(segment, where, data.state_lines)
    return segment


def loads_kvn(text: str) -> Oem:
    """Parse a KVN-encoded OEM."""
    lines = _Lines(text)
    if lines.peek() is None:
        raise OemError("empty message", keyword="CCSDS_OEM_VERS", line=1)
    head = lines.next()
    key, version = _key_value(head)
    if key != "CCSDS_OEM_VERS":
        raise OemError(
            "message must start with CCSDS_OEM_VERS", keyword="CCSDS_OEM_VERS", line=head.line
        )
    values, where, comments = _read_block(lines, HEADER_KEYS, lambda t: t == "META_START")
    require(values, HEADER_REQUIRED, "the header", head.line)
    header = build_header(version, values, where, comments)
    check_header(header, where)
    segments: list[OemSegment] = []
    while lines.peek() is not None:
        segments.append(_read_segment(lines))
    if not segments:
        raise OemError("an OEM needs at least one segment", keyword="META_START", line=head.line)
    return Oem(header=header, segments=tuple(segments))


# ----------------------------------------------------------------------------------- write


def dumps_kvn(oem: Oem) -> str:
    """Serialise to KVN (validates first)."""
    oem.validate()
    out: list[str] = []
    h = oem.header
    out.append(f"CCSDS_OEM_VERS = {h.version}")
    out.extend(ccsds.kvn_comment_lines(h.comments, error=OemError))
    if h.classification is not None:
        out.append(f"CLASSIFICATION = {h.classification}")
    out.append(f"CREATION_DATE = {format_epoch(h.creation_date)}")
    out.append(f"ORIGINATOR = {h.originator}")
    if h.message_id is not None:
        out.append(f"MESSAGE_ID = {h.message_id}")
    for segment in oem.segments:
        out.append("")
        out.append("META_START")
        out.extend(ccsds.kvn_comment_lines(segment.metadata.comments, error=OemError))
        out.extend(f"{k} = {v}" for k, v in metadata_items(segment.metadata))
        out.append("META_STOP")
        out.append("")
        out.extend(ccsds.kvn_comment_lines(segment.data_comments, error=OemError))
        for state in segment.states:
            numbers = [*state.position_km, *state.velocity_km_s]
            if state.acceleration_km_s2 is not None:
                numbers.extend(state.acceleration_km_s2)
            out.append(" ".join([format_epoch(state.epoch), *map(format_float, numbers)]))
        if segment.covariances:
            out.append("")
            out.append("COVARIANCE_START")
            for cov in segment.covariances:
                out.extend(ccsds.kvn_comment_lines(cov.comments, error=OemError))
                out.append(f"EPOCH = {format_epoch(cov.epoch)}")
                if cov.cov_ref_frame is not None:
                    out.append(f"COV_REF_FRAME = {cov.cov_ref_frame}")
                start = 0
                for row in range(6):
                    values = cov.lower_triangle[start : start + row + 1]
                    out.append(" ".join(map(format_float, values)))
                    start += row + 1
            out.append("COVARIANCE_STOP")
    return "\n".join(out) + "\n"
