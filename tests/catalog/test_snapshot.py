"""The whole CelesTrak snapshot (26,834 objects) through the import, on both databases."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from astroshield.astro.dynamics.orbit import regime, semi_major_axis_from_mean_motion
from astroshield.astro.formats.omm import read_omm_file
from astroshield.catalog.models import CatalogObject
from astroshield.catalog.repository import CatalogRepository
from astroshield.db import session_scope
from tests.astro.paths import CATALOG_CSV
from tests.catalog.conftest import Importer

SNAPSHOT_OBJECTS = 26_834  # rows of the file, per /work/shared/data/catalog/README.md


@pytest.mark.slow
async def test_whole_snapshot_imports_once(app: FastAPI, import_sets: Importer) -> None:
    sets = read_omm_file(CATALOG_CSV)
    assert len(sets) == SNAPSHOT_OBJECTS

    first = await import_sets(sets, source=CATALOG_CSV.name)
    assert (first.inserted, first.already_present, first.rejected) == (SNAPSHOT_OBJECTS, 0, [])
    again = await import_sets(sets, source=CATALOG_CSV.name)
    assert (again.inserted, again.already_present) == (0, SNAPSHOT_OBJECTS)

    async with session_scope(app.state.sessionmaker) as session:
        latest = await CatalogRepository(session, None).latest_element_sets()
        counts = select(CatalogObject.regime, func.count()).group_by(CatalogObject.regime)
        stored_regimes = dict((await session.execute(counts)).all())
    assert len(latest) == SNAPSHOT_OBJECTS
    expected = Counter(
        regime(
            semi_major_axis_from_mean_motion(s.mean_motion_rev_per_day),
            s.eccentricity,
            s.inclination_deg,
        ).value
        for s in sets
    )
    assert stored_regimes == dict(expected)
