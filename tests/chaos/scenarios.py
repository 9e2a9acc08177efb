"""The chaos scenarios, sized by the caller: tests/chaos runs them small and asserts,
benchmarks/chaos.py runs them larger and writes the table to benchmarks/RESULTS.md.

Each scenario runs the real service as a process on a scratch database of the run's kind,
sends distinct writes from client threads that retry what was not acknowledged, strikes,
heals, and then counts in the database: acknowledged but lost, stored twice.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from astroshield.conjunction.models import ConjunctionCdm, ConjunctionEvent
from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
from astroshield.migrate import upgrade_async
from astroshield.security.context import build_security
from astroshield.telemetry.models import TelemetryBatch, TelemetryParameter, TelemetrySample
from tests.conftest import Factory, settings_for
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.support.faults import (
    FaultProxy,
    RedisServer,
    Sender,
    Tally,
    private_postgres,
    run_clients,
    spawn_service,
)
from tests.support.servers import free_port, service_env
from tests.telemetry.support import T0, series

# What a client waits before retrying, and how long it keeps trying.
RETRY_PAUSE_S = 0.1
CLIENT_PATIENCE_S = 90.0
# The database timeouts of the proxied service: a blackhole must end in a 503 this soon.
DB_TIMEOUTS = {
    "ASTROSHIELD_DB_CONNECT_TIMEOUT_S": "2",
    "ASTROSHIELD_DB_POOL_TIMEOUT_S": "3",
    "ASTROSHIELD_DB_COMMAND_TIMEOUT_S": "2",
    "ASTROSHIELD_DB_STATEMENT_TIMEOUT_MS": "1500",
}


@dataclass
class ChaosRow:
    """One line of the chaos table."""

    fault: str
    requests: int
    acknowledged: int
    lost: int
    duplicated: int
    unavailable: int  # 503 with Retry-After
    server_errors: int  # any other 5xx
    no_answer: int  # connection refused or dropped (only when the replica itself died)
    unexpected: list[Any]
    recovery_s: float | None
    slowest_answer_s: float = 0.0
    dropped: list[str | None] = field(default_factory=list)  # why, for the first few

    def line(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.2f} s"
        return (
            f"| {self.fault} | {self.requests} | {self.acknowledged} | {self.lost} | "
            f"{self.duplicated} | {self.unavailable} | {self.server_errors} | "
            f"{self.no_answer} | {recovery} |"
        )

    def show(self) -> None:
        print(  # the figures of this run, shown with -s
            f"\n{self.fault}: requests {self.requests}, acknowledged {self.acknowledged}, "
            f"lost {self.lost}, duplicated {self.duplicated}, 503 {self.unavailable}, "
            f"other 5xx {self.server_errors}, no answer {self.no_answer}, "
            f"slowest answer {self.slowest_answer_s:.2f} s, time to recover "
            f"{'-' if self.recovery_s is None else f'{self.recovery_s:.2f} s'}"
        )


TABLE_HEADER = (
    "| fault | requests | acknowledged | lost | duplicated | 503 (Retry-After) | 500 | "
    "no answer | time to recover |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _row(
    fault: str, tally: Tally, acknowledged: int, lost: int, duplicated: int, fault_ended: float
) -> ChaosRow:
    return ChaosRow(
        fault=fault,
        requests=tally.requests,
        acknowledged=acknowledged,
        lost=lost,
        duplicated=duplicated,
        unavailable=tally.unavailable,
        server_errors=tally.server_errors,
        no_answer=tally.count(status=None),
        unexpected=tally.unexpected(),
        dropped=[a.error for a in tally.no_answers()][:5],
        recovery_s=tally.recovery_s(fault_ended),
        slowest_answer_s=tally.slowest_s,
    )


@dataclass
class Prepared:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    factory: Factory


async def prepare(database_url: str) -> Prepared:
    """Migrate the scratch database; a factory writing through an engine of its own."""
    settings = settings_for(database_url)
    await upgrade_async(settings)
    engine = create_unpooled_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    app = SimpleNamespace(
        state=SimpleNamespace(sessionmaker=sessionmaker, security=build_security(settings))
    )
    return Prepared(engine, sessionmaker, Factory(app))  # type: ignore[arg-type]


# --- SIGKILL of a replica during CDM upload -------------------------------------------------


def _cdm_bodies(count: int, events: int) -> dict[int, bytes]:
    """``count`` distinct CDMs (one MESSAGE_ID each) about ``events`` encounters."""
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        n: kvn(
            omitron_cdm(
                primary="44001",
                secondary=str(45000 + n % events),
                tca=now + timedelta(days=2, hours=n % events),
                creation=now - timedelta(hours=1) + timedelta(seconds=n),
                message_id=f"CHAOS-{n}",
            )
        )
        for n in range(count)
    }


async def sigkill_during_cdm_upload(
    database_url: str, *, cdms: int = 24, clients: int = 3, kill_after_acks: int = 6
) -> ChaosRow:
    """CDMs posted by ``clients`` retrying clients; the replica is SIGKILLed once some
    are acknowledged and started again. Every encounter's CDMs come from one client (the
    event of a new encounter is opened by its first CDM; racing clients would get a 409)."""
    events = clients * max(1, cdms // (clients * 4))
    prepared = await prepare(database_url)
    factory = prepared.factory
    organisation = await factory.organisation()
    await factory.spacecraft(organisation, catalog_number="44001")
    headers = await factory.login(organisation, role="analyst") | {"Content-Type": "text/plain"}
    bodies = _cdm_bodies(cdms, events)
    port = free_port()
    env = service_env(database_url, ASTROSHIELD_CONJUNCTION_PC_MC_SAMPLES="1000")

    def strike() -> tuple[Sender, float]:
        server = spawn_service(env, port)
        sender = Sender(
            f"http://127.0.0.1:{port}/api/v1/conjunctions/cdms",
            headers,
            bodies,
            signal_after_acks=kill_after_acks,
        )
        try:
            threads = run_clients(
                sender,
                cdms,
                clients,
                until=time.monotonic() + CLIENT_PATIENCE_S,
                pause_s=RETRY_PAUSE_S,
            )
            assert sender.first_ack_count.wait(timeout=120), "no CDM was acknowledged"
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            restarted = time.monotonic()
            server = spawn_service(env, port)
            for thread in threads:
                thread.join(timeout=CLIENT_PATIENCE_S + 30)
            # A client that lost its acknowledgements sends everything again: all replays.
            with httpx.Client(timeout=30) as client:
                for n in range(cdms):
                    response = client.post(sender.url, content=bodies[n], headers=headers)
                    assert response.status_code == 200, response.text
        finally:
            server.kill()
            server.wait(timeout=30)
        return sender, restarted

    sender, restarted = await asyncio.to_thread(strike)
    async with session_scope(prepared.sessionmaker) as session:
        per_message = dict(
            (
                await session.execute(
                    select(ConjunctionCdm.message_id, func.count()).group_by(
                        ConjunctionCdm.message_id
                    )
                )
            ).all()
        )
        per_event = (
            await session.execute(
                select(func.count())
                .select_from(ConjunctionEvent)
                .group_by(
                    ConjunctionEvent.organisation_id,
                    ConjunctionEvent.primary_catalog_number,
                    ConjunctionEvent.secondary_catalog_number,
                )
            )
        ).all()
    await prepared.engine.dispose()
    lost = sum(f"CHAOS-{n}" not in per_message for n in sender.acknowledged)
    duplicated = sum(c - 1 for c in per_message.values()) + sum(c - 1 for (c,) in per_event)
    duplicated += max(0, len(per_event) - events)  # an encounter opened twice
    row = _row(
        "SIGKILL of the replica during CDM upload",
        sender.tally,
        len(sender.acknowledged),
        lost,
        duplicated,
        restarted,
    )
    row.unexpected += [("not acknowledged", n) for n in set(range(cdms)) - sender.acknowledged]
    return row


# --- telemetry ingest under database faults -------------------------------------------------


def _telemetry_bodies(count: int, samples: int) -> dict[int, dict[str, Any]]:
    return {
        n: {
            "source_id": "chaos",
            "sequence": n,
            "samples": series("bus_voltage", T0 + timedelta(hours=n), samples),
        }
        for n in range(count)
    }


async def _telemetry_target(prepared: Prepared) -> tuple[str, dict[str, str]]:
    factory = prepared.factory
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = await factory.login(organisation, role="operator")
    async with session_scope(prepared.sessionmaker) as session:
        session.add(
            TelemetryParameter(spacecraft_id=spacecraft.id, name="bus_voltage", type="float")
        )
    return f"/api/v1/spacecraft/{spacecraft.id}/telemetry", headers


async def _telemetry_losses(
    prepared: Prepared, acknowledged: set[int], batches: int, samples: int
) -> tuple[int, int]:
    """(acknowledged but lost, stored twice) batches."""
    async with session_scope(prepared.sessionmaker) as session:
        stored = dict(
            (
                await session.execute(
                    select(TelemetryBatch.sequence, func.count()).group_by(TelemetryBatch.sequence)
                )
            ).all()
        )
        per_hour = {}
        for n in range(batches):
            start = T0 + timedelta(hours=n)
            per_hour[n] = (
                await session.execute(
                    select(func.count()).where(
                        TelemetrySample.time >= start,
                        TelemetrySample.time < start + timedelta(hours=1),
                    )
                )
            ).scalar_one()
    lost = sum(n not in stored or per_hour[n] != samples for n in acknowledged)
    duplicated = sum(c > 1 for c in stored.values()) + sum(v > samples for v in per_hour.values())
    return lost, duplicated


async def _admin_connection(database_url: str) -> asyncpg.Connection:
    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )


async def terminate_backends_during_ingest(
    database_url: str,
    *,
    batches: int = 60,
    samples: int = 1000,
    clients: int = 3,
    fault_s: float = 3.0,
    every_s: float = 0.2,
) -> ChaosRow:
    """pg_terminate_backend on every connection of the service, every ``every_s`` for
    ``fault_s``, while clients ingest telemetry batches (PostgreSQL only)."""
    prepared = await prepare(database_url)
    path, headers = await _telemetry_target(prepared)
    bodies = _telemetry_bodies(batches, samples)
    port = free_port()
    env = service_env(database_url)
    database = make_url(database_url).database
    admin = await _admin_connection(database_url)
    server = await asyncio.to_thread(spawn_service, env, port)
    sender = Sender(f"http://127.0.0.1:{port}{path}", headers, bodies, signal_after_acks=2)
    terminated = 0
    try:
        threads = run_clients(
            sender,
            batches,
            clients,
            until=time.monotonic() + CLIENT_PATIENCE_S,
            pause_s=RETRY_PAUSE_S,
        )
        assert await asyncio.to_thread(sender.first_ack_count.wait, 60), "nothing acknowledged"
        ends = time.monotonic() + fault_s
        while time.monotonic() < ends:
            terminated += len(
                await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
            )
            await asyncio.sleep(every_s)
        healed = time.monotonic()
        url = f"http://127.0.0.1:{port}{path.removesuffix('/telemetry')}"
        await asyncio.to_thread(probe_until_ok, url, headers, sender.tally)
        for thread in threads:
            await asyncio.to_thread(thread.join, CLIENT_PATIENCE_S + 30)
    finally:
        await admin.close()
        server.kill()
        await asyncio.to_thread(server.wait, 30)
    lost, duplicated = await _telemetry_losses(prepared, sender.acknowledged, batches, samples)
    await prepared.engine.dispose()
    row = _row(
        f"pg_terminate_backend every {every_s:g} s for {fault_s:g} s "
        f"({terminated} connections) during telemetry ingest",
        sender.tally,
        len(sender.acknowledged),
        lost,
        duplicated,
        healed,
    )
    row.unexpected += [("not acknowledged", n) for n in set(range(batches)) - sender.acknowledged]
    return row


async def database_proxy_fault(
    database_url: str,
    mode: str,
    *,
    batches: int = 30,
    samples: int = 200,
    clients: int = 3,
    fault_s: float = 4.0,
    delay_s: float = 0.1,
) -> ChaosRow:
    """A TCP proxy between the service and PostgreSQL switched to ``mode`` (delay,
    blackhole, cut) for ``fault_s`` while clients ingest telemetry and read it back."""
    prepared = await prepare(database_url)
    path, headers = await _telemetry_target(prepared)
    bodies = _telemetry_bodies(batches, samples)
    url = make_url(database_url)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432, delay_s=delay_s)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    port = free_port()
    env = service_env(proxied, **DB_TIMEOUTS)
    server = await asyncio.to_thread(spawn_service, env, port)
    base = f"http://127.0.0.1:{port}"
    sender = Sender(base + path, headers, bodies, signal_after_acks=max(1, batches // 5))
    stop_reading = threading.Event()
    try:
        threads = run_clients(
            sender,
            batches,
            clients,
            until=time.monotonic() + CLIENT_PATIENCE_S,
            pause_s=RETRY_PAUSE_S,
        )
        reader = threading.Thread(
            target=read_until,
            args=(base + path.replace("/telemetry", ""), headers, sender.tally, stop_reading),
            daemon=True,
        )
        reader.start()
        assert await asyncio.to_thread(sender.first_ack_count.wait, 60), "nothing acknowledged"
        proxy.set_mode(mode)  # type: ignore[arg-type]
        await asyncio.sleep(fault_s)
        proxy.set_mode("pass")
        healed = time.monotonic()
        for thread in threads:
            await asyncio.to_thread(thread.join, CLIENT_PATIENCE_S + 30)
        await asyncio.sleep(1.0)  # reads after the heal too
        stop_reading.set()
        await asyncio.to_thread(reader.join, 40)
    finally:
        stop_reading.set()
        server.kill()
        await asyncio.to_thread(server.wait, 30)
        await proxy.stop()
    lost, duplicated = await _telemetry_losses(prepared, sender.acknowledged, batches, samples)
    await prepared.engine.dispose()
    what = {
        "delay": f"{delay_s * 1000:g} ms added per chunk",
        "blackhole": "blackhole (accepted, nothing forwarded)",
        "cut": "every connection cut",
    }[mode]
    row = _row(
        f"app-database link: {what} for {fault_s:g} s",
        sender.tally,
        len(sender.acknowledged),
        lost,
        duplicated,
        healed,
    )
    row.unexpected += [("not acknowledged", n) for n in set(range(batches)) - sender.acknowledged]
    return row


def probe_until_ok(url: str, headers: dict[str, str], tally: Tally, bound_s: float = 60) -> None:
    """GET ``url`` until a 2xx (or the bound), every answer into ``tally``: the time to
    recover needs a request after the fault, even when the writes all ended inside it."""
    deadline = time.monotonic() + bound_s
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                response = client.get(url, headers=headers)
            except httpx.TransportError as error:
                tally.record(None, took=time.monotonic() - began, error=error)
                continue
            tally.record(
                response.status_code,
                response.headers.get("retry-after"),
                took=time.monotonic() - began,
            )
            if 200 <= response.status_code < 300:
                return
            time.sleep(0.05)


def read_until(url: str, headers: dict[str, str], tally: Tally, stop: threading.Event) -> None:
    """GET ``url`` in a loop until ``stop``, every answer into ``tally``."""
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            began = time.monotonic()
            try:
                response = client.get(url, headers=headers)
            except httpx.TransportError as error:
                tally.record(None, took=time.monotonic() - began, error=error)
                continue
            tally.record(
                response.status_code,
                response.headers.get("retry-after"),
                took=time.monotonic() - began,
            )
            time.sleep(0.05)


# --- Redis stopped --------------------------------------------------------------------------


async def redis_stopped(database_url: str, *, fault_s: float = 3.0, clients: int = 2) -> ChaosRow:
    """Logins and reads against a service sharing state through a private Redis, which is
    killed for ``fault_s`` and started again (empty, as after a crash without persistence)."""
    from tests.conftest import DEFAULT_PASSWORD

    prepared = await prepare(database_url)
    factory = prepared.factory
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    email = f"chaos-{time.monotonic_ns()}@example.org"
    user = await factory.user(organisation, role="operator", email=email)
    headers = factory.headers(user)
    redis = RedisServer()
    await asyncio.to_thread(redis.start)
    port = free_port()
    env = service_env(
        database_url,
        ASTROSHIELD_REDIS_URL=redis.url,
        ASTROSHIELD_RATE_LIMIT_LOGIN="1000/minute",
        ASTROSHIELD_RATE_LIMIT_USER="100000/minute",
        ASTROSHIELD_RATE_LIMIT_CLIENT="100000/minute",
    )
    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    stop = threading.Event()
    logins = Counter[int]()

    def log_in_until() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    response = client.post(
                        base + "/api/v1/auth/token",
                        json={"email": email, "password": DEFAULT_PASSWORD},
                    )
                except httpx.TransportError as error:
                    tally.record(None, took=time.monotonic() - began, error=error)
                    continue
                logins[response.status_code] += 1
                tally.record(
                    response.status_code,
                    response.headers.get("retry-after"),
                    took=time.monotonic() - began,
                )
                time.sleep(0.2)

    server = await asyncio.to_thread(spawn_service, env, port)
    try:
        threads = [
            threading.Thread(
                target=read_until,
                args=(f"{base}/api/v1/spacecraft/{spacecraft.id}", headers, tally, stop),
                daemon=True,
            )
            for _ in range(clients)
        ] + [threading.Thread(target=log_in_until, daemon=True)]
        for thread in threads:
            thread.start()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(fault_s)
        await asyncio.to_thread(redis.start)
        healed = time.monotonic()
        # Shared again: the rate limits count in Redis, and the auth invalidation
        # listener (resubscribing every second) is back on its channel.
        shared_again = False
        deadline = time.monotonic() + 10
        while not shared_again and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            keys, subscribers = await _redis_state(redis.port)
            shared_again = keys > 0 and subscribers > 0
        stop.set()
        for thread in threads:
            await asyncio.to_thread(thread.join, 40)
    finally:
        stop.set()
        server.kill()
        await asyncio.to_thread(server.wait, 30)
        await asyncio.to_thread(redis.stop)
    await prepared.engine.dispose()
    row = _row(
        f"Redis killed for {fault_s:g} s during logins and reads",
        tally,
        sum(logins[s] for s in (200, 201)),
        0,
        0,
        healed,
    )
    if not shared_again:
        row.unexpected.append("rate limits or auth invalidations not in Redis once it is back")
    return row


async def _redis_state(port: int) -> tuple[int, int]:
    """(keys, subscribers of any channel) in the private Redis."""
    import redis.asyncio as redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        channels = await client.pubsub_channels()
        counts = await client.pubsub_numsub(*channels) if channels else []
        return int(await client.dbsize()), sum(int(n) for _, n in counts)
    finally:
        await client.aclose()


# --- PostgreSQL restarted -------------------------------------------------------------------


async def postgres_restarted_during_ingest(
    *,
    batches: int = 30,
    samples: int = 500,
    clients: int = 3,
    down_s: float = 2.0,
) -> ChaosRow:
    """A private PostgreSQL cluster stopped hard (``-m immediate``, as a crash: the next
    start recovers from the WAL) while clients ingest telemetry, started again after
    ``down_s``. Acknowledged batches were committed, so they must survive the crash."""
    with private_postgres() as cluster:
        admin = await _admin_connection(cluster.url)
        await admin.execute("CREATE DATABASE chaos")
        await admin.close()
        database_url = make_url(cluster.url).set(database="chaos").render_as_string(False)
        prepared = await prepare(database_url)
        path, headers = await _telemetry_target(prepared)
        await prepared.engine.dispose()  # no connection of ours across the crash
        bodies = _telemetry_bodies(batches, samples)
        port = free_port()
        env = service_env(database_url, **DB_TIMEOUTS)
        server = await asyncio.to_thread(spawn_service, env, port)
        sender = Sender(
            f"http://127.0.0.1:{port}{path}", headers, bodies, signal_after_acks=batches // 5
        )
        try:
            threads = run_clients(
                sender,
                batches,
                clients,
                until=time.monotonic() + CLIENT_PATIENCE_S,
                pause_s=RETRY_PAUSE_S,
            )
            assert await asyncio.to_thread(sender.first_ack_count.wait, 60), "nothing acked"
            await asyncio.to_thread(cluster.stop, "immediate")
            await asyncio.sleep(down_s)
            await asyncio.to_thread(cluster.start)
            healed = time.monotonic()
            url = f"http://127.0.0.1:{port}{path.removesuffix('/telemetry')}"
            await asyncio.to_thread(probe_until_ok, url, headers, sender.tally)
            for thread in threads:
                await asyncio.to_thread(thread.join, CLIENT_PATIENCE_S + 30)
        finally:
            server.kill()
            await asyncio.to_thread(server.wait, 30)
        lost, duplicated = await _telemetry_losses(prepared, sender.acknowledged, batches, samples)
        await prepared.engine.dispose()
    row = _row(
        f"PostgreSQL crashed (stop -m immediate) and restarted after {down_s:g} s "
        "during telemetry ingest",
        sender.tally,
        len(sender.acknowledged),
        lost,
        duplicated,
        healed,
    )
    row.unexpected += [("not acknowledged", n) for n in set(range(batches)) - sender.acknowledged]
    return row
