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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import UNLIMITED
from tests.support.proxy import running_nginx
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
        port = free_port()
        process = stack.enter_context(running_nginx(folder / "nginx", port, ports))
        yield Deployment(f"http://127.0.0.1:{port}", processes, urls, process)
