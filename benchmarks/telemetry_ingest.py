"""Telemetry ingest into PostgreSQL: HTTP batches vs a raw COPY, and a 500-bucket query.

1. The service (uvicorn, one worker, pinned to CPU 0 as in ``api_overhead.py``) receives
   batches of 10,000 samples over HTTP from a load generator pinned to CPU 1 (a few
   keep-alive connections, each batch a distinct source sequence): samples/s.
2. The same records go into the same table with asyncpg ``copy_records_to_table`` from
   the same number of connections, one transaction per batch: the reference for the HTTP
   path, which on top of a COPY parses, validates and stores the batch row (its COPY
   payload is encoded from numpy arrays, cheaper than asyncpg's per-record encoding).
3. One day of 1 Hz samples (86,400) of one parameter, then ``GET .../samples?count=500``
   over that day via HTTP: median of 20 requests.

Rates depend on what else the (shared) machine runs, so the CPU time per batch is printed
too: the server process's for 1, this process's (asyncpg encoding) for 2. PostgreSQL's own
work is in neither.

Everything runs in a scratch database that is created and dropped here.

    .venv/bin/python benchmarks/telemetry_ingest.py \
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--batches 60] [--connections 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from rich.console import Console
from sqlalchemy.engine import make_url

from api_overhead import cpu_prefix, free_port, start_server, wait_ready

REPO = Path(__file__).resolve().parents[1]
BATCH_SAMPLES = 10_000
PARAMETERS = 20
DAY_S = 86_400
console = Console()


def _asyncpg_kwargs(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "host": parsed.host,
        "port": parsed.port or 5432,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }


def batch_body(batch: int, start: datetime, source: str = "bench") -> bytes:
    """Batch ``batch``: PARAMETERS parameters x 500 consecutive seconds, its own time span."""
    steps = BATCH_SAMPLES // PARAMETERS
    first = start + timedelta(seconds=batch * steps)
    samples = [
        {
            "parameter": f"p{p:02d}",
            "time": (first + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "value": 20.0 + p + ((s * 7919 + batch) % 1000) / 1000.0,
        }
        for s in range(steps)
        for p in range(PARAMETERS)
    ]
    return orjson.dumps({"source_id": source, "sequence": batch, "samples": samples})


# -- load generator (a subprocess on CPU 1) ----------------------------------------------


async def _post_all(
    port: int, path: str, token: str, bodies: list[bytes], connections: int
) -> tuple[float, int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    failures = 0

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                writer.write(head + body)
                response = await reader.readuntil(b"\r\n\r\n")
                status = int(response[9:12])
                length = next(
                    int(line[15:])
                    for line in response.split(b"\r\n")
                    if line[:15].lower() == b"content-length:"
                )
                answer = await reader.readexactly(length)
                if status != 201:
                    failures += 1
                    sequence = orjson.loads(body)["sequence"]
                    print(f"batch {sequence} refused: {status} {answer[:300]!r}", file=sys.stderr)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - started, failures


def load_generator_main(spec: dict[str, Any]) -> None:
    start = datetime.fromisoformat(spec["start"])
    bodies = [batch_body(b, start, spec["source"]) for b in range(spec["batches"])]
    largest = max(len(b) for b in bodies)
    elapsed, failures = asyncio.run(
        _post_all(spec["port"], spec["path"], spec["token"], bodies, spec["connections"])
    )
    print(json.dumps({"seconds": elapsed, "failures": failures, "largest_body": largest}))


# -- the benchmark ------------------------------------------------------------------------


async def _prepare(url: str, env: dict[str, str]) -> tuple[str, str, list[int]]:
    """Schema, an operator, a spacecraft with PARAMETERS parameters; returns
    (spacecraft id, access token, parameter ids)."""
    from astroshield.config import Settings
    from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
    from astroshield.migrate import upgrade_async
    from astroshield.organisations.models import Organisation
    from astroshield.security import passwords, pii
    from astroshield.security.context import build_security
    from astroshield.security.scopes import scopes_for
    from astroshield.spacecraft.models import Spacecraft
    from astroshield.telemetry.models import TelemetryParameter
    from astroshield.users.models import User
    from astroshield.users.service import seal

    settings = Settings(
        database_url=url,
        profile=env["ASTROSHIELD_PROFILE"],  # type: ignore[arg-type]
        local_keys_file=Path(env["ASTROSHIELD_LOCAL_KEYS_FILE"]),
    )
    await upgrade_async(settings)
    security = build_security(settings)
    engine = create_unpooled_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            organisation = Organisation(name="Bench", slug=f"bench-{secrets.token_hex(3)}")
            session.add(organisation)
            await session.flush()
            spacecraft = Spacecraft(organisation_id=organisation.id, name="BENCH-1")
            email = "bench-telemetry@example.org"
            user = User(
                id=uuid.uuid4(),
                organisation_id=organisation.id,
                role="operator",
                is_active=True,
                is_platform_admin=False,
                email_index=pii.blind_index(email, key=security.email_index_key),
                password_hash=passwords.hash_password(secrets.token_urlsafe(16)),
                created_at=datetime.now(UTC),
            )
            seal(user, "email", email, security.pii_keys)
            session.add_all([spacecraft, user])
            await session.flush()
            parameters = [
                TelemetryParameter(spacecraft_id=spacecraft.id, name=f"p{p:02d}", type="float")
                for p in range(PARAMETERS)
            ]
            session.add_all(parameters)
            await session.flush()
            parameter_ids = [p.id for p in parameters]
            spacecraft_id = str(spacecraft.id)
            token, _ = security.tokens.issue(
                "access",
                subject=str(user.id),
                organisation_id=str(organisation.id),
                role="operator",
                scopes=sorted(scopes_for("operator")),
                family_id=str(uuid.uuid4()),
            )
    finally:
        await engine.dispose()
    return spacecraft_id, token, parameter_ids


def _records(batch: int, start: datetime, ids: list[int]) -> list[tuple[int, datetime, float]]:
    """The records batch_body(batch) stores (same ids, times and values)."""
    body = orjson.loads(batch_body(batch, start))
    index = {f"p{p:02d}": ids[p] for p in range(PARAMETERS)}
    return [
        (index[s["parameter"]], datetime.fromisoformat(s["time"]), s["value"])
        for s in body["samples"]
    ]


async def _raw_copy(
    url: str, batches: list[list[tuple[int, datetime, float]]], conns: int
) -> float:
    connections = [await asyncpg.connect(**_asyncpg_kwargs(url)) for _ in range(conns)]
    queue: asyncio.Queue[list[tuple[int, datetime, float]]] = asyncio.Queue()
    for records in batches:
        queue.put_nowait(records)

    async def worker(connection: Any) -> None:
        while not queue.empty():
            records = queue.get_nowait()
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "telemetry_samples", records=records, columns=("parameter_id", "time", "value")
                )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        return time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()


async def _admin(base_url: str, statement: str) -> None:
    connection = await asyncpg.connect(**_asyncpg_kwargs(base_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _execute(url: str, statement: str) -> None:
    await _admin(url, statement)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get_ms(url: str, token: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        body = response.read()
    elapsed = (time.perf_counter() - started) * 1000.0
    buckets = json.loads(body)["buckets"]
    if len(buckets) != 500 or sum(b["count"] for b in buckets) != DAY_S:
        raise RuntimeError("the bucket query returned an unexpected answer")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--load-generator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        load_generator_main(json.loads(args.load_generator))
        return

    name = f"astroshield_bench_{secrets.token_hex(4)}"
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(args.pg, f'CREATE DATABASE "{name}"'))
    keys_dir = tempfile.mkdtemp(prefix="astroshield-bench-keys-")
    env = dict(os.environ)
    env.update(
        {
            # The tokens minted here and the server share the generated dev keys.
            "ASTROSHIELD_LOCAL_KEYS_FILE": f"{keys_dir}/keys.json",
            "ASTROSHIELD_DATABASE_URL": url,
            "ASTROSHIELD_PROFILE": "dev",
            "ASTROSHIELD_LOG_LEVEL": "warning",
            "ASTROSHIELD_MIGRATE_ON_START": "false",
            "ASTROSHIELD_RATE_LIMIT_CLIENT": "100000000/minute",
            "ASTROSHIELD_RATE_LIMIT_USER": "100000000/minute",
            "ASTROSHIELD_ALERT_EVALUATION_INTERVAL_S": "0",
        }
    )
    server = None
    try:
        spacecraft_id, token, ids = asyncio.run(_prepare(url, env))
        start = datetime(2026, 11, 1, tzinfo=UTC)
        total = args.batches * BATCH_SAMPLES

        port = free_port()
        server = start_server("astroshield.app:create_app", port, env, True)
        wait_ready(f"http://127.0.0.1:{port}/livez")
        path = f"/api/v1/spacecraft/{spacecraft_id}/telemetry"
        with console.status("HTTP ingest"):
            # Warm-up batch (imports, prepared statements), a time range of its own.
            spec = {
                "port": port,
                "path": path,
                "token": token,
                "connections": 1,
                "source": "warm-up",
            }
            warm = {**spec, "start": (start - timedelta(days=30)).isoformat(), "batches": 1}
            subprocess.run(
                [*cpu_prefix(1), sys.executable, __file__, "--load-generator", json.dumps(warm)],
                check=True,
                capture_output=True,
                cwd=REPO,
            )
            server_cpu_before = _cpu_seconds(server.pid)
            spec.update(
                {
                    "connections": args.connections,
                    "start": start.isoformat(),
                    "batches": args.batches,
                    "source": "bench",
                }
            )
            out = subprocess.run(
                [*cpu_prefix(1), sys.executable, __file__, "--load-generator", json.dumps(spec)],
                check=True,
                capture_output=True,
                text=True,
                cwd=REPO,
            )
        server_cpu_ms = (_cpu_seconds(server.pid) - server_cpu_before) * 1000 / args.batches
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["failures"]:
            raise RuntimeError(f"{result['failures']} batches failed:\n{out.stderr[-2000:]}")
        http_rate = total / result["seconds"]

        with console.status("raw COPY"):
            batches = [_records(b, start, ids) for b in range(args.batches)]
            asyncio.run(_execute(url, "TRUNCATE telemetry_samples, telemetry_batches"))
            copy_cpu_before = time.process_time()
            copy_seconds = asyncio.run(_raw_copy(url, batches, args.connections))
            copy_cpu_ms = (time.process_time() - copy_cpu_before) * 1000 / args.batches
        copy_rate = total / copy_seconds

        with console.status("500-bucket query"):
            day = [
                (ids[0], start + timedelta(seconds=s), 28.0 + (s % 977) / 977.0)
                for s in range(DAY_S)
            ]
            asyncio.run(_execute(url, "TRUNCATE telemetry_samples, telemetry_batches"))
            asyncio.run(_raw_copy(url, [day], 1))
            asyncio.run(_execute(url, "VACUUM ANALYZE telemetry_samples"))
            stop = start + timedelta(days=1)
            query = (
                f"http://127.0.0.1:{port}{path}/p00/samples?count=500"
                f"&start={start:%Y-%m-%dT%H:%M:%SZ}&stop={stop:%Y-%m-%dT%H:%M:%SZ}"
            )
            for _ in range(3):
                _get_ms(query, token)
            timings = [_get_ms(query, token) for _ in range(20)]

        console.print(
            f"HTTP ingest: {total:,} samples in {args.batches} batches of {BATCH_SAMPLES:,} "
            f"({result['largest_body'] / 1024:.0f} KiB bodies), {args.connections} connections: "
            f"{result['seconds']:.2f} s = {http_rate:,.0f} samples/s"
        )
        console.print(
            f"raw asyncpg COPY, same records, {args.connections} connections: "
            f"{copy_seconds:.2f} s = {copy_rate:,.0f} samples/s"
        )
        console.print(f"HTTP / raw COPY: {http_rate / copy_rate:.1%}")
        console.print(
            f"CPU per batch: server (parse, validate, COPY, HTTP) {server_cpu_ms:.1f} ms; "
            f"raw COPY client {copy_cpu_ms:.1f} ms"
        )
        console.print(
            f"500-bucket query over one day at 1 Hz (86,400 samples), HTTP: median "
            f"{statistics.median(timings):.1f} ms (min {min(timings):.1f}, max {max(timings):.1f})"
        )
        console.print(
            f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        asyncio.run(_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(keys_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
