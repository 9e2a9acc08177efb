"""Where the astro tests find their data, defined once.

``SHARED`` is the shared data checkout next to the repository (``../shared``: the CelesTrak
catalog snapshot, the Pc reference fixture); ``CDM_DATA`` holds the repository's own CDM samples.
A missing shared file is never skipped silently: reading it fails, and tests that check for
it first go through :func:`tests.support.shared.shared_path` (fails under ``CI=true``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.shared import SHARED_ROOT

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = SHARED_ROOT
CATALOG_CSV = SHARED / "data" / "catalog" / "celestrak_on_orbit_20241101.csv"
PC_CASES_JSON = SHARED / "fixtures" / "pc" / "public_cases.json"
CDM_DATA = REPO_ROOT / "tests" / "data" / "cdm"


def load_pc_cases() -> dict[str, Any]:
    """The Pc reference fixture (NASA CARA public cases), parsed."""
    cases: dict[str, Any] = json.loads(PC_CASES_JSON.read_text(encoding="utf-8"))
    return cases
