"""A server killed with SIGKILL mid-stream loses no acknowledged batch and, after clients
retry what was not acknowledged, stores none twice.

The real service runs as a subprocess on the run's kind of database (a scratch database
on PostgreSQL, a file on SQLite); batches go over real HTTP.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
from astroshield.migrate import upgrade_async
from astroshield.security.context import build_security
from astroshield.telemetry.models import TelemetryBatch, TelemetryParameter, TelemetrySample
from tests.conftest import Factory, settings_for
from tests.support.faults import Sender, spawn_service
from tests.support.servers import free_port, service_env
from tests.telemetry.support import T0, series

BATCHES = 48
SAMPLES_PER_BATCH = 2000
KILL_AFTER_ACKS = 12
CLIENTS = 3


def _kill_mid_stream_and_retry(
    database_url: str, url_path: str, headers: dict[str, str], bodies: dict[int, dict[str, Any]]
) -> tuple[set[int], Sender]:
    """Post every batch from several clients, SIGKILL the server once some are
    acknowledged, restart it and retry what was not acknowledged, then everything."""
    port = free_port()
    env = service_env(database_url)
    server = spawn_service(env, port)
    sender = Sender(
        f"http://127.0.0.1:{port}{url_path}", headers, bodies, signal_after_acks=KILL_AFTER_ACKS
    )
    try:
        threads = [
            threading.Thread(target=sender.run, args=(list(range(i, BATCHES, CLIENTS)),))
            for i in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        assert sender.first_ack_count.wait(timeout=120), "no batch was acknowledged"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=120)
        acknowledged_before_kill = set(sender.acknowledged)
        assert 0 < len(acknowledged_before_kill) < BATCHES, "the kill did not land mid-stream"

        server = spawn_service(env, port)
        with httpx.Client(timeout=30) as client:
            for sequence in sorted(set(range(BATCHES)) - acknowledged_before_kill):
                assert sender.post(client, sequence), f"retry of batch {sequence} failed"
            # A client that lost its acknowledgements retries everything: all are replays.
            for sequence in range(BATCHES):
                response = client.post(sender.url, json=bodies[sequence], headers=headers)
                assert response.status_code == 200, response.text
    finally:
        server.kill()
        server.wait(timeout=30)
    return acknowledged_before_kill, sender


@pytest.mark.slow
async def test_sigkill_mid_stream_loses_and_duplicates_nothing(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    factory = Factory(
        SimpleNamespace(
            state=SimpleNamespace(sessionmaker=sessionmaker, security=build_security(settings))
        )
    )
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = factory.headers(await factory.user(organisation, role="operator"))
    async with session_scope(sessionmaker) as session:
        session.add(
            TelemetryParameter(spacecraft_id=spacecraft.id, name="bus_voltage", type="float")
        )
    url_path = f"/api/v1/spacecraft/{spacecraft.id}/telemetry"
    bodies = {
        sequence: {
            "source_id": "crash-test",
            "sequence": sequence,
            "samples": series("bus_voltage", T0 + timedelta(hours=sequence), SAMPLES_PER_BATCH),
        }
        for sequence in range(BATCHES)
    }

    acknowledged_before_kill, sender = await asyncio.to_thread(
        _kill_mid_stream_and_retry, scratch_database_url, url_path, headers, bodies
    )

    async with session_scope(sessionmaker) as session:
        batch_rows = (
            await session.execute(
                select(TelemetryBatch.sequence, func.count()).group_by(TelemetryBatch.sequence)
            )
        ).all()
        samples_per_hour = {}
        for sequence in range(BATCHES):
            start = T0 + timedelta(hours=sequence)
            samples_per_hour[sequence] = (
                await session.execute(
                    select(func.count()).where(
                        TelemetrySample.time >= start,
                        TelemetrySample.time < start + timedelta(hours=1),
                    )
                )
            ).scalar_one()
    await engine.dispose()

    stored_batches = dict(batch_rows)
    # Acknowledged but lost: an acknowledged batch without its row or its samples.
    lost = [
        s
        for s in acknowledged_before_kill
        if s not in stored_batches or samples_per_hour[s] != SAMPLES_PER_BATCH
    ]
    duplicated = [s for s, count in stored_batches.items() if count > 1] + [
        s for s, n in samples_per_hour.items() if n > SAMPLES_PER_BATCH
    ]
    print(  # the figures of this run, shown with -s
        f"acknowledged before kill: {len(acknowledged_before_kill)}, stored but unacknowledged "
        f"(replayed on retry): {sender.replayed}, lost: {len(lost)}, duplicated: {len(duplicated)}"
    )
    assert (lost, duplicated) == ([], [])
    assert sender.acknowledged == set(range(BATCHES))
    assert all(n == SAMPLES_PER_BATCH for n in samples_per_hour.values())
    assert set(stored_batches) == set(range(BATCHES))
