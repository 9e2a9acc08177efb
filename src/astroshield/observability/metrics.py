"""Prometheus metrics: the one registry of metric names, the HTTP middleware, database and
event-loop instruments, and the ``/metrics`` exposition.

Every metric is defined here or in ``domain_metrics.py`` (the counters of the domains'
work), once per process (tests build many apps in one process; a second definition of a
name would be refused by the registry). Domains import those instead of defining their
own, so names and labels stay consistent.

Multiprocess mode (``uvicorn --workers N``): when ``PROMETHEUS_MULTIPROC_DIR`` is set
before the process starts, values live in per-process files in that directory and
``/metrics`` aggregates them, whichever worker answers the scrape. The directory must be
emptied before the server starts (stale files of an earlier run would be added in).
The library's process collector cannot aggregate across processes, so in that mode
``process_*`` is replaced by ``astroshield_worker_*`` gauges with one series per worker
(``pid`` label), sampled by the runtime loop.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import os
import platform
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.process_collector import ProcessCollector
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from astroshield import __version__
from astroshield.errors import problem_response

if TYPE_CHECKING:
    from astroshield.config import Settings

log = structlog.get_logger(__name__)

# The ``*_created`` series double the number of series and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in the library

UNMATCHED_ROUTE: Final = "<unmatched>"
# Requests that ended before any response (the client went away, the task was cancelled).
NO_RESPONSE: Final = "none"
_STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")
# Arbitrary methods would let a client mint label values; anything else becomes OTHER.
_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)
# Our API answers in milliseconds; the default buckets are too coarse below 5 ms.
LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
DB_LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
LOOP_INTERVAL_S: Final = 1.0


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# --- HTTP ------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "astroshield_http_requests_total",
    "HTTP requests answered, by method, route template and status class.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "astroshield_http_request_duration_seconds",
    "Time from the request reaching the application to the end of its response.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "astroshield_http_requests_in_flight",
    "Requests being processed now.",
    multiprocess_mode="livesum",
)
HTTP_ERRORS = Counter(
    "astroshield_http_errors_total",
    "Requests that failed on the server side: kind=status for a 5xx answer, "
    "kind=exception for an exception that escaped the application.",
    ("method", "route", "kind"),
)

# --- Database --------------------------------------------------------------------------
DB_QUERY_LATENCY = Histogram(
    "astroshield_db_query_duration_seconds",
    "Time spent executing one SQL statement (cursor execute), by operation.",
    ("operation",),
    buckets=DB_LATENCY_BUCKETS,
)
DB_POOL_CHECKED_OUT = Gauge(
    "astroshield_db_pool_checked_out_connections",
    "Connections lent out by the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "astroshield_db_pool_size",
    "Configured number of connections the pool keeps.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "astroshield_db_pool_overflow_connections",
    "Connections open beyond the pool size (negative while the pool is not yet full).",
    multiprocess_mode="livesum",
)

# --- Runtime ---------------------------------------------------------------------------
EVENT_LOOP_LAG = Gauge(
    "astroshield_event_loop_lag_seconds",
    "How late a periodic timer fired on the event loop: a blocked loop shows here.",
    multiprocess_mode="livemax",
)
BUILD_INFO = Gauge(
    "astroshield_build_info",
    "Always 1; the labels say which build and interpreter run.",
    ("version", "python"),
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__, platform.python_version()).set(1)

# Multiprocess mode only: the process collector's figures, one series per live worker.
WORKER_PROCESS_GAUGES: Final[dict[str, Gauge]] = (
    {
        family: Gauge(
            family.replace("process_", "astroshield_worker_", 1),
            f"Per worker (multiprocess mode): {family}.",
            multiprocess_mode="liveall",
        )
        for family in (
            "process_resident_memory_bytes",
            "process_cpu_seconds",
            "process_open_fds",
            "process_start_time_seconds",
        )
    }
    if multiprocess_dir() is not None
    else {}
)
_process_collector = ProcessCollector(registry=None)


def update_worker_gauges() -> None:
    if not WORKER_PROCESS_GAUGES:
        return
    for family in _process_collector.collect():
        gauge = WORKER_PROCESS_GAUGES.get(family.name)
        if gauge is not None and family.samples:
            gauge.set(family.samples[0].value)


# --- Alerts (the domain counters are in domain_metrics.py) ------------------------------
ALERTS_FIRING = Gauge(
    "astroshield_alerts_firing",
    "Alerts currently firing, by severity.",
    ("severity",),
    # Every worker that evaluates alerts sees the same persisted state: take the
    # largest, not the sum.
    multiprocess_mode="livemax",
)


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's path template, read after the application ran.

    FastAPI 0.165 puts the *original* ``APIRoute`` in ``scope["route"]``; its
    ``path_format`` lacks the prefixes given to ``include_router`` (``/api/v1``). The
    effective route context FastAPI stores next to it carries the full template, so it
    is preferred; the route itself is the fallback (routes added on the app directly).
    """
    fastapi_scope = scope.get("fastapi")
    if fastapi_scope is not None:
        context = fastapi_scope.get("effective_route_context")
        template = getattr(context, "path_format", None)
        if template:
            return str(template)
    route = scope.get("route")
    if route is not None:
        template = getattr(route, "path_format", None)
        if template:
            return str(template)
    # A mount (the docs assets) moves the matched prefix into root_path.
    mounted: str = scope.get("root_path", "")
    if mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED_ROUTE


class _Children:
    """The labelled children of one (method, route, status class) combination."""

    __slots__ = ("errors", "latency", "requests")

    def __init__(self, method: str, route: str, status: str) -> None:
        self.requests = HTTP_REQUESTS.labels(method, route, status)
        self.latency = HTTP_LATENCY.labels(method, route, status)
        self.errors = HTTP_ERRORS.labels(method, route, "status") if status == "5xx" else None


class RequestMetrics:
    """Counts and times HTTP requests; the edge middleware calls it for every request,
    refusals by inner middleware included.

    Labelled children are cached per (method, route, status class): the per-request cost
    is a timer, a dict lookup, a counter increment and a histogram observation.
    """

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], _Children] = {}

    @staticmethod
    def started() -> float:
        HTTP_IN_FLIGHT.inc()
        return time.perf_counter()

    def finished(
        self,
        scope: Scope,
        root_path: str,
        status: int,
        started: float,
        *,
        outcome: Literal["answered", "exception", "cancelled"] = "answered",
    ) -> None:
        """``status`` is 0 when no response started. An escaped exception with nothing
        sent becomes the server's 500; a cancelled request (client gone, shutdown) is
        counted, but not as a server error."""
        elapsed = time.perf_counter() - started
        HTTP_IN_FLIGHT.dec()
        method: str = scope["method"]
        if method not in _KNOWN_METHODS:
            method = "OTHER"
        route = route_template(scope, root_path)
        if status:
            status_class = _STATUS_CLASSES[status // 100 - 1]
        else:
            status_class = "5xx" if outcome == "exception" else NO_RESPONSE
        key = (method, route, status_class)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = _Children(method, route, status_class)
        children.requests.inc()
        children.latency.observe(elapsed)
        if children.errors is not None:
            children.errors.inc()
        if outcome == "exception":
            HTTP_ERRORS.labels(method, route, "exception").inc()


# --- Database instruments --------------------------------------------------------------
_QUERY_START = "_astroshield_query_started"
_OPERATIONS: Final = {
    "SELECT": "select",
    "INSERT": "insert",
    "UPDATE": "update",
    "DELETE": "delete",
    "WITH": "select",
}
_DB_CHILDREN: dict[str, Any] = {}


def _db_child(operation: str) -> Any:
    child = _DB_CHILDREN.get(operation)
    if child is None:
        child = _DB_CHILDREN[operation] = DB_QUERY_LATENCY.labels(operation)
    return child


def _before_cursor_execute(
    _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    if context is not None:
        setattr(context, _QUERY_START, time.perf_counter())


def _after_cursor_execute(
    _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    started = getattr(context, _QUERY_START, None) if context is not None else None
    if started is None:
        return
    verb = statement.lstrip()[:6].upper().rstrip()
    _db_child(_OPERATIONS.get(verb, "other")).observe(time.perf_counter() - started)


def instrument_engine(engine: AsyncEngine) -> None:
    """Times every statement of ``engine``; idempotent per engine."""
    sync_engine: Engine = engine.sync_engine
    if event.contains(sync_engine, "before_cursor_execute", _before_cursor_execute):
        return
    event.listen(sync_engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(sync_engine, "after_cursor_execute", _after_cursor_execute)


def update_pool_gauges(engine: AsyncEngine) -> None:
    pool: Any = engine.sync_engine.pool
    # NullPool and StaticPool keep no count; only queue pools answer these.
    if not all(hasattr(pool, name) for name in ("checkedout", "size", "overflow")):
        return
    DB_POOL_CHECKED_OUT.set(pool.checkedout())
    DB_POOL_SIZE.set(pool.size())
    DB_POOL_OVERFLOW.set(pool.overflow())


async def runtime_loop(
    current_engine: Callable[[], AsyncEngine], interval_s: float = LOOP_INTERVAL_S
) -> None:
    """Measures event-loop lag and samples the pool gauges, once per interval (of the
    engine in use now: runtime configuration may replace it)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval_s)
        EVENT_LOOP_LAG.set(max(0.0, loop.time() - started - interval_s))
        try:
            update_pool_gauges(current_engine())
            update_worker_gauges()
        except Exception:  # a metrics failure must not end the loop
            log.exception("runtime_gauges_failed")


# --- Exposition ------------------------------------------------------------------------
_multiprocess_registry: CollectorRegistry | None = None


def exposition() -> bytes:
    """The text exposition: this process's registry, or every worker's in multiprocess
    mode."""
    global _multiprocess_registry
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    if _multiprocess_registry is None:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        _multiprocess_registry = registry
    return generate_latest(_multiprocess_registry)


def mark_worker_dead() -> None:
    """In multiprocess mode, drops this worker's live gauges (livesum/livemax) from the
    aggregate; counters and histograms it recorded stay counted."""
    if multiprocess_dir() is not None:
        prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


EXPOSITION_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


def _token_bytes(token: SecretStr | None) -> bytes | None:
    return token.get_secret_value().encode() if token is not None else None


def _authorised(authorization: str | None, expected: bytes | None) -> bool:
    """The scrape token from the Authorization header only, never from the query string,
    so it cannot end up in an access log."""
    if expected is None:
        return True
    scheme, _, supplied = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), expected)


def exposure(settings: Settings) -> tuple[str, bool]:
    """How /metrics is reachable under ``settings``, and whether that is open to anyone
    who can reach the API (said once at start)."""
    if not settings.metrics_enabled:
        return "disabled", False
    guard = "bearer token required" if settings.metrics_token is not None else "no token"
    if settings.metrics_address is not None:
        return f"only on {settings.metrics_address}, not on the API port; {guard}", False
    if settings.metrics_token is not None:
        return f"on the API port; {guard}; {settings.rate_limit_metrics} per client", False
    return (
        "on the API port, open to anyone who reaches it "
        "(set ASTROSHIELD_METRICS_TOKEN or ASTROSHIELD_METRICS_ADDRESS)",
        True,
    )


def _scrape(engine: AsyncEngine | None, before: Callable[[], None] | None = None) -> bytes:
    """Samples the pool and worker gauges, then renders the exposition (blocking: files
    of other workers, /proc); ``before`` refreshes other gauges first."""
    if before is not None:
        try:
            before()
        except Exception:  # the scrape still answers; the gauges keep their last value
            log.exception("before_scrape_failed")
    if engine is not None:
        update_pool_gauges(engine)
    update_worker_gauges()
    return exposition()


BeforeScrape = Callable[[], Coroutine[Any, Any, None]]


def from_thread(before_scrape: BeforeScrape, timeout_s: float) -> Callable[[], None]:
    """``before_scrape`` run on the calling event loop from another thread (the metrics
    listener's), waiting at most ``timeout_s`` plus a second."""
    loop = asyncio.get_running_loop()

    def run() -> None:
        asyncio.run_coroutine_threadsafe(before_scrape(), loop).result(timeout_s + 1.0)

    return run


def install_metrics_route(
    app: FastAPI, token: SecretStr | None, *, before_scrape: BeforeScrape | None = None
) -> None:
    """``GET /metrics`` outside ``/api/v1`` and the OpenAPI document.

    Prometheus scrapes it without a user: with ``ASTROSHIELD_METRICS_TOKEN`` set it must
    send ``Authorization: Bearer <token>`` (Prometheus ``authorization.credentials``);
    without one it is open, which only dev/test allow. The client rate limiter gives it a
    budget of its own (``ASTROSHIELD_RATE_LIMIT_METRICS``). ``before_scrape`` refreshes
    gauges that need the event loop (the component probes) before each exposition.
    """
    expected = _token_bytes(token)

    async def metrics_endpoint(request: Request) -> Response:
        if not _authorised(request.headers.get("authorization"), expected):
            return problem_response(
                request,
                status=401,
                slug="unauthenticated",
                title="Authentication required",
                detail="the metrics endpoint needs its bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if before_scrape is not None:
            try:
                await before_scrape()
            except Exception:  # the scrape still answers; the gauges keep their last value
                log.exception("before_scrape_failed")
        # In the thread pool: reading the multiprocess files or /proc never blocks the loop.
        body = await run_in_threadpool(_scrape, getattr(request.app.state, "engine", None))
        return Response(body, media_type=EXPOSITION_CONTENT_TYPE)

    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)


class MetricsListener:
    """``/metrics`` on an address of its own (a private interface the scraper reaches and
    clients do not), served from a thread so a scrape never waits on the event loop."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="metrics-listener", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_listener(
    address: str,
    token: SecretStr | None,
    current_engine: Callable[[], AsyncEngine | None],
    *,
    before_scrape: Callable[[], None] | None = None,
) -> MetricsListener | None:
    """Serve ``/metrics`` on ``address`` ("host:port"). With several workers only the first
    binds; the others return None (in multiprocess mode any worker's answer covers all)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    expected = _token_bytes(token)

    class Handler(BaseHTTPRequestHandler):
        server_version = "astroshield-metrics"
        sys_version = ""

        def do_GET(self) -> None:
            if self.path.partition("?")[0] != "/metrics":
                self._answer(404, b"not found\n", "text/plain; charset=utf-8")
            elif not _authorised(self.headers.get("authorization"), expected):
                self._answer(401, b"the metrics endpoint needs its bearer token\n", "text/plain")
            else:
                body = _scrape(current_engine(), before_scrape)
                self._answer(200, body, EXPOSITION_CONTENT_TYPE)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="metrics"')
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes would flood the log

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    try:
        server = Server((host, int(port)), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and multiprocess_dir() is not None:
            log.info("metrics_listener_in_another_worker", address=address)
            return None
        raise
    return MetricsListener(server)
