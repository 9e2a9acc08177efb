"""The deployment under load: ``astroshield serve``-like uvicorn processes on one scratch
PostgreSQL database and one Redis namespace, and Debian's nginx in front of them (with the
WebSocket upgrade the live-telemetry endpoint needs), all on loopback.

The processes are started with tests/support/servers.py (how an operator starts one
replica); the nginx configuration is tests/support/proxy.py's plus the upgrade headers.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.conftest import UNLIMITED
from tests.support.proxy import NGINX, nginx_config
from tests.support.replicas import REDIS_URL
from tests.support.servers import free_port, service_process, uvicorn_argv


@dataclass(frozen=True)
class Deployment:
    base: str  # what clients use: nginx, or the one replica itself
    replicas: list[subprocess.Popen[bytes]]
    replica_urls: list[str]
    nginx: subprocess.Popen[bytes] | None


def environment(database_url: str, folder: Path) -> dict[str, str]:
    """The replicas' settings: production defaults, except budgets no load step reaches
    (every client is 127.0.0.1) and tokens that outlive a run."""
    return {
        **os.environ,
        "ASTROSHIELD_PROFILE": "test",
        "ASTROSHIELD_DATABASE_URL": database_url,
        "ASTROSHIELD_MIGRATE_ON_START": "false",
        "ASTROSHIELD_REDIS_URL": REDIS_URL,
        "ASTROSHIELD_RATE_LIMIT_NAMESPACE": f"load-{secrets.token_hex(6)}",
        "ASTROSHIELD_RATE_LIMIT_CLIENT": UNLIMITED,
        "ASTROSHIELD_RATE_LIMIT_USER": UNLIMITED,
        "ASTROSHIELD_RATE_LIMIT_LOGIN": UNLIMITED,
        "ASTROSHIELD_ACCESS_TOKEN_TTL_S": "3600",
        "ASTROSHIELD_AUDIT_CHECKPOINT_FILE": str(folder / "audit-checkpoints.jsonl"),
        "ASTROSHIELD_LOG_LEVEL": "warning",
    }


def _wait_for(process: subprocess.Popen[bytes], base: str, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            raise RuntimeError(f"{what} exited: {err.decode(errors='replace')[-1000:]}")
        try:
            if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer /livez within {timeout_s:.0f} s")


@contextmanager
def nginx(
    prefix: Path, upstream_ports: Sequence[int]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    if not NGINX.exists():
        raise RuntimeError(f"{NGINX} is missing: `make system-packages` installs Debian's nginx")
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(prefix, port, upstream_ports))
    process = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(process, base, "nginx", 20)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def deployment(
    env: dict[str, str], replicas: int, folder: Path, *, proxy: bool = True
) -> Iterator[Deployment]:
    """``replicas`` processes, behind nginx when ``proxy`` (else the one replica itself)."""
    ports = [free_port() for _ in range(replicas)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    with ExitStack() as stack:
        processes = [
            stack.enter_context(service_process(uvicorn_argv(port), url, env))
            for port, url in zip(ports, urls, strict=True)
        ]
        if not proxy:
            yield Deployment(urls[0], processes, urls, None)
            return
        base, process = stack.enter_context(nginx(folder / "nginx", ports))
        yield Deployment(base, processes, urls, process)
