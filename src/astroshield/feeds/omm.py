"""Element sets of a provider's answer: rows that cannot be read are skipped and counted,
with the reasons of the first few (a feed keeps going on a bad row, as an upload does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import OMMError, scan_omm_csv, scan_omm_json

REASONS_KEPT = 5


@dataclass(slots=True)
class ReadSets:
    sets: list[ElementSet] = field(default_factory=list)
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.reasons) < REASONS_KEPT:
            self.reasons.append(reason)

    def extend(self, other: ReadSets) -> None:
        self.sets.extend(other.sets)
        for reason in other.reasons:
            if len(self.reasons) < REASONS_KEPT:
                self.reasons.append(reason)
        self.skipped += other.skipped


def read_sets(text: str, fmt: Literal["json", "csv"], where: str) -> ReadSets:
    """The readable OMM element sets of ``text`` (CelesTrak/Space-Track GP JSON or CSV)."""
    read = ReadSets()
    if not text.strip():
        return read
    try:
        scanned = list(scan_omm_json(text) if fmt == "json" else scan_omm_csv(text))
    except OMMError as error:  # the document itself
        read.skip(f"{where}: {error}")
        return read
    for _, item in scanned:
        if isinstance(item, ElementSet):
            read.sets.append(item)
        else:
            read.skip(f"{where}: {item}")
    return read
