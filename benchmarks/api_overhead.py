"""API overhead: authenticated GET /api/v1/spacecraft/{id}/status vs a bare FastAPI app.

Both apps run under the same uvicorn settings (one worker, uvloop, httptools, no access
log), one after the other in this one run, each driven by the same closed-loop client
from a separate process. On a machine with two or more cores the server is pinned to
CPU 0 and the client to CPU 1, so neither steals the other's core.

Our endpoint is measured as deployed: JWT bearer authentication, scope and organisation
checks, rate limiting, request id, security headers, unit of work, per-process caches at
their default settings (status and auth cache 1 s). It is also measured with both caches
off (every request verifies the token signature and reads the database) to show what
the caches buy.

    .venv/bin/python benchmarks/api_overhead.py [--seconds 15] [--connections 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BENCH_EMAIL = "bench-operator@example.org"
BENCH_PASSWORD = "quiet lunar tortoise 2026 xyz"  # noqa: S105 - throwaway local account
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(
    url: str, body: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URLs built here
        url,
        data=data,
        headers={
            "content-type": "application/json",
            **(headers or {}),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return bytes(response.read())


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            http(url)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become ready")


def cpu_prefix(cpu: int) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and Path("/usr/bin/taskset").exists():
        return ["/usr/bin/taskset", "-c", str(cpu)]
    return []


def start_server(
    target: str, port: int, env: dict[str, str], factory: bool
) -> subprocess.Popen[bytes]:
    args = [
        *cpu_prefix(0),
        str(BIN / "uvicorn"),
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if factory:
        args.append("--factory")
    return subprocess.Popen(args, env=env, cwd=REPO)


def drive(
    port: int, path: str, seconds: float, connections: int, headers: dict[str, str]
) -> dict[str, float]:
    code = (
        "import json, sys, uvloop; sys.path.insert(0, 'benchmarks');"
        "from loadgen import run_load;"
        f"r = uvloop.run(run_load('127.0.0.1', {port}, {path!r}, connections={connections},"
        f" seconds={seconds}, warmup_s=2.0, headers={headers!r}));"
        "print(json.dumps({'rps': r.rps, 'p50': r.percentile(50), 'p99': r.percentile(99),"
        " 'requests': r.requests, 'errors': r.errors}))"
    )
    out = subprocess.run(
        [*cpu_prefix(1), sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def prepare_database(env: dict[str, str]) -> str:
    """Demo data plus one operator of the ISS's organisation; returns the ISS's id."""
    subprocess.run(
        [str(BIN / "astroshield"), "db", "seed"], env=env, check=True, cwd=REPO, capture_output=True
    )
    subprocess.run(
        [
            str(BIN / "astroshield"),
            "user",
            "create",
            "--email",
            BENCH_EMAIL,
            "--organisation",
            "hsf-demo",
            "--role",
            "operator",
            "--password-stdin",
        ],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
        input=(BENCH_PASSWORD + "\n").encode(),
    )
    db_path = env["ASTROSHIELD_DATABASE_URL"].split("///", 1)[1]
    with sqlite3.connect(db_path) as connection:
        row = connection.execute("select id from spacecraft where name='ISS'").fetchone()
    return str(uuid.UUID(row[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.update(
            {
                "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
                "ASTROSHIELD_PROFILE": "dev",
                "ASTROSHIELD_LOG_LEVEL": "warning",
                # One client address and one user drive every request: the budgets must not be
                # what is measured.
                "ASTROSHIELD_RATE_LIMIT_CLIENT": "100000000/minute",
                "ASTROSHIELD_RATE_LIMIT_USER": "100000000/minute",
                "ASTROSHIELD_SESSION_COOKIE_SECURE": "false",
                # The seeding commands and the server share the generated dev keys.
                "ASTROSHIELD_LOCAL_KEYS_FILE": f"{tmp}/keys.json",
            }
        )
        spacecraft_id = prepare_database(env)
        status_path = f"/api/v1/spacecraft/{spacecraft_id}/status"
        uncached = {"ASTROSHIELD_STATUS_CACHE_TTL_S": "0", "ASTROSHIELD_AUTH_CACHE_TTL_S": "0"}
        targets = {
            "astroshield status": ("astroshield.app:create_app", True, status_path, {}),
            "bare hello-world": ("bare_app:app", False, "/hello", {}),
            "astroshield status, caches off": (
                "astroshield.app:create_app",
                True,
                status_path,
                uncached,
            ),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        with console.status("benchmarking") as status:
            for round_no in range(1, args.rounds + 1):
                for name, (target, factory, path, extra_env) in targets.items():
                    status.update(f"round {round_no}/{args.rounds}: {name}")
                    port = free_port()
                    server_env = dict(env, PYTHONPATH=str(REPO / "benchmarks"), **extra_env)
                    server = start_server(target, port, server_env, factory)
                    try:
                        base = f"http://127.0.0.1:{port}"
                        headers: dict[str, str] = {}
                        if factory:
                            wait_ready(base + "/livez")
                            token = json.loads(
                                http(
                                    base + "/api/v1/auth/token",
                                    {"email": BENCH_EMAIL, "password": BENCH_PASSWORD},
                                )
                            )["access_token"]
                            headers = {"Authorization": f"Bearer {token}"}
                            http(base + path, headers=headers)  # fails loudly if not 200
                        else:
                            wait_ready(base + path)
                        results[name].append(
                            drive(port, path, args.seconds, args.connections, headers)
                        )
                    finally:
                        server.terminate()
                        server.wait(timeout=30)

    def best(name: str) -> dict[str, float]:
        return max(results[name], key=lambda r: r["rps"])

    bare = best("bare hello-world")
    table = Table(
        title=f"API overhead (best of {args.rounds} rounds, {args.seconds:.0f} s each, "
        f"{args.connections} connections)"
    )
    for column in ("target", "req/s", "p50 ms", "p99 ms", "requests", "non-200", "vs bare"):
        table.add_column(column, justify="right")
    for name in targets:
        r = best(name)
        table.add_row(
            name,
            f"{r['rps']:.0f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{r['requests']:.0f}",
            f"{r['errors']:.0f}",
            f"{r['rps'] / bare['rps']:.1%}",
        )
    console.print(table)
    for name in targets:
        console.print(
            f"  {name} rounds (req/s): " + ", ".join(f"{r['rps']:.0f}" for r in results[name])
        )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    console.print(
        f"machine: {os.cpu_count()} cores, {cpu}; load average {load:.2f}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


if __name__ == "__main__":
    main()
