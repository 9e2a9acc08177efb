"""A small closed-loop HTTP/1.1 load generator (keep-alive, fixed concurrency).

Written on raw asyncio streams so that the client costs far less CPU per request than the
server under test; each connection sends its next request when the previous answer is in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return (
            float(np.percentile(self.latencies_ms, q)) if self.latencies_ms.size else float("nan")
        )


async def _connection(
    host: str,
    port: int,
    path: str,
    stop_at: float,
    warmup_until: float,
    samples: list[float],
    errors: list[int],
    headers: dict[str, str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()

    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            finished = time.perf_counter()
            if started >= warmup_until:
                if status != 200:
                    errors.append(status)
                samples.append((finished - started) * 1000.0)
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    path: str,
    *,
    connections: int,
    seconds: float,
    warmup_s: float,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    samples: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    warmup_until = start + warmup_s
    stop_at = warmup_until + seconds
    await asyncio.gather(
        *(
            _connection(host, port, path, stop_at, warmup_until, samples, errors, headers or {})
            for _ in range(connections)
        )
    )
    measured = time.perf_counter() - warmup_until
    return LoadResult(len(samples), len(errors), measured, np.asarray(samples))
