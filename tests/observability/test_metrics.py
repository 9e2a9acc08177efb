"""Prometheus metrics of the real app, read back through ``/metrics`` with the Prometheus
text parser. Metrics are process-wide, so every check compares a scrape before and after.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from tests.conftest import Factory, settings_for

from astroshield.api.deps import SessionDep
from astroshield.app import create_app
from astroshield.observability.metrics import LATENCY_BUCKETS, UNMATCHED_ROUTE

BIN = Path(sys.executable).parent
REQUESTS = "astroshield_http_requests_total"
LATENCY = "astroshield_http_request_duration_seconds"
ERRORS = "astroshield_http_errors_total"
METRICS_TOKEN = "scrape-token-for-tests-0123456789"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def add_test_routes(app: FastAPI) -> None:
    @app.get("/_test/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/_test/boom")
    async def boom() -> None:
        raise RuntimeError("handler failed on purpose")

    @app.get("/_test/unavailable")
    async def unavailable() -> Response:
        return Response(status_code=503)

    @app.get("/_test/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.3)
        return {"status": "slept"}

    @app.get("/_test/db")
    async def db(session: SessionDep) -> dict[str, int]:
        return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


@pytest.fixture(scope="module")
async def metrics_app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(database_url))
    add_test_routes(application)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(metrics_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=metrics_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_counter_and_histogram_move_with_the_route_template(
    http: httpx.AsyncClient,
) -> None:
    labels = {"method": "GET", "route": "/_test/items/{item_id}", "status": "2xx"}
    before = await scrape(http)
    for item_id in (41, 42, 43):
        assert (await http.get(f"/_test/items/{item_id}")).status_code == 200
    response = await http.get("/metrics")
    after = parse(response.text)

    assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == 3
    assert (
        value(after, LATENCY + "_count", **labels) - value(before, LATENCY + "_count", **labels)
        == 3
    )
    assert value(after, LATENCY + "_sum", **labels) > value(before, LATENCY + "_sum", **labels)
    # The raw ids never become label values (unbounded cardinality).
    assert "/_test/items/42" not in response.text


async def test_included_router_prefix_is_part_of_the_template(
    http: httpx.AsyncClient, metrics_app: FastAPI
) -> None:
    # /api/v1 comes from include_router; FastAPI's scope["route"] alone would lose it.
    path = "/api/v1/spacecraft/3f2b6a2e-0000-4000-8000-000000000000/status"
    labels = {"method": "GET", "route": "/api/v1/spacecraft/{spacecraft_id}/status"}
    before = await scrape(http)
    response = await http.get(path)  # no token: refused by the route's dependency
    assert response.status_code == 401
    after = await scrape(http)
    assert (
        value(after, REQUESTS, **labels, status="4xx")
        - value(before, REQUESTS, **labels, status="4xx")
        == 1
    )


async def test_client_errors_are_counted_under_their_labels(http: httpx.AsyncClient) -> None:
    before = await scrape(http)
    assert (await http.get("/no/such/path/12345")).status_code == 404
    assert (await http.get("/_test/items/not-a-number")).status_code == 422
    # Refused by the request guard before any routing: counted, route unknown.
    refused = await http.post(
        "/api/v1/auth/token", content=b"x=1", headers={"content-type": "text/plain"}
    )
    assert refused.status_code == 415
    after = await scrape(http)

    def delta(**labels: str) -> float:
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert delta(method="GET", route=UNMATCHED_ROUTE, status="4xx") == 1
    assert delta(method="GET", route="/_test/items/{item_id}", status="4xx") == 1
    assert delta(method="POST", route=UNMATCHED_ROUTE, status="4xx") == 1
    assert "/no/such/path" not in (await http.get("/metrics")).text
    # 4xx are the client's errors, not ours.
    assert sum(v for (n, _), v in after.items() if n == ERRORS) == sum(
        v for (n, _), v in before.items() if n == ERRORS
    )


async def test_server_errors_and_exceptions_are_counted(http: httpx.AsyncClient) -> None:
    before = await scrape(http)
    assert (await http.get("/_test/boom")).status_code == 500
    assert (await http.get("/_test/unavailable")).status_code == 503
    after = await scrape(http)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(REQUESTS, method="GET", route="/_test/boom", status="5xx") == 1
    assert delta(ERRORS, method="GET", route="/_test/boom", kind="exception") == 1
    assert delta(REQUESTS, method="GET", route="/_test/unavailable", status="5xx") == 1
    assert delta(ERRORS, method="GET", route="/_test/unavailable", kind="status") == 1


async def test_slow_handler_lands_in_its_latency_bucket(http: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "/_test/slow", "status": "2xx"}
    before = await scrape(http)
    assert (await http.get("/_test/slow")).status_code == 200
    after = await scrape(http)

    def delta(name: str, **extra: str) -> float:
        return value(after, name, **labels, **extra) - value(before, name, **labels, **extra)

    observed = delta(LATENCY + "_sum")
    assert observed >= 0.3  # the handler sleeps 0.3 s
    # Cumulative buckets: 0 below the observed time, 1 from the first bound above it.
    for bound in LATENCY_BUCKETS:
        assert delta(LATENCY + "_bucket", le=str(bound)) == (1 if observed <= bound else 0)
    assert delta(LATENCY + "_bucket", le="+Inf") == 1
    assert delta(LATENCY + "_bucket", le="0.25") == 0
    # On an unloaded machine that is the 0.5 s bucket.
    if observed < 0.5:
        assert delta(LATENCY + "_bucket", le="0.5") == 1


async def test_in_flight_gauge_counts_requests_in_progress(http: httpx.AsyncClient) -> None:
    slow = asyncio.create_task(http.get("/_test/slow"))
    await asyncio.sleep(0.1)
    during = await scrape(http)
    await slow
    after = await scrape(http)
    # The slow request and the scrape itself.
    assert value(during, "astroshield_http_requests_in_flight") >= 2
    assert value(after, "astroshield_http_requests_in_flight") == 1


async def test_database_pool_and_query_metrics(http: httpx.AsyncClient) -> None:
    before = await scrape(http)
    assert (await http.get("/_test/db")).json() == {"one": 1}
    after = await scrape(http)
    name = "astroshield_db_query_duration_seconds_count"
    assert value(after, name, operation="select") > value(before, name, operation="select")
    for gauge in (
        "astroshield_db_pool_checked_out_connections",
        "astroshield_db_pool_size",
        "astroshield_db_pool_overflow_connections",
    ):
        assert gauge in names(after)
    assert value(after, "astroshield_db_pool_size") >= 1


async def test_process_build_and_runtime_metrics_are_exposed(http: httpx.AsyncClient) -> None:
    # The domain counters are read after real work in test_domain_metrics.py.
    samples = await scrape(http)
    present = names(samples)
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "astroshield_event_loop_lag_seconds",
    ):
        assert name in present, name
    build = [labels for (name, labels) in samples if name == "astroshield_build_info"]
    assert build and {"version", "python"} <= {key for key, _ in build[0]}


async def test_metrics_needs_no_user_and_has_a_budget_of_its_own(database_url: str) -> None:
    # Scrapes neither draw on the API budget nor go unthrottled.
    application = create_app(
        settings_for(database_url, rate_limit_client="2/minute", rate_limit_metrics="4/minute")
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for _ in range(4):
                assert (await client.get("/metrics")).status_code == 200
            refused = await client.get("/metrics")
            assert refused.status_code == 429 and "retry-after" in refused.headers
            assert (await client.get("/api/v1/health")).status_code == 200
    assert "/metrics" not in application.openapi()["paths"]


async def test_metrics_token_protects_the_endpoint(database_url: str, factory: Factory) -> None:
    application = create_app(settings_for(database_url, metrics_token=METRICS_TOKEN))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            missing = await client.get("/metrics")
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"].startswith("Bearer")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            # A user's JWT is not the scrape token.
            user = await client.get("/metrics", headers=await factory.login(role="admin"))
            assert user.status_code == 401
            assert "astroshield_http_requests_total" not in user.text
            ok = await scrape(client, Authorization=f"Bearer {METRICS_TOKEN}")
            assert "astroshield_http_requests_total" in names(ok)


async def test_metrics_can_be_turned_off(database_url: str) -> None:
    application = create_app(settings_for(database_url, metrics_enabled=False))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/metrics")).status_code == 404
    [edge] = [m for m in application.user_middleware if m.cls.__name__ == "EdgeMiddleware"]
    assert edge.kwargs["metrics"] is None


# --- Two uvicorn workers -----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_two_workers_report_every_request(tmp_path: Path) -> None:
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env: dict[str, Any] = {
        key: value for key, value in os.environ.items() if not key.startswith("ASTROSHIELD_")
    }
    env.update(
        {
            "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/workers.db",
            "ASTROSHIELD_PROFILE": "dev",
            "ASTROSHIELD_MIGRATE_ON_START": "false",
            "ASTROSHIELD_LOG_LEVEL": "warning",
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        }
    )
    subprocess.run(
        [str(BIN / "astroshield"), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "astroshield.app:create_app",
            "--factory",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if _get(base + "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        # Both workers should be up before the requests are sent: give the second one
        # the time its import takes (the counts below hold either way).
        time.sleep(2.0)

        n = 60
        for _ in range(n):  # a new connection each time: the workers share them out
            assert _get(base + "/livez")[0] == 200
        labels = {"method": "GET", "route": "/livez", "status": "2xx"}
        # Whichever worker answers the scrape reports the sum of both.
        for _ in range(4):
            status, body = _get(base + "/metrics")
            assert status == 200
            samples = parse(body)
            assert value(samples, REQUESTS, **labels) == n
            assert value(samples, LATENCY + "_count", **labels) == n
        # Two worker processes wrote metric files (each creates its own at start-up).
        pids = {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob("counter_*.db")}
        assert len(pids) == 2, pids
        # Process figures cannot be summed by the library: one series per worker.
        memory = {
            dict(labels)["pid"]: v
            for (name, labels), v in samples.items()
            if name == "astroshield_worker_resident_memory_bytes"
        }
        assert set(memory) == pids
        assert all(v > 0 for v in memory.values())
        assert "process_resident_memory_bytes" not in names(samples)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
