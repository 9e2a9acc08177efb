"""Where the astro tests find their data, defined once.

``SHARED`` is the shared data checkout next to the repository (``../shared``: the CelesTrak
catalog snapshot, the Pc reference fixture); ``CDM_DATA`` holds the repository's own CDM samples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
CATALOG_CSV = SHARED / "data" / "catalog" / "celestrak_on_orbit_20241101.csv"
PC_CASES_JSON = SHARED / "fixtures" / "pc" / "public_cases.json"
CDM_DATA = REPO_ROOT / "tests" / "data" / "cdm"


def load_pc_cases() -> dict[str, Any]:
    """The Pc reference fixture (NASA CARA public cases), parsed."""
    cases: dict[str, Any] = json.loads(PC_CASES_JSON.read_text(encoding="utf-8"))
    return cases
