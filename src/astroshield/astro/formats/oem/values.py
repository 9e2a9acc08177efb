"""OEM epochs and numbers, read and written with the shared CCSDS rules."""

from __future__ import annotations

from datetime import datetime

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.oem.errors import OemError


def parse_epoch(text: str, *, keyword: str = "EPOCH", line: int | None = None) -> datetime:
    """Parse a CCSDS ASCII time code A (calendar) or B (day-of-year) into a naive datetime."""
    return ccsds.parse_epoch(text, keyword=keyword, line=line, error=OemError)


def format_epoch(value: datetime) -> str:
    """CCSDS calendar format with microseconds, e.g. ``2024-01-01T00:00:00.000000``."""
    return ccsds.format_epoch(value, kind="OEM", error=OemError)


def format_float(x: float) -> str:
    """Shortest round-trip form of ``x``."""
    return ccsds.format_float(x, error=OemError)


def parse_float(text: str, *, keyword: str, line: int | None) -> float:
    """A finite float, or an :class:`OemError` locating ``text``."""
    return ccsds.parse_float(text, keyword=keyword, line=line, error=OemError)
