"""The app behind a real HTTP server (uvicorn on a free loopback port), for what the
in-process transport cannot show: streaming, connections kept or dropped; and the service
as a separate process, as an operator starts it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import UNLIMITED

REPO_ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Yield the base URL of ``app`` served by uvicorn (lifespan included) until exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):  # bounded: 10 s
            if server.started:
                break
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.05)  # uvicorn exposes a flag, not an event
        assert server.started, "uvicorn did not start within 10 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a service process for the tests: no schedules, no limits;
    ``extra`` (``ASTROSHIELD_...`` names) adds or overrides."""
    return {
        **os.environ,
        "ASTROSHIELD_PROFILE": "test",
        "ASTROSHIELD_DATABASE_URL": database_url,
        "ASTROSHIELD_MIGRATE_ON_START": "false",
        "ASTROSHIELD_RATE_LIMIT_CLIENT": UNLIMITED,
        "ASTROSHIELD_RATE_LIMIT_USER": UNLIMITED,
        "ASTROSHIELD_ALERT_EVALUATION_INTERVAL_S": "0",
        "ASTROSHIELD_RUNTIME_CONFIG_REFRESH_S": "0",
        "ASTROSHIELD_AUDIT_CHECKPOINT_INTERVAL_S": "0",
        "ASTROSHIELD_OUTBOX_RELAY_INTERVAL_S": "0",
        "ASTROSHIELD_LOG_LEVEL": "warning",
        **extra,
    }


def uvicorn_argv(port: int, *options: str) -> list[str]:
    """How an operator starts the service: uvicorn with the app factory on loopback."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "astroshield.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *options,
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def service_process(
    argv: list[str], base: str, env: dict[str, str], *, start_timeout_s: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """The service as a real process started with ``argv``, once ``{base}/livez`` answers;
    terminated (SIGTERM, as Ctrl-C would) on exit. A process that dies or never answers
    fails the test with the end of its stderr."""
    server = subprocess.Popen(
        argv, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            server.kill()
            _, err = server.communicate(timeout=10)
            pytest.fail(f"the service did not start:\n{err.decode(errors='replace')[-2000:]}")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
