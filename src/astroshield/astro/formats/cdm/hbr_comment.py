"""The combined hard-body radius that CARA-distributed CDMs carry in a comment.

CDM 1.0 (508.0-B-1) has no keyword for the hard-body radius, so NASA CARA writes the combined
HBR it used for COLLISION_PROBABILITY as a comment of the relative metadata/data section, just
before ``OBJECT = OBJECT1``. The forms found in CARA's published CDMs
(github.com/nasa/CARA_Analysis_Tools: ``DataFiles/PcTestCaseCDMs/*.cdm`` and the unit-test
CDMs of ``two-dimension_Pc``, ``ThreeDimensionalPc``, ``ODQualityAssessment``)::

    COMMENT HBR = 15 [m]
    COMMENT HBR                        = 20.0

i.e. ``HBR``, ``=``, a number, an optional ``[m]`` unit, any spacing. A KVN reader keeps a
comment with the block of the keyword that follows it, so this one arrives with OBJECT1's
metadata; in XML it is a ``<COMMENT>`` of the relative metadata. Only those places (and the
header) are searched: a comment inside an object's own section is not the combined radius.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from astroshield.astro.formats.cdm.model import Cdm

__all__ = ["CommentedHbr", "commented_hbr"]

_HBR_COMMENT = re.compile(
    r"^\s*HBR\s*=\s*(?P<value>[^\s\[]+)\s*(?:\[\s*(?P<unit>[^\]]*?)\s*\])?\s*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class CommentedHbr:
    """What the comments say: the combined HBR in metres, or why a HBR comment was unusable."""

    value_m: float | None
    problem: str | None = None


def _reading(text: str) -> CommentedHbr | None:
    match = _HBR_COMMENT.match(text)
    if match is None:
        return None
    raw, unit = match["value"], match["unit"]
    if unit is not None and unit.lower() != "m":
        return CommentedHbr(None, f"COMMENT {text.strip()!r}: unit [{unit}] is not [m]; ignored")
    try:
        value = float(raw)
    except ValueError:
        return CommentedHbr(None, f"COMMENT {text.strip()!r}: {raw!r} is not a number; ignored")
    if not math.isfinite(value) or value <= 0.0:
        return CommentedHbr(None, f"COMMENT {text.strip()!r}: not a positive radius; ignored")
    return CommentedHbr(value)


def commented_hbr(cdm: Cdm) -> CommentedHbr:
    """The first usable ``COMMENT HBR = … [m]`` of the header or relative section.

    ``value_m`` is None when there is none; ``problem`` then says why a HBR comment that was
    present could not be used (not a number, another unit), so the caller can report it.
    """
    comments = (
        *cdm.header.comments,
        *cdm.relative.comments,
        *cdm.object1.metadata.comments,
    )
    problem: str | None = None
    for text in comments:
        reading = _reading(text)
        if reading is None:
            continue
        if reading.value_m is not None:
            return reading
        problem = problem or reading.problem
    return CommentedHbr(None, problem)
