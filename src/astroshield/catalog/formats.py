"""Element sets from request bodies, through the astro library's TLE/OMM readers.

An upload is read like a file on the command line: an element set that cannot be read is
skipped and reported (its line, the field, why), the others are imported. An operator
uploading an archive file wants its good sets stored and to be told exactly which ones were
not, rather than nothing stored because of one bad set among thousands. A body in which no
set can be read is refused (422 naming the first bad line and field), and so is any bad set
with ``strict``. A body that is not a document at all (not UTF-8, broken JSON/XML syntax, a
CSV header without the required columns) is refused whole: there are no sets to skip to.
Files (the command line) are read by :mod:`astroshield.astro.formats.element_files`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from astroshield.api.media_types import unsupported_media_type
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import (
    KVN_MARKER,
    OMMError,
    scan_omm_csv,
    scan_omm_json,
    scan_omm_kvn,
    scan_omm_xml,
)
from astroshield.astro.formats.tle import TLE, TLEError, scan_tles
from astroshield.errors import FieldError, InvalidInputError

# Media types the upload endpoint reads: TLE or KVN OMM text, OMM JSON, XML and CSV.
UPLOAD_MEDIA_TYPES = frozenset(
    {"text/plain", "application/json", "application/xml", "text/xml", "text/csv"}
)
# Problems listed in full in a 422 or an import report; the rest are only counted.
PROBLEMS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Rejection:
    """An element set that was not imported: where it is and why."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class UploadProblem:
    """An element set of a body that was skipped: its 1-based line in the body (None where
    the format gives none), where the reader places it (``line 6``, ``object 2``, ``row 3``),
    the field and why."""

    line: int | None
    where: str
    field: str | None
    reason: str

    def field_error(self) -> FieldError:
        return FieldError(["body", self.where, *([self.field] if self.field else [])], self.reason)


@dataclass(slots=True)
class ParsedUpload:
    """The readable sets of a body, the line each starts on, and the sets skipped."""

    sets: list[ElementSet] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    skipped: list[UploadProblem] = field(default_factory=list)


# -------------------------------------------------------------------------- uploads


def _problem(error: ValueError, line: int | None) -> UploadProblem:
    if isinstance(error, TLEError):
        where = f"line {error.file_line}" if error.file_line is not None else "body"
        return UploadProblem(error.file_line, where, error.field, str(error.within_set()))
    if isinstance(error, OMMError):
        return UploadProblem(error.line or line, error.location, error.keyword, error.reason)
    return UploadProblem(line, "body" if line is None else f"line {line}", None, str(error))


def refuse(problems: list[UploadProblem], summary: str) -> InvalidInputError:
    """A 422 naming the first problems' lines and fields."""
    first = problems[0]
    detail = f"{first.where}: {first.field + ': ' if first.field else ''}{first.reason}"
    return InvalidInputError(
        f"{summary}; {detail}" if summary else detail,
        errors=[problem.field_error() for problem in problems[:PROBLEMS_SHOWN]],
    )


def _document_problem(error: OMMError) -> InvalidInputError:
    return refuse([_problem(error, None)], "")


def _scan(text: str, media_type: str) -> Iterator[tuple[int | None, ElementSet | TLE | ValueError]]:
    if media_type == "application/json":
        return scan_omm_json(text)
    if media_type in ("application/xml", "text/xml"):
        return scan_omm_xml(text)
    if media_type == "text/csv":
        return scan_omm_csv(text)
    if media_type == "text/plain":
        return scan_omm_kvn(text) if KVN_MARKER in text else scan_tles(text)
    raise unsupported_media_type(media_type, UPLOAD_MEDIA_TYPES)


def parse_upload(body: bytes, media_type: str, *, strict: bool = False) -> ParsedUpload:
    """The element sets of a request body; each unreadable one is skipped (``strict``: a 422
    naming it), and a body with none readable is a 422 naming the first bad line or field.

    ``text/plain``: TLEs, or KVN OMM when the text holds ``CCSDS_OMM_VERS``;
    ``application/json``: CelesTrak GP JSON; ``application/xml``: CCSDS NDM/XML OMM;
    ``text/csv``: CelesTrak OMM CSV.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            "the body is not UTF-8 text",
            errors=[FieldError(["body"], f"byte {error.start} is not UTF-8")],
        ) from None
    parsed = ParsedUpload()
    try:
        for line, item in _scan(text, media_type):
            if isinstance(item, ValueError):
                problem = _problem(item, line)
                if strict:
                    raise refuse([problem], "")
                parsed.skipped.append(problem)
                continue
            parsed.sets.append(item.elements if isinstance(item, TLE) else item)
            parsed.lines.append(line)
    except OMMError as error:  # the document itself: JSON/XML syntax, the CSV header
        raise _document_problem(error) from None
    if parsed.skipped and not parsed.sets:
        raise refuse(parsed.skipped, f"none of the {len(parsed.skipped)} element sets is readable")
    if not parsed.sets:
        raise InvalidInputError(
            "the body holds no element set",
            errors=[FieldError(["body"], "no element set found")],
        )
    return parsed
