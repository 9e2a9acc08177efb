"""Domain events: relay throughput to NATS JetStream, and what the outbox adds to a CDM
upload.

1. ``--events`` events are written to the outbox (``emit``, 500 per transaction), then one
   relay drains them to JetStream (claim a batch, publish each with ``Nats-Msg-Id`` and wait
   for its acknowledgement, mark the batch sent): events/s, per batch size.
2. CDM uploads through the real app (in process, httpx ASGI transport, no network), each a
   new conjunction event (so each writes ``conjunction.created`` and the alert's
   ``alert.changed``): p50/p90 latency with ``emit`` as shipped and with ``emit`` replaced
   by a no-op, alternating upload by upload so that load and drift hit both alike; and the
   time spent inside ``emit`` itself per upload (what the outbox adds, free of that noise).

The database is a scratch SQLite file (the default deployment) or, with ``--pg``, a
scratch PostgreSQL database; NATS is a private ``nats-server -js`` on a free port (or
``--nats-url``).

    .venv/bin/python benchmarks/outbox.py [--events 5000] [--uploads 160] \
        [--mc-samples 100000] [--pg postgresql+asyncpg://...] [--nats-url nats://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import Factory, settings_for  # noqa: E402
from tests.conjunction.cdms import kvn, omitron_cdm  # noqa: E402
from tests.events.bus import NatsServer  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

from astroshield.alerts import service as alerts_service  # noqa: E402
from astroshield.app import create_app  # noqa: E402
from astroshield.conjunction.service import intake  # noqa: E402
from astroshield.db import session_scope  # noqa: E402
from astroshield.events.publisher import JetStreamPublisher  # noqa: E402
from astroshield.events.relay import Relay  # noqa: E402
from astroshield.events.service import emit  # noqa: E402
from astroshield.migrate import upgrade_async  # noqa: E402


@asynccontextmanager
async def _nats(url: str | None, store: Path) -> AsyncIterator[str]:
    if url is not None:
        yield url
        return
    server = NatsServer(store)
    await server.start()
    try:
        yield server.url
    finally:
        server.stop()


async def _relay_rate(app: Any, organisation_id: Any, url: str, events: int, batch: int) -> float:
    sessionmaker = app.state.sessionmaker
    for start in range(0, events, 500):
        async with session_scope(sessionmaker) as session:
            for n in range(start, min(events, start + 500)):
                data = {"catalog": "overlay", "source": "bench", "inserted": n,
                        "already_present": 0, "rejected": 0}  # fmt: skip
                await emit(session, organisation_id, "catalog.refreshed", n, data)
    relay = Relay(sessionmaker, JetStreamPublisher(url, "ASTROSHIELD"), batch_size=batch)
    assert await relay.start(), "the JetStream stream could not be created or checked"
    began = time.perf_counter()
    sent = await relay.drain()
    elapsed = time.perf_counter() - began
    await relay.close()
    assert sent == events, (sent, events)
    return events / elapsed


async def _no_emit(*_args: Any, **_kwargs: Any) -> None:
    return None


class _TimedEmit:
    """The shipped ``emit``, with the time spent in it added up (per upload)."""

    def __init__(self) -> None:
        self.spent_s = 0.0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await emit(*args, **kwargs)
        finally:
            self.spent_s += time.perf_counter() - began


def _cdm_body(counter: int, now: datetime) -> bytes:
    return kvn(
        omitron_cdm(
            primary="44001",
            secondary="44002",
            tca=now + timedelta(days=2, hours=counter),  # a new event each time
            creation=now - timedelta(hours=1),
            message_id=f"BENCH-{counter}",
        )
    )


async def _uploads(app: Any, count: int, warmup: int) -> dict[str, list[float]]:
    """Uploads alternating with and without ``emit`` (ABAB: load on the shared machine hits
    both alike); per upload also the time spent inside ``emit`` itself."""
    factory = Factory(app)
    organisation = await factory.organisation()
    await factory.spacecraft(organisation, catalog_number="44001")
    headers = await factory.login(organisation, role="analyst") | {"Content-Type": "text/plain"}
    now = datetime.now(UTC)
    shipped = intake.emit, alerts_service.emit
    timed = _TimedEmit()
    timings: dict[str, list[float]] = {"with emit": [], "without emit": [], "inside emit": []}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for counter in range(-warmup, count):
            mode = "with emit" if counter % 2 == 0 else "without emit"
            patched = (timed, timed) if mode == "with emit" else (_no_emit, _no_emit)
            intake.emit, alerts_service.emit = patched  # type: ignore[assignment]
            timed.spent_s = 0.0
            body = _cdm_body(counter + warmup, now)
            began = time.perf_counter()
            response = await client.post("/api/v1/conjunctions/cdms", content=body, headers=headers)
            elapsed_ms = (time.perf_counter() - began) * 1e3
            assert response.status_code == 201, response.text
            if counter >= 0:  # the first ones warm up, unmeasured
                timings[mode].append(elapsed_ms)
                if mode == "with emit":
                    timings["inside emit"].append(timed.spent_s * 1e3)
    intake.emit, alerts_service.emit = shipped  # type: ignore[assignment]
    return timings


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="astroshield-outbox-bench-") as tmp:
        base = args.pg or "sqlite"
        async with fresh_database(base, Path(tmp)) as url:
            await upgrade_async(settings_for(url))
            app = create_app(
                settings_for(
                    url,
                    log_level="error",
                    metrics_enabled=False,
                    conjunction_pc_mc_samples=args.mc_samples,
                )
            )
            async with (
                app.router.lifespan_context(app),
                _nats(args.nats_url, Path(tmp) / "js") as nats_url,
            ):
                organisation = await Factory(app).organisation()
                database = "PostgreSQL" if args.pg else "SQLite"
                print(f"database: {database}; NATS: {nats_url}; MC samples {args.mc_samples}")
                for batch in (100, 500):
                    rate = await _relay_rate(app, organisation.id, nats_url, args.events, batch)
                    print(f"relay to JetStream, batch {batch}: {rate:,.0f} events/s")
                timings = await _uploads(app, args.uploads, warmup=10)
                p50 = {mode: statistics.median(values) for mode, values in timings.items()}
                for mode, values in timings.items():
                    p90 = statistics.quantiles(values, n=10)[-1]
                    n = len(values)
                    print(f"CDM upload {mode}: p50 {p50[mode]:.2f} ms, p90 {p90:.2f} ms, n={n}")
                added = p50["with emit"] / p50["without emit"] - 1
                print(f"with vs without emit, p50: {added:+.1%}")
                inside = p50["inside emit"] / p50["without emit"]
                print(f"time inside emit (p50) over the upload's p50 without it: {inside:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--uploads", type=int, default=160)
    # The upload's Monte Carlo Pc dominates its time; its minimum shows the emit cost better.
    parser.add_argument("--mc-samples", type=int, default=100_000)
    parser.add_argument("--pg", default=None)
    parser.add_argument("--nats-url", default=None)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
