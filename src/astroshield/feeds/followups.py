"""The post-import follow-ups a refresh runs (the CLI's and the schedule's): each gets a
session of its own transaction, the settings and the catalog numbers that got new element
sets. Today one: manoeuvre detection, intent re-assessment and the owners' screenings
(``astroshield.ccdm.detections.after_catalog_import``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from astroshield.ccdm.detections import after_catalog_import
from astroshield.config import Settings
from astroshield.feeds.cdm import Dispatch
from astroshield.feeds.service import Followup


def default_followups(settings: Settings, notify: Dispatch | None = None) -> Sequence[Followup]:
    """``notify`` (the app's notification dispatcher) gets the alerts re-assessed pairs
    raise or resolve, after the follow-up commits; without it (the CLI) they are recorded
    but not sent."""
    del settings  # a follow-up may be configured by settings later
    return (partial(after_catalog_import, notify=notify),)
