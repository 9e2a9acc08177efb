"""PostgreSQL crashed and restarted under telemetry ingest: a private cluster of the
test's own, stopped with ``-m immediate`` and started again (recovery from the WAL)."""

from __future__ import annotations

import pytest

from tests.chaos.conftest import assert_survived, needs_postgres
from tests.chaos.scenarios import postgres_restarted_during_ingest
from tests.support import databases
from tests.support.faults import private_postgres_missing

pytestmark = pytest.mark.chaos


async def test_postgres_restarted_during_ingest() -> None:
    needs_postgres(databases.test_database_url(), "a PostgreSQL server is crashed and restarted")
    if (why := private_postgres_missing()) is not None:
        pytest.skip(why)
    row = await postgres_restarted_during_ingest()
    assert_survived(row)
    assert row.acknowledged == 30
