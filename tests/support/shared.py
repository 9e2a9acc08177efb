"""Reference data from the shared checkout next to the repository (``../shared``).

Tests reach it only through :func:`shared_path`: on a developer machine without the
checkout they are skipped, and with ``CI=true`` they fail, so validation data can never
silently vanish from a CI run (an unreachable PostgreSQL is treated the same way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ROOT = REPO_ROOT.parent / "shared"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def shared_path(relative: str, *, root: Path = SHARED_ROOT) -> Path:
    """The path of ``relative`` under the shared checkout, which must exist.

    Missing: ``pytest.fail`` under ``CI=true``, else ``pytest.skip``. Called at module
    level it skips (or fails) the whole module, as an import-time requirement should.
    """
    path = root / relative
    if path.exists():
        return path
    message = f"shared reference data {path} is missing"
    if in_ci():
        pytest.fail(f"{message} and CI=true: not skipping", pytrace=False)
    pytest.skip(message, allow_module_level=True)
