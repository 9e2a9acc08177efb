"""Spacecraft data under retention: status reports age out by the time they were reported.

Status history needs nothing but an age limit, so the retention job deletes it with its
generic age-limit statement over the columns named here (oldest first, by key).
"""

from __future__ import annotations

from astroshield.spacecraft.models import SpacecraftStatusReport

STATUS_HISTORY_KEY = SpacecraftStatusReport.id
STATUS_HISTORY_AGE = SpacecraftStatusReport.reported_at
