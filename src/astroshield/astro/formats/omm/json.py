"""CelesTrak GP JSON: a list of flat objects named by OMM keyword."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.omm.records import (
    OMMError,
    Scanned,
    elements_from_fields,
    fields_from_elements,
    first_error,
)

_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")


def parse_omm_json(text: str | bytes) -> list[ElementSet]:
    """Read CelesTrak GP JSON: a list of flat objects (a single object is accepted too)."""
    return first_error(scan_omm_json(text))


def _json_document(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise OMMError(f"JSON line {error.lineno}", None, error.msg, line=error.lineno) from None
    except RecursionError:
        raise OMMError("JSON", None, "is nested too deeply") from None
    except ValueError as error:  # e.g. an integer longer than Python converts
        raise OMMError("JSON", None, str(error)) from None


def _after_whitespace(text: str, position: int) -> int:
    match = _JSON_WHITESPACE.match(text, position)
    return match.end() if match else position


def _json_array_lines(text: str, count: int) -> list[int]:
    """The line each element of a (valid) top-level JSON array starts on."""
    decoder = json.JSONDecoder()
    position = _after_whitespace(text, 0) + 1  # past "["
    lines: list[int] = []
    line, counted = 1, 0
    for _ in range(count):
        position = _after_whitespace(text, position)
        line += text.count("\n", counted, position)
        counted = position
        lines.append(line)
        _, position = decoder.raw_decode(text, position)
        position = _after_whitespace(text, position) + 1  # past "," or "]"
    return lines


def scan_omm_json(text: str | bytes) -> Iterator[Scanned]:
    """(line, element set or error) for each object of CelesTrak GP JSON (``object N``)."""
    try:
        text = ccsds.decode_message(text)
    except UnicodeDecodeError as error:
        raise OMMError("JSON", None, f"byte {error.start} is not UTF-8") from None
    document = _json_document(text)
    if isinstance(document, list):
        records: list[object] = document
        lines = _json_array_lines(text, len(records))
    else:
        records, lines = [document], [1]
    for index, (record, line) in enumerate(zip(records, lines, strict=True), start=1):
        location = f"object {index}"
        if not isinstance(record, dict):
            yield line, OMMError(location, None, "is not a JSON object", line=line)
            continue
        bad = next(
            (
                key
                for key, value in record.items()
                if not isinstance(value, str | int | float) and value is not None
            ),
            None,
        )
        if bad is not None:
            yield line, OMMError(location, bad, f"{record[bad]!r:.60} is not a scalar", line=line)
            continue
        try:
            yield line, elements_from_fields(record, location, line=line)
        except OMMError as error:
            yield line, error


def format_omm_json(elements: Iterable[ElementSet], *, indent: int | None = None) -> str:
    """CelesTrak GP JSON: list of flat objects, numbers as JSON numbers."""
    return json.dumps([fields_from_elements(item) for item in elements], indent=indent)
