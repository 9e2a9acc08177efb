from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from astroshield.features.service import FeatureFlags


@pytest.fixture(autouse=True)
async def default_flags(app: FastAPI) -> AsyncIterator[None]:
    """The app is shared by the session: its in-memory flag values go back to the
    defaults with the tables the ``app`` fixture empties."""
    yield
    app.state.component(FeatureFlags).store.replace_all({}, {})
