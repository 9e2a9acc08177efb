"""The CDM error (a located :class:`~astroshield.astro.formats.ccsds.CcsdsError`) and warning."""

from __future__ import annotations

from astroshield.astro.formats import ccsds


class CdmError(ccsds.CcsdsError):
    """An invalid CDM; ``keyword`` and ``line`` (1-based, None if unknown) locate the problem."""


class CdmWarning(UserWarning):
    """A CDM that parses but carries a data-quality problem (e.g. a non-PD covariance)."""

    def __init__(self, message: str, *, keyword: str | None = None, line: int | None = None):
        self.keyword = keyword
        self.line = line
        super().__init__(message)
