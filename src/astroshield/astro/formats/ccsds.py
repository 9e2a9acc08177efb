"""Pieces shared by the CCSDS Navigation Data Message modules
(:mod:`~astroshield.astro.formats.oem`,
:mod:`~astroshield.astro.formats.cdm`, :mod:`~astroshield.astro.formats.omm`).

* :class:`CcsdsError`, the located error the message modules' errors derive from;
* a safe XML reader (:func:`parse_xml_tree` giving :class:`XmlNode` trees) and the writer's
  document framing (:func:`xml_document`);
* a KVN tokenizer (:func:`kvn_lines` giving :class:`KvnLine`) and the writer's comment/value
  checks;
* CCSDS epochs (:func:`parse_epoch`, :func:`format_epoch`) and numbers (:func:`parse_float`,
  :func:`format_float`).

Functions that can fail take ``error``, the :class:`CcsdsError` subclass to raise, so each
message module keeps raising its own error type.

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks; ``defusedxml`` is not needed.
"""

from __future__ import annotations

import calendar
import math
import re
import xml.etree.ElementTree as ET  # used only to *build* XML for output
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.parsers import expat

__all__ = [
    "CcsdsError",
    "KvnLine",
    "XmlNode",
    "decode_message",
    "format_epoch",
    "format_float",
    "is_xml",
    "kvn_comment_lines",
    "kvn_lines",
    "parse_epoch",
    "parse_float",
    "parse_xml_tree",
    "single_line",
    "xml_document",
]


class CcsdsError(ValueError):
    """An invalid message; ``keyword`` and ``line`` (1-based, None if unknown) locate the problem.

    The message reads ``"line 12, KEYWORD: reason"``; ``reason`` is the bare explanation.
    """

    def __init__(self, message: str, *, keyword: str | None = None, line: int | None = None):
        self.reason = message
        self.keyword = keyword
        self.line = line
        where = ", ".join(part for part in (self._location(), keyword) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def _location(self) -> str | None:
        """Where the problem is, before the keyword in the message (subclasses may override)."""
        return None if self.line is None else f"line {self.line}"


# --------------------------------------------------------------------------------- epochs

_EPOCH_RE = re.compile(
    r"^(\d{4})-(?:(\d{2})-(\d{2})|(\d{3}))T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$"
)


def parse_epoch(
    text: str,
    *,
    keyword: str = "EPOCH",
    line: int | None = None,
    error: type[CcsdsError] = CcsdsError,
) -> datetime:
    """Parse a CCSDS ASCII time code A (calendar) or B (day-of-year) into a naive datetime.

    A trailing ``Z`` is accepted; fractions finer than the microsecond are rounded half up;
    leap-second labels (``23:59:60``) and anything else (time-zone offsets, a space for ``T``,
    a date alone) are refused.
    """
    match = _EPOCH_RE.match(text.strip())
    if match is None:
        raise error(f"bad epoch {text!r}", keyword=keyword, line=line)
    year, month, day, doy, hh, mm, ss, frac = match.groups()
    if int(ss) >= 60:
        raise error(f"leap-second epoch {text!r} is not supported", keyword=keyword, line=line)
    try:
        if doy is not None:
            base = datetime.fromisoformat(f"{year}-01-01T{hh}:{mm}:{ss}")
            if not 1 <= int(doy) <= (366 if calendar.isleap(int(year)) else 365):
                raise ValueError("day of year out of range")
            base += timedelta(days=int(doy) - 1)
        else:
            base = datetime.fromisoformat(f"{year}-{month}-{day}T{hh}:{mm}:{ss}")
    except ValueError as exc:
        raise error(f"bad epoch {text!r} ({exc})", keyword=keyword, line=line) from None
    if frac:
        if len(frac) <= 6:
            micro = int(frac.ljust(6, "0"))
        else:
            # integer arithmetic: round half up to the microsecond without float error
            unit = 10 ** (len(frac) - 6)
            micro, rest = divmod(int(frac), unit)
            micro += 2 * rest >= unit
        base += timedelta(microseconds=micro)
    return base


def format_epoch(value: datetime, *, kind: str, error: type[CcsdsError] = CcsdsError) -> str:
    """CCSDS calendar format with microseconds, e.g. ``2024-01-01T00:00:00.000000``."""
    if value.tzinfo is not None:
        raise error(f"{kind} epochs are naive labels in TIME_SYSTEM; got a tz-aware datetime")
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


# -------------------------------------------------------------------------------- numbers


def parse_float(
    text: str, *, keyword: str, line: int | None, error: type[CcsdsError] = CcsdsError
) -> float:
    """A finite float; ``bad number`` / ``non-finite number`` errors otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise error(f"bad number {text!r}", keyword=keyword, line=line) from None
    if not math.isfinite(value):
        raise error(f"non-finite number {text!r}", keyword=keyword, line=line)
    return value


def format_float(
    x: float, *, keyword: str | None = None, error: type[CcsdsError] = CcsdsError
) -> str:
    """Python's shortest round-trip form, so a value survives write -> read exactly."""
    if not math.isfinite(x):
        raise error(f"non-finite value {x!r} cannot be written", keyword=keyword)
    return repr(float(x))


# ------------------------------------------------------------------------------------ KVN

_KV_RE = re.compile(r"^([A-Z0-9_]+)\s*=\s*(.*?)\s*$")
_UNIT_RE = re.compile(r"^(.*?)\s*\[([^\[\]]*)\]$")


@dataclass(frozen=True, slots=True)
class KvnLine:
    """One non-blank KVN line.

    ``comment`` is the text of a ``COMMENT`` line (else None). ``keyword`` is None for comments
    and for lines that are not ``KEYWORD = value`` (data lines, ``META_START`` ...).
    ``full_value`` is everything after ``=``; ``value`` and ``unit`` split off a trailing
    ``[unit]``.
    """

    line: int
    text: str
    comment: str | None = None
    keyword: str | None = None
    full_value: str = ""
    value: str = ""
    unit: str | None = None


def _comment_text(text: str) -> str | None:
    if text == "COMMENT":
        return ""
    if text.startswith("COMMENT ") or text.startswith("COMMENT\t"):
        return text[8:].strip()
    return None


def kvn_lines(text: str) -> list[KvnLine]:
    """The non-blank lines of ``text``, stripped and numbered from 1, split into their parts."""
    out: list[KvnLine] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        comment = _comment_text(stripped)
        match = None if comment is not None else _KV_RE.match(stripped)
        if match is None:
            out.append(KvnLine(n, stripped, comment))
            continue
        full = match.group(2)
        unit_match = _UNIT_RE.match(full)
        value, unit = unit_match.groups() if unit_match else (full, None)
        out.append(KvnLine(n, stripped, None, match.group(1), full, value, unit))
    return out


def kvn_comment_lines(
    comments: Iterable[str], *, error: type[CcsdsError] = CcsdsError
) -> list[str]:
    """``COMMENT`` lines for output; a comment must be a single line."""
    out = []
    for c in comments:
        if "\n" in c or "\r" in c:
            raise error("comments must be single lines", keyword="COMMENT")
        out.append(f"COMMENT {c}".rstrip())
    return out


def single_line(value: str, *, keyword: str, error: type[CcsdsError] = CcsdsError) -> str:
    """``value`` unchanged, or an error if it spans lines (KVN cannot carry it)."""
    if "\n" in value or "\r" in value:
        raise error("value must be a single line", keyword=keyword)
    return value


# ------------------------------------------------------------------------------------ XML


@dataclass
class XmlNode:
    """An element: local tag name (prefix dropped), start line, attributes, children, text."""

    tag: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[XmlNode] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def child(self, tag: str, *, error: type[CcsdsError] = CcsdsError) -> XmlNode:
        """The first child called ``tag``; an error naming ``tag`` if there is none."""
        for node in self.children:
            if node.tag == tag:
                return node
        raise error(f"<{self.tag}> has no <{tag}>", keyword=tag, line=self.line)

    def iter(self) -> Iterator[XmlNode]:
        """This element and all below it, in document order (no recursion: depth is free)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


_TRUNCATION_ERRORS = frozenset(
    {
        expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
        expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
        expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR],
        expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION],
    }
)


def parse_xml_tree(
    text: str | bytes,
    *,
    kind: str,
    error: type[CcsdsError] = CcsdsError,
    name_open_element: bool = True,
) -> XmlNode:
    """Parse ``text`` into an :class:`XmlNode` tree, refusing any DOCTYPE.

    Refusing any DOCTYPE means no internal or external entity can ever be declared, so nothing
    can expand ("billion laughs") or be fetched (XXE). The refusal names ``DOCTYPE`` and
    ``kind`` (``"OEM"`` ...). A syntax error is ``malformed XML`` at its line; with
    ``name_open_element`` its keyword is the element left open and input that ends inside an
    element is reported as a ``truncated message``.
    """

    def refuse_dtd(*_args: object) -> None:
        raise error(
            f"DTDs and entity declarations are not allowed in {kind} XML", keyword="DOCTYPE"
        )

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.UnparsedEntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd  # type: ignore[assignment]
    stack: list[XmlNode] = []
    root: list[XmlNode] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        node = XmlNode(tag=name.rsplit(":", 1)[-1], line=parser.CurrentLineNumber, attrs=attrs)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def data(chunk: str) -> None:
        if stack:
            stack[-1].parts.append(chunk)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code)
        if not name_open_element:
            raise error(f"malformed XML: {reason}", line=exc.lineno) from None
        # An element still open at end of input means the document was cut short.
        what = "truncated message" if exc.code in _TRUNCATION_ERRORS else "malformed XML"
        open_tag = stack[-1].tag if stack else None
        raise error(f"{what}: {reason}", keyword=open_tag, line=exc.lineno) from None
    return root[0]


def xml_document(root: ET.Element) -> str:
    """``root`` indented by two spaces behind an XML declaration (no final newline)."""
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------------- input


def decode_message(text: str | bytes) -> str:
    """``text`` as a string: bytes decoded as UTF-8, a byte-order mark dropped."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")  # also drops a byte-order mark
    return text.lstrip("\ufeff")


def is_xml(text: str) -> bool:
    """Whether ``text`` is XML rather than KVN, from its first non-blank character."""
    return text.lstrip()[:1] == "<"
