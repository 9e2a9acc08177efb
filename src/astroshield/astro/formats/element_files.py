"""Element-set files (TLE, OMM CSV/JSON/XML/KVN) as every command reads them.

One reader, so that every command agrees on the format of a file, its encoding and how a
problem is located: an :class:`InputProblem` names the file, the 1-based line, the field and
what is wrong. A file that cannot be used at all (missing, a directory, binary, not UTF-8,
broken JSON or XML syntax, no element set in it) raises :class:`ElementFileError`. An element
set that cannot be read is skipped and listed in :attr:`ElementSetFile.skipped`, or, with
``strict=True``, refuses the file; a file whose every set is unreadable is refused either way.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from astroshield.astro.dynamics.elements import ElementSet, ElementSetError
from astroshield.astro.formats.ccsds import CcsdsError
from astroshield.astro.formats.omm import (
    KVN_MARKER,
    OMMError,
    scan_omm_csv,
    scan_omm_json,
    scan_omm_kvn,
    scan_omm_xml,
)
from astroshield.astro.formats.tle import TLE, TLEError, scan_tles

__all__ = [
    "ElementFileError",
    "ElementSetFile",
    "InputProblem",
    "problem_of",
    "read_element_set_file",
    "read_text_file",
]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Where an input is wrong and why; ``str()`` reads ``FILE:LINE: FIELD: reason``."""

    source: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        reason = " ".join(self.reason.split())  # always one line
        return f"{where}: {self.field}: {reason}" if self.field else f"{where}: {reason}"


class ElementFileError(ValueError):
    """A file that cannot be used; ``problem`` is the (first) reason, ``others`` how many
    more unreadable sets the file has."""

    def __init__(self, problem: InputProblem, *, others: int = 0) -> None:
        self.problem = problem
        self.others = others
        more = f" (and {others} more unreadable element sets)" if others else ""
        super().__init__(f"{problem}{more}")


@dataclass(slots=True)
class ElementSetFile:
    """The readable sets of a file, the line each starts on, and the sets skipped."""

    source: str
    sets: list[ElementSet] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    skipped: list[InputProblem] = field(default_factory=list)


def _strip_field_name(reason: str, name: str) -> str:
    # TLE messages start with the field's name ("inclination ' 51.6X16' is not a number").
    return reason[len(name) + 1 :] if reason.startswith(name + " ") else reason


def problem_of(error: Exception, source: str) -> InputProblem:
    """The :class:`InputProblem` of a reader's error (TLE, OMM, CDM, element range, other)."""
    if isinstance(error, ElementFileError):
        return error.problem
    if isinstance(error, TLEError):
        line_name = {0: "name line", 1: "TLE line 1", 2: "TLE line 2"}.get(error.line or -1)
        columns = ""
        if error.columns is not None:
            first, last = error.columns
            columns = f"column {first}" if first == last else f"columns {first}-{last}"
        if error.field is None:  # the line as a whole (length, order): the line is the field
            reason = error.reason + (f" ({columns})" if columns else "")
            return InputProblem(source, error.file_line, line_name, reason)
        located = ", ".join(part for part in (line_name, columns) if part)
        reason = _strip_field_name(error.reason, error.field) + (f" ({located})" if located else "")
        return InputProblem(source, error.file_line, error.field, reason)
    if isinstance(error, CcsdsError):  # OMMError, CdmError, OEM errors
        return InputProblem(source, error.line, error.keyword, error.reason)
    if isinstance(error, ElementSetError):
        return InputProblem(source, None, error.field, error.reason)
    if isinstance(error, UnicodeDecodeError):
        return InputProblem(source, None, None, f"byte {error.start} is not UTF-8 text")
    return InputProblem(source, None, None, str(error) or type(error).__name__)


def read_text_file(path: Path, source: str | None = None) -> str:
    """The text of a UTF-8 file (a byte-order mark dropped), or :class:`ElementFileError`
    saying in one line why not: missing, not a regular file, unreadable, binary, UTF-16."""
    label = source or str(path)

    def refuse(reason: str, line: int | None = None) -> ElementFileError:
        return ElementFileError(InputProblem(label, line, None, reason))

    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise refuse("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file")  # a FIFO or device would block or never end
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse("no such file") from None
    except PermissionError:
        raise refuse("permission denied") from None
    except OSError as error:
        raise refuse(f"cannot be read: {error.strerror or error}") from None
    if data.startswith(_UTF16_BOMS):
        raise refuse("is UTF-16 text; save it as UTF-8 (or ASCII)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise refuse("holds NUL bytes: binary (or UTF-16/32) data, not text", _line_of(data, nul))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = _line_of(data, error.start)
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise refuse(
            f"byte 0x{data[error.start]:02x} in column {column} is not UTF-8 text", line
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _looks_like_csv(text: str) -> bool:
    header = text.lstrip().partition("\n")[0]
    return "," in header and "NORAD_CAT_ID" in header


def _scan(path: Path, text: str) -> Iterator[tuple[int | None, ElementSet | TLE | ValueError]]:
    """The format from the suffix (.csv, .json, .xml), else from the content."""
    suffix = path.suffix.lower()
    first = text.lstrip()[:1]
    if suffix == ".csv" or (suffix not in (".json", ".xml") and _looks_like_csv(text)):
        return scan_omm_csv(text.splitlines())
    if suffix == ".json" or (suffix != ".xml" and first in ("[", "{")):
        return scan_omm_json(text)
    if suffix == ".xml" or first == "<":
        return scan_omm_xml(text)
    if KVN_MARKER in text:
        return scan_omm_kvn(text)
    return scan_tles(text.splitlines())


def read_element_set_file(
    path: Path, *, strict: bool = False, source: str | None = None
) -> ElementSetFile:
    """Every readable element set of the file at ``path`` (``source`` labels problems,
    default the path as given).

    OMM CSV, JSON and XML by suffix (else recognised by content: a CSV header naming
    ``NORAD_CAT_ID``, ``[``/``{``, ``<``), KVN OMM when the text holds ``CCSDS_OMM_VERS``,
    else two- and three-line TLEs. Raises :class:`ElementFileError` when the file cannot be
    read, holds no element set, holds only unreadable ones, or (``strict``) holds one.
    """
    label = source or str(path)
    result = ElementSetFile(label)
    for line, item in _items(_scan(path, read_text_file(path, label)), label):
        if isinstance(item, InputProblem):
            if strict:
                raise ElementFileError(item)
            result.skipped.append(item)
        else:
            result.sets.append(item)
            result.lines.append(line)
    if not result.sets:
        if result.skipped:
            raise ElementFileError(result.skipped[0], others=len(result.skipped) - 1)
        raise ElementFileError(InputProblem(label, None, None, "holds no element set"))
    return result


def _items(
    scanned: Iterable[tuple[int | None, ElementSet | TLE | ValueError]], label: str
) -> Iterator[tuple[int | None, ElementSet | InputProblem]]:
    try:
        for line, item in scanned:
            if isinstance(item, TLE):
                yield line, item.elements
            elif isinstance(item, ElementSet):
                yield line, item
            else:
                yield line, problem_of(item, label)
    except OMMError as error:  # the document itself (JSON/XML syntax, CSV header)
        raise ElementFileError(problem_of(error, label)) from None
