"""Header and metadata blocks as both readers collect them (keyword -> text, keyword -> line),
and as both writers emit them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.oem.errors import OemError
from astroshield.astro.formats.oem.model import (
    OemCovariance,
    OemHeader,
    OemMetadata,
    OemSegment,
    OemStateVector,
)
from astroshield.astro.formats.oem.values import format_epoch, parse_epoch


def require(values: dict[str, str], required: Sequence[str], block: str, line: int | None) -> None:
    for key in required:
        if not values.get(key):
            raise OemError(f"mandatory keyword missing from {block}", keyword=key, line=line)


def build_header(
    version: str, values: dict[str, str], where: dict[str, int], comments: list[str]
) -> OemHeader:
    return OemHeader(
        creation_date=parse_epoch(
            values["CREATION_DATE"], keyword="CREATION_DATE", line=where.get("CREATION_DATE")
        ),
        originator=values["ORIGINATOR"],
        version=version,
        classification=values.get("CLASSIFICATION"),
        message_id=values.get("MESSAGE_ID"),
        comments=tuple(comments),
    )


def _optional_epoch(values: dict[str, str], where: dict[str, int], key: str) -> datetime | None:
    if key not in values:
        return None
    return parse_epoch(values[key], keyword=key, line=where.get(key))


def build_metadata(
    values: dict[str, str], where: dict[str, int], comments: list[str]
) -> OemMetadata:
    degree: int | None = None
    if "INTERPOLATION_DEGREE" in values:
        raw = values["INTERPOLATION_DEGREE"]
        if not re.fullmatch(r"\+?\d+", raw):
            raise OemError(
                f"must be a non-negative integer, got {raw!r}",
                keyword="INTERPOLATION_DEGREE",
                line=where.get("INTERPOLATION_DEGREE"),
            )
        degree = int(raw)
    return OemMetadata(
        object_name=values["OBJECT_NAME"],
        object_id=values["OBJECT_ID"],
        center_name=values["CENTER_NAME"],
        ref_frame=values["REF_FRAME"],
        time_system=values["TIME_SYSTEM"],
        start_time=parse_epoch(
            values["START_TIME"], keyword="START_TIME", line=where.get("START_TIME")
        ),
        stop_time=parse_epoch(
            values["STOP_TIME"], keyword="STOP_TIME", line=where.get("STOP_TIME")
        ),
        ref_frame_epoch=_optional_epoch(values, where, "REF_FRAME_EPOCH"),
        useable_start_time=_optional_epoch(values, where, "USEABLE_START_TIME"),
        useable_stop_time=_optional_epoch(values, where, "USEABLE_STOP_TIME"),
        interpolation=values.get("INTERPOLATION"),
        interpolation_degree=degree,
        comments=tuple(comments),
    )


def metadata_items(meta: OemMetadata) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = [
        ("OBJECT_NAME", meta.object_name),
        ("OBJECT_ID", meta.object_id),
        ("CENTER_NAME", meta.center_name),
        ("REF_FRAME", meta.ref_frame),
    ]
    if meta.ref_frame_epoch is not None:
        items.append(("REF_FRAME_EPOCH", format_epoch(meta.ref_frame_epoch)))
    items.append(("TIME_SYSTEM", meta.time_system))
    items.append(("START_TIME", format_epoch(meta.start_time)))
    if meta.useable_start_time is not None:
        items.append(("USEABLE_START_TIME", format_epoch(meta.useable_start_time)))
    if meta.useable_stop_time is not None:
        items.append(("USEABLE_STOP_TIME", format_epoch(meta.useable_stop_time)))
    items.append(("STOP_TIME", format_epoch(meta.stop_time)))
    if meta.interpolation is not None:
        items.append(("INTERPOLATION", meta.interpolation))
    if meta.interpolation_degree is not None:
        items.append(("INTERPOLATION_DEGREE", str(meta.interpolation_degree)))
    for key, value in items:
        ccsds.single_line(value, keyword=key, error=OemError)
    return items


@dataclass
class SegmentData:
    """The data section of a segment as read: states (with their lines), covariances, comments."""

    states: list[OemStateVector] = field(default_factory=list)
    state_lines: list[int | None] = field(default_factory=list)
    covariances: list[OemCovariance] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def segment(self, metadata: OemMetadata) -> OemSegment:
        return OemSegment(
            metadata=metadata,
            states=tuple(self.states),
            covariances=tuple(self.covariances),
            data_comments=tuple(self.comments),
        )
