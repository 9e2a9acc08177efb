"""The semantic rules of an OEM (502.0-B-3 §5), enforced by the readers and by ``validate``.

``lines`` / ``meta_lines`` / ``state_lines`` give the input lines of what was read so an error
names them; they are empty when a message built in code is validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from astroshield.astro.formats.oem.errors import OemError
from astroshield.astro.formats.oem.values import format_epoch

if TYPE_CHECKING:
    from astroshield.astro.formats.oem.model import OemHeader, OemMetadata, OemSegment


def check_header(header: OemHeader, lines: dict[str, int]) -> None:
    """ORIGINATOR is not empty."""
    if not header.originator:
        raise OemError("missing value", keyword="ORIGINATOR", line=lines.get("ORIGINATOR"))


def _check_times(meta: OemMetadata, meta_lines: dict[str, int]) -> None:
    if meta.stop_time < meta.start_time:
        raise OemError(
            "STOP_TIME is before START_TIME", keyword="STOP_TIME", line=meta_lines.get("STOP_TIME")
        )
    for key in ("USEABLE_START_TIME", "USEABLE_STOP_TIME"):
        value = getattr(meta, key.lower())
        if value is not None and not meta.start_time <= value <= meta.stop_time:
            raise OemError("outside START_TIME..STOP_TIME", keyword=key, line=meta_lines.get(key))
    if (
        meta.useable_start_time is not None
        and meta.useable_stop_time is not None
        and meta.useable_stop_time < meta.useable_start_time
    ):
        raise OemError(
            "USEABLE_STOP_TIME is before USEABLE_START_TIME",
            keyword="USEABLE_STOP_TIME",
            line=meta_lines.get("USEABLE_STOP_TIME"),
        )


def _check_epochs(segment: OemSegment, state_lines: Sequence[int | None]) -> None:
    meta = segment.metadata
    if not segment.states:
        raise OemError("segment has no ephemeris data lines", keyword="META_STOP")
    previous: datetime | None = None
    for i, state in enumerate(segment.states):
        line = state_lines[i] if i < len(state_lines) else None
        if not meta.start_time <= state.epoch <= meta.stop_time:
            raise OemError(
                f"epoch {format_epoch(state.epoch)} outside START_TIME..STOP_TIME "
                f"({format_epoch(meta.start_time)}..{format_epoch(meta.stop_time)})",
                keyword="EPOCH",
                line=line,
            )
        if previous is not None and state.epoch <= previous:
            raise OemError("epochs must be strictly increasing", keyword="EPOCH", line=line)
        previous = state.epoch


def check_segment(
    segment: OemSegment, meta_lines: dict[str, int], state_lines: Sequence[int | None]
) -> None:
    """Metadata values present, times ordered, state epochs inside and strictly increasing."""
    meta = segment.metadata
    for key in ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM"):
        if not getattr(meta, key.lower()):
            raise OemError("missing value", keyword=key, line=meta_lines.get(key))
    _check_times(meta, meta_lines)
    if meta.interpolation_degree is not None and meta.interpolation_degree < 0:
        raise OemError(
            "must be a non-negative integer",
            keyword="INTERPOLATION_DEGREE",
            line=meta_lines.get("INTERPOLATION_DEGREE"),
        )
    _check_epochs(segment, state_lines)
