"""KVN OMMs: one or more messages, each starting with ``CCSDS_OMM_VERS``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.ccsds import KvnLine
from astroshield.astro.formats.omm.keywords import (
    FLOAT_FIELDS,
    INT_FIELDS,
    MEAN_ELEMENT_KEYS,
    OMM_VERSION,
    REQUIRED_METADATA,
    TLE_PARAMETER_KEYS,
    UNITS,
)
from astroshield.astro.formats.omm.records import (
    OMMError,
    Scanned,
    as_text,
    elements_from_fields,
    fields_from_elements,
    first_error,
    format_epoch,
)


def parse_omm_kvn(text: str) -> list[ElementSet]:
    """Read one or more KVN OMMs (each starts with ``CCSDS_OMM_VERS``); units are ignored."""
    return first_error(scan_omm_kvn(text))


class _KvnScanner:
    """The message being read: its keyword values and lines, where it starts, and the first
    error in it (``broken``), after which its lines are skipped."""

    def __init__(self, text: str) -> None:
        self.raw_lines = text.splitlines()
        self.fields: dict[str, str] = {}
        self.lines: dict[str, int] = {}
        self.start_line = 0
        self.broken: OMMError | None = None

    def finish(self) -> Iterator[Scanned]:
        """The current message's element set or error (nothing if it is empty)."""
        if self.broken is not None:
            yield self.broken.line, self.broken
        elif self.fields:
            try:
                yield (
                    self.start_line,
                    elements_from_fields(
                        self.fields,
                        f"message at line {self.start_line}",
                        line=self.start_line,
                        lines=self.lines,
                    ),
                )
            except OMMError as error:
                yield error.line, error

    def read(self, item: KvnLine) -> Iterator[Scanned]:
        """Take one keyword line; a ``CCSDS_OMM_VERS`` first finishes the previous message."""
        line_number, keyword = item.line, item.keyword
        if keyword == "CCSDS_OMM_VERS":
            yield from self.finish()
            self.fields, self.lines, self.start_line, self.broken = {}, {}, line_number, None
        if self.broken is not None:
            return
        problem = self._problem(item)
        if problem is not None:
            self.broken = OMMError(f"line {line_number}", problem[0], problem[1], line=line_number)
            if not self.start_line:
                # Lines before the first message belong to none: report them once.
                self.start_line = line_number
            return
        assert keyword is not None
        # Only numeric values carry units; names such as "ECHO 1 DEB [METAL OBJ]" keep brackets.
        numeric = keyword in FLOAT_FIELDS or keyword in INT_FIELDS
        self.fields[keyword] = item.value if numeric else item.full_value
        self.lines[keyword] = line_number

    def _problem(self, item: KvnLine) -> tuple[str | None, str] | None:
        keyword = item.keyword
        if keyword is None:
            raw = self.raw_lines[item.line - 1]
            return None, f"{raw[:80]!r} is not KEYWORD = value"
        if not self.start_line:
            return keyword, "appears before CCSDS_OMM_VERS"
        if keyword in self.fields:
            return keyword, "appears twice in one message"
        return None


def scan_omm_kvn(text: str) -> Iterator[Scanned]:
    """(line, element set or first error) for each KVN OMM; after an error, reading resumes
    at the next ``CCSDS_OMM_VERS``."""
    scanner = _KvnScanner(text)
    for item in ccsds.kvn_lines(text):
        if item.comment is None:
            yield from scanner.read(item)
    yield from scanner.finish()


def format_omm_kvn(
    elements: Iterable[ElementSet],
    *,
    originator: str = "ASTROSHIELD",
    creation_date: datetime | None = None,
) -> str:
    """One KVN OMM per element set, concatenated."""
    created = format_epoch(creation_date or datetime.now(UTC))
    blocks = []
    for element_set in elements:
        fields = fields_from_elements(element_set)
        lines = [
            f"CCSDS_OMM_VERS = {OMM_VERSION}",
            f"CREATION_DATE = {created}",
            f"ORIGINATOR = {originator}",
            "",
            f"OBJECT_NAME = {fields['OBJECT_NAME']}",
            f"OBJECT_ID = {fields['OBJECT_ID']}",
            *(f"{key} = {value}" for key, value in REQUIRED_METADATA.items()),
            "",
        ]
        for key in (*MEAN_ELEMENT_KEYS, *TLE_PARAMETER_KEYS):
            unit = f" [{UNITS[key]}]" if key in UNITS else ""
            lines.append(f"{key} = {as_text(fields[key])}{unit}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
