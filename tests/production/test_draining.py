"""SIGTERM drains before stopping: /readyz turns 503 at once while the process keeps
serving for the drain period, then it exits; a second SIGTERM does not wait."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.databases import is_postgres
from tests.support.servers import free_port, service_env, service_process, uvicorn_argv

DRAIN_S = 3.0


@pytest.fixture(autouse=True)
def _once_per_run(base_database_url: str) -> None:
    """The service runs on its own SQLite file whatever the run's database: once is enough."""
    if is_postgres(base_database_url):
        pytest.skip("the SQLite pass runs the drain tests")


def _environment(database: Path) -> dict[str, str]:
    return service_env(
        f"sqlite+aiosqlite:///{database}",
        ASTROSHIELD_MIGRATE_ON_START="true",
        ASTROSHIELD_SHUTDOWN_DRAIN_S=str(DRAIN_S),
    )


def _exit_within(process: subprocess.Popen[bytes], seconds: float) -> float:
    started = time.monotonic()
    process.wait(timeout=seconds)
    return time.monotonic() - started


def test_sigterm_turns_readiness_off_and_keeps_serving_through_the_drain(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with service_process(uvicorn_argv(port), base, _environment(tmp_path / "a.db")) as server:
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        assert "draining" in ready.json()["detail"]
        assert "retry-after" in ready.headers
        # Still alive and serving requests while the load balancer moves away.
        assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        assert httpx.get(f"{base}/api/v1/events/schemas", timeout=5).status_code == 200
        assert server.poll() is None
        server.wait(timeout=DRAIN_S + 15)
        assert time.monotonic() - signalled >= DRAIN_S
        # uvicorn re-raises the signal it handled once its shutdown is done.
        assert server.returncode in (0, -signal.SIGTERM)


def test_a_second_sigterm_stops_without_waiting_for_the_drain(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = _environment(tmp_path / "b.db") | {"ASTROSHIELD_SHUTDOWN_DRAIN_S": "60"}
    with service_process(uvicorn_argv(port), base, environment) as server:
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 503
        server.send_signal(signal.SIGTERM)
        assert _exit_within(server, 20) < 20
