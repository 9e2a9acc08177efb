"""Screening events as CSV or JSON files.

Both carry ``edge``: empty (CSV) / ``null`` (JSON) for a minimum inside the window,
``start``/``end`` for an approach cut off by that window edge, whose TCA and miss are then the
values at the edge (see :class:`~astroshield.astro.conjunction.screening.ConjunctionEvent`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from astroshield.astro.conjunction.screening.types import ConjunctionEvent

__all__ = ["CSV_HEADER", "write_events_csv", "write_events_json"]

CSV_HEADER = ("object1", "object2", "tca", "miss_distance_km", "relative_speed_km_s", "edge")


def _tca_text(tca: datetime) -> str:
    return tca.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_events_csv(events: Sequence[ConjunctionEvent], path: str | Path) -> None:
    """CSV with header ``object1,object2,tca,miss_distance_km,relative_speed_km_s,edge``."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for event in events:
            writer.writerow(
                [
                    event.object1,
                    event.object2,
                    _tca_text(event.tca),
                    f"{event.miss_distance_km:.6f}",
                    f"{event.relative_speed_km_s:.6f}",
                    event.edge or "",
                ]
            )


def _event_record(event: ConjunctionEvent) -> dict[str, Any]:
    record = asdict(event)
    record["tca"] = _tca_text(event.tca)
    record["miss_rtn_km"] = list(event.miss_rtn_km)
    return record


def write_events_json(events: Sequence[ConjunctionEvent], path: str | Path) -> None:
    """JSON list of events (TCA as ISO 8601 UTC with milliseconds, RTN miss components,
    ``edge``)."""
    records = [_event_record(event) for event in events]
    Path(path).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
