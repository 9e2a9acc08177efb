"""Debian's nginx in front of replicas, as an operator deploys them: a config of our own in
the test's folder, the master process in the foreground, stopped when the test ends."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

NGINX = Path("/usr/sbin/nginx")

_CONFIG = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    upstream astroshield {{
{servers}
        keepalive 64;
        # Below uvicorn's 5 s keep-alive: nginx must never reuse a connection the replica
        # is closing (a POST on it is answered 502 and not retried; the load test saw it).
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://astroshield;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def nginx_config(prefix: Path, port: int, upstream_ports: Sequence[int]) -> str:
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstream_ports
    )
    # As root the workers would otherwise run as nobody, who cannot write the test's folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return _CONFIG.format(user=user, prefix=prefix, servers=servers, port=port)


@contextmanager
def running_nginx(
    prefix: Path, port: int, upstream_ports: Sequence[int]
) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's nginx on ``port`` in front of ``upstream_ports``, yielded once it answers
    ``/livez`` through an upstream; RuntimeError if it cannot start or never answers."""
    if not NGINX.exists():
        raise RuntimeError(f"{NGINX} is missing: `make system-packages` installs Debian's nginx")
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(prefix, port, upstream_ports))
    process = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(f"nginx did not start: {err.decode(errors='replace')[-1000:]}")
            try:
                if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not answer /livez within 20 s")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def nginx(prefix: Path, port: int, upstream_ports: Sequence[int]) -> Iterator[str]:
    """Yield the proxy's base URL once it answers ``/livez`` through an upstream."""
    if not NGINX.exists():
        message = f"{NGINX} is missing: `make test` installs Debian's nginx"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with ExitStack() as stack:
        try:
            stack.enter_context(running_nginx(prefix, port, upstream_ports))
        except RuntimeError as error:
            pytest.fail(str(error))
        yield f"http://127.0.0.1:{port}"
