"""Element sets from files and request bodies, through the astro library's TLE/OMM readers.

Files are read leniently (an analyst importing a large download wants the good sets and a
list of the bad ones); uploads strictly (one bad set refuses the whole body, naming where).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from astroshield.astro.elements import ElementSet
from astroshield.astro.omm import (
    OMMError,
    parse_omm_csv,
    parse_omm_json,
    parse_omm_kvn,
    parse_omm_xml,
)
from astroshield.astro.tle import TLEError, iter_tles
from astroshield.errors import FieldError, InvalidInputError, UnsupportedMediaTypeError

KVN_MARKER = "CCSDS_OMM_VERS"
# Media types the upload endpoint reads, besides JSON (which every endpoint accepts).
UPLOAD_MEDIA_TYPES = frozenset({"text/plain", "application/xml", "text/xml", "text/csv"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """An element set (or a whole file) that was not imported: where it is and why."""

    where: str
    reason: str


@dataclass(slots=True)
class ParsedFile:
    sets: list[ElementSet] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def _omm_rejection(label: str, error: OMMError, location: str | None = None) -> Rejection:
    where = location or error.location
    keyword = f", {error.keyword}" if error.keyword else ""
    return Rejection(f"{label} {where}{keyword}", error.reason)


def _read_tles(label: str, lines: Sequence[str]) -> ParsedFile:
    """Every readable TLE; after a bad set, reading resumes at the next line."""
    parsed = ParsedFile()
    offset = 0
    while offset < len(lines):
        try:
            parsed.sets.extend(tle.elements for tle in iter_tles(lines[offset:]))
            break
        except TLEError as error:
            bad_line = offset + (error.file_line or 1)
            within_set = TLEError(error.reason, line=error.line, columns=error.columns)
            parsed.rejected.append(Rejection(f"{label} line {bad_line}", str(within_set)))
            offset = bad_line
            # Line 2 of a set rejected at its line 1 belongs to that rejected set.
            while offset < len(lines) and (
                not lines[offset].strip() or lines[offset].startswith("2 ")
            ):
                offset += 1
    return parsed


def _read_csv(label: str, lines: Sequence[str]) -> ParsedFile:
    try:
        return ParsedFile(sets=parse_omm_csv(lines))
    except OMMError as error:
        if not lines or error.location == "header":
            return ParsedFile(rejected=[_omm_rejection(label, error)])
    # Row by row, only when the file has a bad row: the fast path above stays one call.
    parsed = ParsedFile()
    header = lines[0]
    for row_number, row in enumerate(lines[1:], start=1):
        if not row.strip():
            continue
        try:
            parsed.sets.extend(parse_omm_csv([header, row]))
        except OMMError as error:
            parsed.rejected.append(_omm_rejection(label, error, f"row {row_number}"))
    return parsed


def _read_json(label: str, text: str) -> ParsedFile:
    try:
        return ParsedFile(sets=parse_omm_json(text))
    except OMMError as error:
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return ParsedFile(rejected=[_omm_rejection(label, error)])
    parsed = ParsedFile()
    records = document if isinstance(document, list) else [document]
    for index, record in enumerate(records, start=1):
        try:
            parsed.sets.extend(parse_omm_json(json.dumps(record)))
        except OMMError as error:
            parsed.rejected.append(_omm_rejection(label, error, f"object {index}"))
    return parsed


def _read_whole(label: str, text: str, kind: str) -> ParsedFile:
    """KVN and XML: a message is read as a whole, so a bad one rejects the file."""
    try:
        sets = parse_omm_xml(text) if kind == "xml" else parse_omm_kvn(text)
    except OMMError as error:
        return ParsedFile(rejected=[_omm_rejection(label, error)])
    return ParsedFile(sets=sets)


def read_element_set_file(path: Path) -> ParsedFile:
    """OMM CSV/JSON/XML by suffix, OMM KVN when the text holds ``CCSDS_OMM_VERS``, else
    TLE (two- and three-line sets, mixed)."""
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return ParsedFile(rejected=[Rejection(label, f"cannot be read: {error}")])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(label, text.splitlines())
    if suffix == ".json":
        return _read_json(label, text)
    if suffix == ".xml":
        return _read_whole(label, text, "xml")
    if KVN_MARKER in text:
        return _read_whole(label, text, "kvn")
    return _read_tles(label, text.splitlines())


# -------------------------------------------------------------------------- uploads


def _tle_problem(error: TLEError) -> InvalidInputError:
    where = f"line {error.file_line}" if error.file_line is not None else "body"
    return InvalidInputError(
        f"TLE {where}: {error.reason}" if error.file_line else str(error),
        errors=[FieldError(["body", where], str(error))],
    )


def _omm_problem(error: OMMError) -> InvalidInputError:
    loc = ["body", error.location, *([error.keyword] if error.keyword else [])]
    return InvalidInputError(f"OMM {error}", errors=[FieldError(loc, error.reason)])


def parse_upload(body: bytes, media_type: str) -> list[ElementSet]:
    """All element sets of a request body, or a 4xx naming the first bad line or field.

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
    try:
        if media_type == "application/json":
            sets = parse_omm_json(text)
        elif media_type in ("application/xml", "text/xml"):
            sets = parse_omm_xml(text)
        elif media_type == "text/csv":
            sets = parse_omm_csv(text)
        elif media_type == "text/plain":
            sets = (
                parse_omm_kvn(text)
                if KVN_MARKER in text
                else [tle.elements for tle in iter_tles(text)]
            )
        else:
            raise UnsupportedMediaTypeError(
                f"element sets are read from text/plain (TLE or KVN OMM), application/json, "
                f"application/xml or text/csv, not {media_type or 'unlabelled'}"
            )
    except TLEError as error:
        raise _tle_problem(error) from None
    except OMMError as error:
        raise _omm_problem(error) from None
    if not sets:
        raise InvalidInputError(
            "the body holds no element set",
            errors=[FieldError(["body"], "no element set found")],
        )
    return sets
