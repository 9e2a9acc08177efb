"""The OEM error: a located :class:`~astroshield.astro.formats.ccsds.CcsdsError`."""

from __future__ import annotations

from astroshield.astro.formats import ccsds


class OemError(ccsds.CcsdsError):
    """An invalid OEM; ``keyword`` and ``line`` (1-based, None if unknown) locate the problem."""
