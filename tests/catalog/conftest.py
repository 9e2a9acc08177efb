"""Real catalog data for the catalog tests: slices of the CelesTrak snapshot and of the
CryoSat-2 / Fengyun-2F TLE histories (Space-Track gp_history)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import pytest
from fastapi import FastAPI

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import parse_omm_csv
from astroshield.astro.formats.tle import iter_tles
from astroshield.catalog.models import Provenance
from astroshield.catalog.service import (
    IMPORT_CHUNK_SIZE,
    ImportResult,
    Origin,
    import_element_sets,
)
from astroshield.db import session_scope
from tests.astro.paths import CATALOG_CSV, SHARED

MANEUVERS = SHARED / "data" / "maneuvers" / "processed_files"
CRYOSAT_TLE = MANEUVERS / "CryoSat-2.tle"  # NORAD 36508, LEO
FENGYUN_TLE = MANEUVERS / "Fengyun-2F.tle"  # NORAD 38049, GEO

Importer = Callable[..., Awaitable[ImportResult]]
# A platform import, as `astroshield catalog import` makes: public sets.
PUBLIC = Origin.public(Provenance.PLATFORM, "cli")


def csv_head(rows: int) -> str:
    """The header and the first ``rows`` rows of the snapshot, as the file has them (CRLF)."""
    with CATALOG_CSV.open(newline="", encoding="utf-8") as handle:
        return "".join(handle.readline() for _ in range(rows + 1))


def csv_rows_where(predicate: Callable[[str], bool]) -> str:
    """The header and every snapshot row for which ``predicate(row)`` holds."""
    lines = CATALOG_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    return lines[0] + "".join(line for line in lines[1:] if predicate(line))


def tle_head(path: Path, count: int) -> str:
    """The first ``count`` two-line sets of a TLE history file."""
    return "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[: 2 * count])


def tle_sets(path: Path, count: int) -> list[ElementSet]:
    return [tle.elements for tle in iter_tles(tle_head(path, count))]


def csv_sets(rows: int) -> list[ElementSet]:
    return parse_omm_csv(csv_head(rows))


@pytest.fixture
def import_sets(app: FastAPI) -> Importer:
    """Import through the service in one committed transaction, as the CLI does per file
    (public by default)."""

    async def run(
        sets: Iterable[ElementSet],
        source: str = "test",
        chunk_size: int = IMPORT_CHUNK_SIZE,
        origin: Origin = PUBLIC,
    ) -> ImportResult:
        async with session_scope(app.state.sessionmaker) as session:
            return await import_element_sets(session, sets, source, origin, chunk_size=chunk_size)

    return run
