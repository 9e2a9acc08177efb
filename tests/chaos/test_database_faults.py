"""Faults between the service and PostgreSQL during telemetry ingest: its connections
killed by the server (pg_terminate_backend), and a TCP proxy on the link that adds
latency, holds every packet (blackhole) or cuts every connection. Answers during the fault
are 2xx or 503 with Retry-After, within the database timeouts; nothing acknowledged is
lost, nothing is stored twice."""

from __future__ import annotations

import pytest

from tests.chaos.conftest import assert_survived, needs_postgres
from tests.chaos.scenarios import database_proxy_fault, terminate_backends_during_ingest

pytestmark = pytest.mark.chaos

# The proxied service's database timeouts (scenarios.DB_TIMEOUTS) are 2-3 s: an answer
# during a blackhole comes after a connect, a ping or a command timed out, never later
# than a few of them in a row.
ANSWER_BOUND_S = 15.0


async def test_backends_terminated_during_ingest(scratch_database_url: str) -> None:
    needs_postgres(scratch_database_url, "pg_terminate_backend is PostgreSQL's")
    row = await terminate_backends_during_ingest(scratch_database_url)
    assert_survived(row)
    assert row.acknowledged == 60
    assert row.unavailable > 0, "no request met a killed connection"


@pytest.mark.parametrize("mode", ["delay", "blackhole", "cut"])
async def test_database_link_fault(scratch_database_url: str, mode: str) -> None:
    needs_postgres(scratch_database_url, "the proxy sits in front of a PostgreSQL server")
    row = await database_proxy_fault(scratch_database_url, mode)
    assert_survived(row)
    assert row.acknowledged == 30
    assert row.slowest_answer_s < ANSWER_BOUND_S
    if mode != "delay":
        assert row.unavailable > 0, "the fault was not seen: nothing answered 503"
