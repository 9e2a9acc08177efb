"""CelesTrak's OMM CSV: a header row of OMM keywords, one element set per row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm.keywords import CELESTRAK_COLUMNS
from astroshield.astro.formats.omm.records import (
    OMMError,
    Scanned,
    as_text,
    elements_from_fields,
    fields_from_elements,
    first_error,
)


def parse_omm_csv(source: str | Iterable[str]) -> list[ElementSet]:
    """Read CelesTrak's OMM CSV (header row of OMM keywords; CRLF or LF; column order free)."""
    return first_error(scan_omm_csv(source))


def scan_omm_csv(source: str | Iterable[str]) -> Iterator[Scanned]:
    """(line, element set or error) for each row of an OMM CSV (errors name ``row N``)."""
    lines = io.StringIO(source, newline="") if isinstance(source, str) else source
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise OMMError("header", None, f"not CSV: {error}", line=1) from None
    if not header:
        return
    missing = [name for name in ("NORAD_CAT_ID", "EPOCH") if name not in header]
    if missing:
        raise OMMError("header", missing[0], "column is missing", line=1)
    row_number = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as error:
            # The reader cannot resynchronise after a broken quote or an oversized field.
            raise OMMError(f"row {row_number + 1}", None, f"not CSV: {error}", line=start) from None
        if row is None:
            return
        if not row:
            continue
        row_number += 1
        if len(row) != len(header):
            yield (
                start,
                OMMError(
                    f"row {row_number}",
                    None,
                    f"has {len(row)} fields, header has {len(header)}",
                    line=start,
                ),
            )
            continue
        try:
            yield (
                start,
                elements_from_fields(
                    dict(zip(header, row, strict=True)), f"row {row_number}", line=start
                ),
            )
        except OMMError as error:
            yield start, error


def format_omm_csv(elements: Iterable[ElementSet]) -> str:
    """CelesTrak-style CSV with CRLF line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CELESTRAK_COLUMNS)
    for element_set in elements:
        fields = fields_from_elements(element_set)
        writer.writerow([as_text(fields[name]) for name in CELESTRAK_COLUMNS])
    return buffer.getvalue()
