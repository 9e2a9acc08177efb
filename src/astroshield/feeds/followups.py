"""The post-import follow-ups a refresh runs (the CLI's and the schedule's): each gets a
session of its own transaction, the settings and the catalog numbers that got new element
sets. The merger wires manoeuvre detection here:
``astroshield.ccdm.detections.after_catalog_import``."""

from __future__ import annotations

from collections.abc import Sequence

from astroshield.config import Settings
from astroshield.feeds.service import Followup


def default_followups(settings: Settings) -> Sequence[Followup]:
    del settings  # a follow-up may be configured by settings later
    return ()
