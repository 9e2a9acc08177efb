"""CCSDS Orbit Ephemeris Message (OEM, CCSDS 502.0-B-3) in KVN and XML: read, write, validate.

The message is held in frozen dataclasses (:class:`Oem`, :class:`OemHeader`, :class:`OemSegment`,
:class:`OemMetadata`, :class:`OemStateVector`, :class:`OemCovariance`); ``write -> read`` gives an
equal object for both encodings.

Conventions and limits:

* Epochs are naive :class:`datetime.datetime` calendar labels in the segment's ``TIME_SYSTEM``
  (which need not be UTC), with microsecond resolution: finer digits in a file are rounded to the
  microsecond when read. Leap-second labels (``23:59:60``) cannot be represented and are rejected.
* Day-of-year epochs (``YYYY-DDDThh:mm:ss``) and a trailing ``Z`` are accepted on input; output
  always uses ``YYYY-MM-DDThh:mm:ss.ffffff``.
* Floats are written in Python's shortest round-trip form, so values survive a round trip
  exactly. Keyword values are stripped of surrounding blanks (KVN cannot carry them).
* Covariances are stored as the 21 lower-triangular elements in CCSDS row order
  (x; y x, y y; z ...; z_dot ... z_dot z_dot), km² / km²·s⁻¹ / km²·s⁻².
* Comments are kept per block: header, metadata, data (all data-section comments are written
  before the first ephemeris line) and per covariance matrix.

Every validation problem raises :class:`OemError`, whose message names the keyword (or element)
and the line number in the input.

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks; ``defusedxml`` is not needed
(see :mod:`astroshield.astro.formats.ccsds`, shared with the other CCSDS message modules).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import KvnLine, XmlNode

FloatArray: TypeAlias = NDArray[np.float64]
Vector3: TypeAlias = tuple[float, float, float]

__all__ = [
    "Oem",
    "OemCovariance",
    "OemError",
    "OemHeader",
    "OemMetadata",
    "OemSegment",
    "OemStateVector",
    "dumps_kvn",
    "dumps_xml",
    "format_epoch",
    "loads",
    "loads_kvn",
    "loads_xml",
    "parse_epoch",
    "read_oem",
    "write_oem",
]

COVARIANCE_ELEMENTS: tuple[str, ...] = (
    "CX_X",
    "CY_X",
    "CY_Y",
    "CZ_X",
    "CZ_Y",
    "CZ_Z",
    "CX_DOT_X",
    "CX_DOT_Y",
    "CX_DOT_Z",
    "CX_DOT_X_DOT",
    "CY_DOT_X",
    "CY_DOT_Y",
    "CY_DOT_Z",
    "CY_DOT_X_DOT",
    "CY_DOT_Y_DOT",
    "CZ_DOT_X",
    "CZ_DOT_Y",
    "CZ_DOT_Z",
    "CZ_DOT_X_DOT",
    "CZ_DOT_Y_DOT",
    "CZ_DOT_Z_DOT",
)
_STATE_ELEMENTS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_ACCEL_ELEMENTS = ("X_DDOT", "Y_DDOT", "Z_DDOT")
_HEADER_KEYS = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
_HEADER_REQUIRED = ("CREATION_DATE", "ORIGINATOR")
_META_KEYS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "REF_FRAME_EPOCH",
    "TIME_SYSTEM",
    "START_TIME",
    "USEABLE_START_TIME",
    "USEABLE_STOP_TIME",
    "STOP_TIME",
    "INTERPOLATION",
    "INTERPOLATION_DEGREE",
)
_META_REQUIRED = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "TIME_SYSTEM",
    "START_TIME",
    "STOP_TIME",
)


class OemError(ccsds.CcsdsError):
    """An invalid OEM; ``keyword`` and ``line`` (1-based, None if unknown) locate the problem."""


# ----------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class OemHeader:
    creation_date: datetime
    originator: str
    version: str = "3.0"
    classification: str | None = None
    message_id: str | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class OemMetadata:
    object_name: str
    object_id: str
    center_name: str
    ref_frame: str
    time_system: str
    start_time: datetime
    stop_time: datetime
    ref_frame_epoch: datetime | None = None
    useable_start_time: datetime | None = None
    useable_stop_time: datetime | None = None
    interpolation: str | None = None
    interpolation_degree: int | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class OemStateVector:
    epoch: datetime
    position_km: Vector3
    velocity_km_s: Vector3
    acceleration_km_s2: Vector3 | None = None


@dataclass(frozen=True)
class OemCovariance:
    epoch: datetime
    lower_triangle: tuple[float, ...]
    """21 elements, CCSDS row order (see module notes)."""
    cov_ref_frame: str | None = None
    comments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.lower_triangle) != 21:
            raise OemError(
                f"covariance needs 21 lower-triangular elements, got {len(self.lower_triangle)}"
            )

    @classmethod
    def from_matrix(
        cls,
        epoch: datetime,
        matrix: Any,
        cov_ref_frame: str | None = None,
        comments: Sequence[str] = (),
    ) -> OemCovariance:
        """Build from a 6×6 array (its lower triangle is used)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (6, 6):
            raise OemError(f"covariance matrix must be 6×6, got {m.shape}")
        rows, cols = np.tril_indices(6)
        return cls(
            epoch=epoch,
            lower_triangle=tuple(float(x) for x in m[rows, cols]),
            cov_ref_frame=cov_ref_frame,
            comments=tuple(comments),
        )

    def matrix(self) -> FloatArray:
        """The full symmetric 6×6 covariance."""
        m = np.zeros((6, 6))
        rows, cols = np.tril_indices(6)
        m[rows, cols] = self.lower_triangle
        m[cols, rows] = self.lower_triangle
        return m


@dataclass(frozen=True)
class OemSegment:
    metadata: OemMetadata
    states: tuple[OemStateVector, ...]
    covariances: tuple[OemCovariance, ...] = ()
    data_comments: tuple[str, ...] = ()

    @classmethod
    def from_arrays(
        cls,
        metadata: OemMetadata,
        epochs: Any,
        positions_km: Any,
        velocities_km_s: Any,
        accelerations_km_s2: Any = None,
        *,
        covariances: Sequence[OemCovariance] = (),
        data_comments: Sequence[str] = (),
    ) -> OemSegment:
        """Build a segment from N epochs (datetime64 or datetimes) and (N, 3) arrays."""
        times = np.asarray(epochs, dtype="datetime64[us]").ravel()
        r = np.asarray(positions_km, dtype=np.float64).reshape(-1, 3)
        v = np.asarray(velocities_km_s, dtype=np.float64).reshape(-1, 3)
        a = (
            None
            if accelerations_km_s2 is None
            else np.asarray(accelerations_km_s2, dtype=np.float64).reshape(-1, 3)
        )
        if not len(times) == len(r) == len(v) or (a is not None and len(a) != len(r)):
            raise ValueError("epochs, positions, velocities (and accelerations) differ in length")
        states = tuple(
            OemStateVector(
                epoch=times[i].item(),
                position_km=(float(r[i, 0]), float(r[i, 1]), float(r[i, 2])),
                velocity_km_s=(float(v[i, 0]), float(v[i, 1]), float(v[i, 2])),
                acceleration_km_s2=None
                if a is None
                else (float(a[i, 0]), float(a[i, 1]), float(a[i, 2])),
            )
            for i in range(len(times))
        )
        return cls(
            metadata=metadata,
            states=states,
            covariances=tuple(covariances),
            data_comments=tuple(data_comments),
        )

    def epochs(self) -> NDArray[np.datetime64]:
        """State epochs as ``datetime64[us]`` (labels in the segment's TIME_SYSTEM)."""
        return np.array([s.epoch for s in self.states], dtype="datetime64[us]")

    def positions_km(self) -> FloatArray:
        return np.array([s.position_km for s in self.states], dtype=np.float64).reshape(-1, 3)

    def velocities_km_s(self) -> FloatArray:
        return np.array([s.velocity_km_s for s in self.states], dtype=np.float64).reshape(-1, 3)

    def interpolate(self, epochs: Any) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities at ``epochs`` (datetime64 or datetimes, TIME_SYSTEM labels).

        Uses the segment's INTERPOLATION (LAGRANGE or HERMITE; default LAGRANGE) and
        INTERPOLATION_DEGREE (default 7 for Lagrange, 5 for Hermite) with
        :func:`astroshield.astro.dynamics.interpolation.interpolate_states`.
        """
        from astroshield.astro.dynamics.interpolation import interpolate_states

        method = (self.metadata.interpolation or "LAGRANGE").upper()
        if method not in ("LAGRANGE", "HERMITE"):
            raise OemError(
                f"interpolation method {method!r} is not supported", keyword="INTERPOLATION"
            )
        query = np.atleast_1d(np.asarray(epochs, dtype="datetime64[us]"))
        return interpolate_states(
            self.epochs(),
            self.positions_km(),
            self.velocities_km_s(),
            query,
            method="hermite" if method == "HERMITE" else "lagrange",
            degree=self.metadata.interpolation_degree,
        )


@dataclass(frozen=True)
class Oem:
    header: OemHeader
    segments: tuple[OemSegment, ...] = field(default_factory=tuple)

    def validate(self) -> None:
        """Check the semantic rules the readers enforce; raise :class:`OemError` if broken."""
        _check_header(self.header, {})
        if not self.segments:
            raise OemError("an OEM needs at least one segment", keyword="META_START")
        for segment in self.segments:
            _check_segment(segment, {}, [])


# ------------------------------------------------------------------------ epochs, numbers


def parse_epoch(text: str, *, keyword: str = "EPOCH", line: int | None = None) -> datetime:
    """Parse a CCSDS ASCII time code A (calendar) or B (day-of-year) into a naive datetime."""
    return ccsds.parse_epoch(text, keyword=keyword, line=line, error=OemError)


def format_epoch(value: datetime) -> str:
    """CCSDS calendar format with microseconds, e.g. ``2024-01-01T00:00:00.000000``."""
    return ccsds.format_epoch(value, kind="OEM", error=OemError)


def _format_float(x: float) -> str:
    return ccsds.format_float(x, error=OemError)


def _parse_float(text: str, *, keyword: str, line: int | None) -> float:
    return ccsds.parse_float(text, keyword=keyword, line=line, error=OemError)


# ------------------------------------------------------------------------ semantic checks


def _check_header(header: OemHeader, lines: dict[str, int]) -> None:
    if not header.originator:
        raise OemError("missing value", keyword="ORIGINATOR", line=lines.get("ORIGINATOR"))


def _check_segment(
    segment: OemSegment, meta_lines: dict[str, int], state_lines: Sequence[int | None]
) -> None:
    meta = segment.metadata
    for key in ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM"):
        if not getattr(meta, key.lower()):
            raise OemError("missing value", keyword=key, line=meta_lines.get(key))
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
    if meta.interpolation_degree is not None and meta.interpolation_degree < 0:
        raise OemError(
            "must be a non-negative integer",
            keyword="INTERPOLATION_DEGREE",
            line=meta_lines.get("INTERPOLATION_DEGREE"),
        )
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


# ------------------------------------------------------------------------------- KVN read


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


def _require(values: dict[str, str], required: Sequence[str], block: str, line: int | None) -> None:
    for key in required:
        if not values.get(key):
            raise OemError(f"mandatory keyword missing from {block}", keyword=key, line=line)


def _build_header(
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


def _build_metadata(
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


def _state_from_fields(
    epoch_text: str, numbers: Sequence[str], line: int | None, names: Sequence[str]
) -> OemStateVector:
    epoch = parse_epoch(epoch_text, keyword="EPOCH", line=line)
    values = [
        _parse_float(text, keyword=name, line=line)
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
                _parse_float(f, keyword=COVARIANCE_ELEMENTS[base + i], line=rn)
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


def loads_kvn(text: str) -> Oem:
    """Parse a KVN-encoded OEM."""
    lines = _Lines(text)
    first = lines.peek()
    if first is None:
        raise OemError("empty message", keyword="CCSDS_OEM_VERS", line=1)
    head = lines.next()
    n = head.line
    key, version = _key_value(head)
    if key != "CCSDS_OEM_VERS":
        raise OemError("message must start with CCSDS_OEM_VERS", keyword="CCSDS_OEM_VERS", line=n)
    values, where, comments = _read_block(lines, _HEADER_KEYS, lambda t: t == "META_START")
    _require(values, _HEADER_REQUIRED, "the header", n)
    header = _build_header(version, values, where, comments)
    _check_header(header, where)
    segments: list[OemSegment] = []
    while lines.peek() is not None:
        start = lines.next()
        n = start.line
        if start.text != "META_START":
            raise OemError(f"expected META_START, got {start.text!r}", keyword="META_START", line=n)
        values, where, comments = _read_block(lines, _META_KEYS, lambda t: t == "META_STOP")
        stop_line = lines.next().line  # META_STOP (or end-of-message error)
        _require(values, _META_REQUIRED, "the metadata block", stop_line)
        metadata = _build_metadata(values, where, comments)
        states: list[OemStateVector] = []
        state_lines: list[int | None] = []
        covariances: list[OemCovariance] = []
        data_comments: list[str] = []
        while (item := lines.peek()) is not None and item.text != "META_START":
            lines.next()
            n, text = item.line, item.text
            if item.comment is not None:
                data_comments.append(item.comment)
                continue
            if text == "COVARIANCE_START":
                if covariances:
                    raise OemError("second covariance block", keyword="COVARIANCE_START", line=n)
                covariances = _read_covariances(lines)
                continue
            if covariances:
                raise OemError(
                    "ephemeris data after the covariance block", keyword="COVARIANCE_STOP", line=n
                )
            fields = text.split()
            if len(fields) not in (7, 10):
                raise OemError(
                    f"ephemeris data line needs 7 or 10 columns (epoch, x y z, vx vy vz"
                    f"[, ax ay az]), got {len(fields)}",
                    keyword="EPHEMERIS_DATA",
                    line=n,
                )
            states.append(
                _state_from_fields(fields[0], fields[1:], n, _STATE_ELEMENTS + _ACCEL_ELEMENTS)
            )
            state_lines.append(n)
        segment = OemSegment(
            metadata=metadata,
            states=tuple(states),
            covariances=tuple(covariances),
            data_comments=tuple(data_comments),
        )
        if not states:
            raise OemError(
                "segment has no ephemeris data lines", keyword="META_STOP", line=stop_line
            )
        _check_segment(segment, where, state_lines)
        segments.append(segment)
    if not segments:
        raise OemError("an OEM needs at least one segment", keyword="META_START", line=n)
    return Oem(header=header, segments=tuple(segments))


# ------------------------------------------------------------------------------ KVN write


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
        out.extend(f"{k} = {v}" for k, v in _metadata_items(segment.metadata))
        out.append("META_STOP")
        out.append("")
        out.extend(ccsds.kvn_comment_lines(segment.data_comments, error=OemError))
        for state in segment.states:
            numbers = [*state.position_km, *state.velocity_km_s]
            if state.acceleration_km_s2 is not None:
                numbers.extend(state.acceleration_km_s2)
            out.append(" ".join([format_epoch(state.epoch), *map(_format_float, numbers)]))
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
                    out.append(" ".join(map(_format_float, values)))
                    start += row + 1
            out.append("COVARIANCE_STOP")
    return "\n".join(out) + "\n"


def _metadata_items(meta: OemMetadata) -> list[tuple[str, str]]:
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


# ------------------------------------------------------------------------------- XML read


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
    allowed = ("EPOCH", *_STATE_ELEMENTS, *_ACCEL_ELEMENTS)
    values, where, comments = _fields(node, allowed)
    if comments:
        raise OemError("COMMENT not allowed in <stateVector>", keyword="COMMENT", line=node.line)
    for key in ("EPOCH", *_STATE_ELEMENTS):
        if key not in values:
            raise OemError("missing from <stateVector>", keyword=key, line=node.line)
    names = list(_STATE_ELEMENTS)
    present_acc = [k for k in _ACCEL_ELEMENTS if k in values]
    if present_acc and len(present_acc) != 3:
        missing = next(k for k in _ACCEL_ELEMENTS if k not in values)
        raise OemError("accelerations need all three components", keyword=missing, line=node.line)
    names.extend(present_acc)
    epoch = parse_epoch(values["EPOCH"], keyword="EPOCH", line=where["EPOCH"])
    nums = [_parse_float(values[k], keyword=k, line=where[k]) for k in names]
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
            _parse_float(values[k], keyword=k, line=where[k]) for k in COVARIANCE_ELEMENTS
        ),
        cov_ref_frame=values.get("COV_REF_FRAME"),
        comments=tuple(comments),
    )


def loads_xml(text: str | bytes) -> Oem:
    """Parse an XML-encoded OEM (NDM/XML ``<oem>``)."""
    root = ccsds.parse_xml_tree(text, kind="OEM", error=OemError, name_open_element=False)
    if root.tag != "oem":
        raise OemError(f"root element must be <oem>, got <{root.tag}>", keyword=root.tag, line=1)
    version = root.attrs.get("version", "").strip()
    if not version:
        raise OemError("<oem> needs a version attribute", keyword="CCSDS_OEM_VERS", line=root.line)
    header_node = root.child("header", error=OemError)
    values, where, comments = _fields(header_node, _HEADER_KEYS)
    _require(values, _HEADER_REQUIRED, "<header>", header_node.line)
    header = _build_header(version, values, where, comments)
    _check_header(header, where)
    body = root.child("body", error=OemError)
    segments: list[OemSegment] = []
    for seg_node in body.children:
        if seg_node.tag != "segment":
            raise OemError(
                "only <segment> allowed in <body>", keyword=seg_node.tag, line=seg_node.line
            )
        meta_node = seg_node.child("metadata", error=OemError)
        values, where, comments = _fields(meta_node, _META_KEYS)
        _require(values, _META_REQUIRED, "<metadata>", meta_node.line)
        metadata = _build_metadata(values, where, comments)
        data_node = seg_node.child("data", error=OemError)
        states: list[OemStateVector] = []
        state_lines: list[int | None] = []
        covariances: list[OemCovariance] = []
        data_comments: list[str] = []
        for child in data_node.children:
            if child.tag == "COMMENT":
                data_comments.append(child.text)
            elif child.tag == "stateVector":
                if covariances:
                    raise OemError(
                        "<stateVector> after <covarianceMatrix>",
                        keyword="stateVector",
                        line=child.line,
                    )
                states.append(_xml_state(child))
                state_lines.append(child.line)
            elif child.tag == "covarianceMatrix":
                covariances.append(_xml_covariance(child))
            else:
                raise OemError("element not allowed in <data>", keyword=child.tag, line=child.line)
        segment = OemSegment(
            metadata=metadata,
            states=tuple(states),
            covariances=tuple(covariances),
            data_comments=tuple(data_comments),
        )
        if not states:
            raise OemError(
                "segment has no <stateVector>", keyword="stateVector", line=data_node.line
            )
        _check_segment(segment, where, state_lines)
        segments.append(segment)
    if not segments:
        raise OemError("an OEM needs at least one <segment>", keyword="segment", line=body.line)
    return Oem(header=header, segments=tuple(segments))


# ------------------------------------------------------------------------------ XML write


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def dumps_xml(oem: Oem) -> str:
    """Serialise to NDM/XML (validates first)."""
    oem.validate()
    h = oem.header
    root = ET.Element("oem", {"id": "CCSDS_OEM_VERS", "version": h.version})
    header = ET.SubElement(root, "header")
    for c in h.comments:
        _sub(header, "COMMENT", c)
    if h.classification is not None:
        _sub(header, "CLASSIFICATION", h.classification)
    _sub(header, "CREATION_DATE", format_epoch(h.creation_date))
    _sub(header, "ORIGINATOR", h.originator)
    if h.message_id is not None:
        _sub(header, "MESSAGE_ID", h.message_id)
    body = ET.SubElement(root, "body")
    for segment in oem.segments:
        seg = ET.SubElement(body, "segment")
        meta = ET.SubElement(seg, "metadata")
        for c in segment.metadata.comments:
            _sub(meta, "COMMENT", c)
        for key, value in _metadata_items(segment.metadata):
            _sub(meta, key, value)
        data = ET.SubElement(seg, "data")
        for c in segment.data_comments:
            _sub(data, "COMMENT", c)
        for state in segment.states:
            sv = ET.SubElement(data, "stateVector")
            _sub(sv, "EPOCH", format_epoch(state.epoch))
            numbers = [*state.position_km, *state.velocity_km_s]
            names = list(_STATE_ELEMENTS)
            if state.acceleration_km_s2 is not None:
                numbers.extend(state.acceleration_km_s2)
                names.extend(_ACCEL_ELEMENTS)
            for name, number in zip(names, numbers, strict=True):
                _sub(sv, name, _format_float(number))
        for cov in segment.covariances:
            cm = ET.SubElement(data, "covarianceMatrix")
            for c in cov.comments:
                _sub(cm, "COMMENT", c)
            _sub(cm, "EPOCH", format_epoch(cov.epoch))
            if cov.cov_ref_frame is not None:
                _sub(cm, "COV_REF_FRAME", cov.cov_ref_frame)
            for name, number in zip(COVARIANCE_ELEMENTS, cov.lower_triangle, strict=True):
                _sub(cm, name, _format_float(number))
    return ccsds.xml_document(root) + "\n"


# ---------------------------------------------------------------------------- file helpers


def loads(text: str | bytes) -> Oem:
    """Parse either encoding, detected from the first non-blank character."""
    text = ccsds.decode_message(text)
    return loads_xml(text) if ccsds.is_xml(text) else loads_kvn(text)


def read_oem(path: str | Path) -> Oem:
    """Read a KVN or XML OEM file."""
    return loads(Path(path).read_bytes())


def write_oem(oem: Oem, path: str | Path, *, fmt: str = "kvn") -> None:
    """Write ``oem`` to ``path`` as ``fmt`` = ``"kvn"`` or ``"xml"``."""
    if fmt == "kvn":
        text = dumps_kvn(oem)
    elif fmt == "xml":
        text = dumps_xml(oem)
    else:
        raise ValueError(f"fmt must be 'kvn' or 'xml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")
