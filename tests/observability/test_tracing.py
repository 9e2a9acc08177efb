"""Tracing of the real app: W3C traceparent in, spans for the request, its SQL and its
outgoing httpx call, traceparent out, trace ids on log lines, nothing secret exported.

Spans are collected by the SDK's InMemorySpanExporter behind our redacting exporter. The
global tracer provider can be set once per process: this module installs it, and at the
end shuts its exporter so later tests stop collecting.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from tests.conftest import settings_for

from astroshield.api.deps import SessionDep
from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.observability.logging import configure_logging
from astroshield.observability.tracing import (
    span,
    tracing_active,
)

BIN = Path(sys.executable).parent
log = structlog.get_logger("tests.tracing")


class Receiver:
    """A real HTTP server on 127.0.0.1 that records the headers it is sent."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                received.bodies.append(self.rfile.read(length) if length else b"")
                received.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_without_a_provider_tracing_costs_nothing() -> None:
    if tracing_active():
        pytest.skip("a tracer provider was installed earlier in this process")
    with span("noop", attribute="x") as current:
        assert current is None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture(scope="module")
async def traced_app(
    database_url: str, exporter: InMemorySpanExporter, receiver: Receiver
) -> AsyncIterator[FastAPI]:
    # Built after the provider is installed, so its engine is instrumented.
    application = create_app(settings_for(database_url))

    @application.get("/_test/trace")
    async def traced(session: SessionDep) -> dict[str, Any]:
        one = (await session.execute(text("SELECT 1"))).scalar_one()
        async with httpx.AsyncClient() as client:
            answer = await client.get(receiver.url + "/hook")
        with span("test.business_step", object_name="ISS", email="ops@example.org"):
            log.info("traced_request_done", status=answer.status_code)
        return {"one": one, "status": answer.status_code}

    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(traced_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=traced_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_traceparent_is_continued_through_db_and_httpx_and_logs(
    client: httpx.AsyncClient,
    exporter: InMemorySpanExporter,
    receiver: Receiver,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exporter.clear()
    receiver.headers.clear()
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    configure_logging(Settings(profile="prod", secret_key="x" * 40))  # JSON lines
    capsys.readouterr()
    try:
        response = await client.get(
            "/_test/trace", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
        )
        output = capsys.readouterr().out
    finally:
        configure_logging(settings_for(database_url))
    assert response.status_code == 200, response.text
    assert response.json() == {"one": 1, "status": 200}

    spans = {s.context.span_id: s for s in exporter.get_finished_spans()}
    assert spans and all(format(s.context.trace_id, "032x") == trace_id for s in spans.values())

    (server,) = [s for s in spans.values() if s.kind is SpanKind.SERVER]
    assert server.name == "GET /_test/trace"
    assert server.parent is not None and server.parent.is_remote
    assert format(server.parent.span_id, "016x") == parent_id

    db_spans = [
        s
        for s in spans.values()
        if s.kind is SpanKind.CLIENT
        and s.attributes
        and ("db.system" in s.attributes or "db.system.name" in s.attributes)
    ]
    http_spans = [
        s
        for s in spans.values()
        if s.kind is SpanKind.CLIENT
        and s.attributes
        and str(receiver.url) in str(dict(s.attributes))
    ]
    assert db_spans and len(http_spans) == 1
    # Children of the request span.
    for child in [*db_spans, *http_spans]:
        assert child.parent is not None, child.name
        assert child.parent.span_id == server.context.span_id, child.name
    (outgoing,) = http_spans

    # The receiver saw the same trace, with the httpx span as its parent.
    (hook,) = receiver.headers
    assert hook["traceparent"] == f"00-{trace_id}-{outgoing.context.span_id:016x}-01"

    (business,) = [s for s in spans.values() if s.name == "test.business_step"]
    assert business.parent is not None
    assert business.parent.span_id == server.context.span_id
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (line,) = [entry for entry in lines if entry.get("event") == "traced_request_done"]
    assert line["trace_id"] == trace_id
    assert line["span_id"] == f"{business.context.span_id:016x}"


async def test_no_secret_reaches_an_exported_span(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    jwt_like = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLXNpZw"
    query_secret = "q-secret-" + secrets.token_hex(8)
    response = await client.get(
        f"/_test/trace?access_token={query_secret}&page=2",
        headers={"Authorization": f"Bearer {jwt_like}", "Cookie": "astroshield_session=abc123"},
    )
    assert response.status_code == 200
    exported = exporter.get_finished_spans()
    assert exported
    dump = repr(
        [
            (s.name, dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events])
            for s in exported
        ]
    )
    for secret in (jwt_like, query_secret, "abc123", "ops@example.org"):
        assert secret not in dump
    (server,) = [s for s in exported if s.kind is SpanKind.SERVER]
    assert server.attributes is not None
    assert server.attributes["url.query"] == "access_token=%5BREDACTED%5D&page=2"
    (business,) = [s for s in exported if s.name == "test.business_step"]
    assert business.attributes is not None
    assert business.attributes["email"] == "[REDACTED]"
    assert business.attributes["object_name"] == "ISS"


async def test_probes_and_metrics_are_not_traced(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    for path in ("/livez", "/metrics"):
        assert (await client.get(path)).status_code == 200
    assert not [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


def test_span_helper_decorates_sync_and_async_functions(exporter: InMemorySpanExporter) -> None:
    import asyncio

    exporter.clear()

    @span("test.sync_step", n=3)
    def double(x: int) -> int:
        return 2 * x

    @span("test.async_step")
    async def triple(x: int) -> int:
        with span("test.inner"):
            await asyncio.sleep(0)
        return 3 * x

    assert double(2) == 4
    assert asyncio.run(triple(2)) == 6
    finished = {s.name: s for s in exporter.get_finished_spans()}
    assert finished["test.sync_step"].attributes == {"n": 3}
    inner, outer = finished["test.inner"], finished["test.async_step"]
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id


@pytest.mark.slow
def test_otlp_exporter_sends_spans_to_the_configured_endpoint(tmp_path: Path) -> None:
    """The production path, in its own process: ASTROSHIELD_OTLP_ENDPOINT set, spans
    exported over OTLP/HTTP protobuf to a collector stand-in."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTROSHIELD_", "OTEL_"))}
    trace_id = secrets.token_hex(16)
    with Receiver() as collector:
        env.update(
            {
                "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/otlp.db",
                "ASTROSHIELD_OTLP_ENDPOINT": collector.url,
                "ASTROSHIELD_TRACE_SAMPLE_RATIO": "0",  # the caller's decision still wins
                "ASTROSHIELD_LOG_LEVEL": "warning",
            }
        )
        code = (
            "import asyncio, httpx\n"
            "from astroshield.app import create_app\n"
            "async def main():\n"
            "    app = create_app()\n"
            "    async with app.router.lifespan_context(app):\n"
            "        t = httpx.ASGITransport(app=app)\n"
            "        async with httpx.AsyncClient(transport=t, base_url='http://t') as c:\n"
            f"            r = await c.get('/api/v1/health', headers={{'traceparent': "
            f"'00-{trace_id}-00f067aa0ba902b7-01'}})\n"
            "            assert r.status_code == 200, r.text\n"
            "            await c.get('/api/v1/health')  # not sampled: ratio 0\n"
            "asyncio.run(main())\n"
        )
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True, timeout=120)
        assert time.monotonic() - started < 120
        posts = list(zip(collector.headers, collector.bodies, strict=True))
    assert posts, "nothing was exported"
    exported: list[tuple[str, str]] = []
    for headers, body in posts:
        assert headers["content-type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}[
                "service.name"
            ]
            assert service == "astroshield"
            for scope_spans in resource_spans.scope_spans:
                exported += [(s.trace_id.hex(), s.name) for s in scope_spans.spans]
    assert exported
    assert {trace for trace, _ in exported} == {trace_id}
    assert "GET /api/v1/health" in {name for _, name in exported}
