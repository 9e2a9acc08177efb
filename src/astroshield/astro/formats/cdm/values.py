"""Keyword values: unit checks, text -> value conversion and back, and the block checks.

Both readers collect each keyword as a :class:`Raw` (text, line, unit) and turn a block of them
into its dataclass with :func:`build`; the writers format values with :func:`format_value`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.cdm.errors import CdmError
from astroshield.astro.formats.cdm.keywords import ENUMS, REF_FRAMES, Spec

if TYPE_CHECKING:
    from astroshield.astro.formats.cdm.model import CdmObjectMetadata


@dataclass(frozen=True)
class Raw:
    """A keyword's value as read: its text, input line and the unit written with it."""

    text: str
    line: int | None
    unit: str | None


def _norm_unit(unit: str) -> str:
    return unit.replace(" ", "").replace("^", "**").lower()


def _check_unit(spec: Spec, raw: Raw) -> None:
    if raw.unit is None or _norm_unit(raw.unit) in ("", "n/a"):
        return
    if spec.unit is None:
        raise CdmError(
            f"unit [{raw.unit}] given but the standard defines this value as unitless",
            keyword=spec.keyword,
            line=raw.line,
        )
    if _norm_unit(raw.unit) != _norm_unit(spec.unit):
        raise CdmError(
            f"unit [{raw.unit}] contradicts the standard's [{spec.unit}]",
            keyword=spec.keyword,
            line=raw.line,
        )


def convert(spec: Spec, raw: Raw) -> Any:
    """The value of ``raw`` as ``spec`` says (text, epoch, int or float); units must agree."""
    key, line, text = spec.keyword, raw.line, raw.text
    _check_unit(spec, raw)
    if spec.kind == "str":
        return text
    if spec.kind == "epoch":
        try:
            return ccsds.parse_epoch(text, keyword=key, line=line)
        except ccsds.CcsdsError as exc:
            raise CdmError(f"bad epoch {text!r}", keyword=key, line=line) from exc
    if spec.kind == "int":
        if not re.fullmatch(r"[+]?\d+", text):
            raise CdmError(f"bad number {text!r} (non-negative integer)", keyword=key, line=line)
        return int(text)
    return ccsds.parse_float(text, keyword=key, line=line, error=CdmError)


def format_value(spec: Spec, value: Any) -> str:
    """``value`` as written in KVN and XML."""
    if spec.kind == "epoch":
        return ccsds.format_epoch(value, kind="CDM", error=CdmError)
    if spec.kind == "float":
        return ccsds.format_float(value, keyword=spec.keyword, error=CdmError)
    return ccsds.single_line(str(value), keyword=spec.keyword, error=CdmError)


def first_line(raws: dict[str, Raw]) -> int | None:
    """The first input line of a block (None if no keyword has a line)."""
    lines = [r.line for r in raws.values() if r.line is not None]
    return min(lines) if lines else None


def lines_of(raws: dict[str, Raw]) -> dict[str, int]:
    """Each keyword's input line, for the checks that run on a built block."""
    return {k: r.line for k, r in raws.items() if r.line is not None}


def missing_line(
    key: str, order: Sequence[str], raws: dict[str, Raw], fallback: int | None
) -> int | None:
    """The line to report a missing ``key`` on.

    That is where the keyword was expected: the line of the next keyword present after it in
    the standard's order, else ``fallback`` (the block's last line).
    """
    after = order[order.index(key) + 1 :]
    for other in after:
        if other in raws and raws[other].line is not None:
            return raws[other].line
    return fallback


def build(
    cls: type[Any],
    specs: Sequence[Spec],
    raws: dict[str, Raw],
    comments: Sequence[str],
    fallback_line: int | None,
    order: Sequence[str] | None = None,
) -> Any:
    """Instantiate a block's dataclass ``cls`` from its raw values; mandatory keywords must be
    there (``order`` and ``fallback_line`` locate a missing one, see :func:`missing_line`)."""
    kwargs: dict[str, Any] = {}
    for spec in specs:
        raw = raws.get(spec.keyword)
        if raw is None or raw.text == "":
            # An empty optional value is treated as absent (KVN cannot tell them apart).
            if spec.mandatory:
                line = (
                    raw.line
                    if raw is not None
                    else missing_line(
                        spec.keyword, order or [s.keyword for s in specs], raws, fallback_line
                    )
                )
                raise CdmError("missing mandatory keyword", keyword=spec.keyword, line=line)
            continue
        kwargs[spec.attr] = convert(spec, raw)
    return cls(**kwargs, comments=tuple(comments))


def check_text(block: str, specs: Sequence[Spec], obj: Any, where: dict[str, int]) -> None:
    """Mandatory values present, no empty value, enumerated values among those allowed."""
    for spec in specs:
        value = getattr(obj, spec.attr)
        if spec.mandatory and value is None:
            raise CdmError("missing mandatory keyword", keyword=spec.keyword)
        if value == "":
            raise CdmError("empty value", keyword=spec.keyword, line=where.get(spec.keyword))
        if value is not None and spec.keyword in ENUMS:
            allowed = ENUMS[spec.keyword]
            if value not in allowed:
                raise CdmError(
                    f"value {value!r} not allowed in the {block} block; expected one of "
                    + ", ".join(allowed),
                    keyword=spec.keyword,
                    line=where.get(spec.keyword),
                )


def check_numbers(specs: Sequence[Spec], obj: Any) -> None:
    """Every float of the block is finite."""
    for spec in specs:
        value = getattr(obj, spec.attr)
        if spec.kind == "float" and value is not None and not math.isfinite(value):
            raise CdmError(f"non-finite value {value!r}", keyword=spec.keyword)


def check_metadata(meta: CdmObjectMetadata, where: dict[str, int]) -> None:
    """REF_FRAME is one of :data:`~astroshield.astro.formats.cdm.keywords.REF_FRAMES`."""
    if meta.ref_frame not in REF_FRAMES:
        raise CdmError(
            f"unknown REF_FRAME {meta.ref_frame!r}; expected one of "
            + ", ".join(sorted(REF_FRAMES)),
            keyword="REF_FRAME",
            line=where.get("REF_FRAME"),
        )
