"""OpenTelemetry tracing: provider set-up, instrumentation, a span helper for business
logic, and trace ids on log lines.

Spans are produced only when an SDK tracer provider is installed, which this module does
when ``ASTROSHIELD_OTLP_ENDPOINT`` is set. Otherwise the global provider stays the API's
proxy: FastAPI's built-in request telemetry switches itself off, engines and httpx are
not instrumented, and ``span()`` is a no-op, so tracing costs nothing when unconfigured.

Who makes which spans:
- FastAPI's native telemetry (fastapi/telemetry): the server span of each request,
  named by route template, W3C ``traceparent`` taken from the request, plus spans for
  dependency resolution, endpoint and serialization.
- opentelemetry-instrumentation-sqlalchemy: one client span per statement, per engine.
- opentelemetry-instrumentation-httpx: one client span per outgoing call, with
  ``traceparent`` injected into the request.

Nothing secret leaves the process: no header is captured (neither FastAPI's telemetry
nor our httpx set-up captures any), and every exported span passes through
:class:`RedactingSpanExporter`, which applies ``security/masking.py`` to attributes,
event attributes and status text (query strings, URLs with credentials, SQL error
messages, exception messages) in the exporter's thread, off the request path.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Status
from opentelemetry.util.types import AttributeValue
from sqlalchemy.ext.asyncio import AsyncEngine

from astroshield import __version__
from astroshield.config import Settings
from astroshield.security.masking import REDACTED, mask, mask_text

log = structlog.get_logger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

TRACER_NAME = "astroshield"
_tracer = trace.get_tracer(TRACER_NAME, __version__)
_lock = threading.Lock()
_httpx_instrumented = False
# Attributes that hold a URL or a query string: query values are redacted by key.
_URL_ATTRIBUTES = frozenset({"url.full", "http.url"})
_QUERY_ATTRIBUTES = frozenset({"url.query", "http.target"})


def tracing_active() -> bool:
    """Whether a real tracer provider is installed (ours, or one set up by someone else,
    e.g. ``opentelemetry-instrument``)."""
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)


# --- Redaction -------------------------------------------------------------------------
def _redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    # mask() redacts by key (token=, password=, ...) and scans the values for secrets.
    return urlencode([(key, str(mask({key: value})[key])) for key, value in pairs])


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc.rpartition("@")[2]  # userinfo never leaves
    return urlunsplit((parts.scheme, netloc, mask_text(parts.path), _redact_query(parts.query), ""))


# Filled by the instrumentations from the protocol or our own code, never from user
# input: exported as they are, which keeps redaction cheap.
_SAFE_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.request.method_original",
        "http.method",
        "http.route",
        "http.response.status_code",
        "http.status_code",
        "http.scheme",
        "url.scheme",
        "server.address",
        "server.port",
        "network.protocol.name",
        "network.protocol.version",
        "network.peer.address",
        "network.peer.port",
        "net.peer.name",
        "net.peer.port",
        "net.transport",
        "db.system",
        "db.system.name",
        "db.name",
        "db.namespace",
        "db.operation",
        "db.operation.name",
        "error.type",
        "code.function.name",
    }
)


@functools.lru_cache(maxsize=1024)
def _sensitive_key(key: str) -> bool:
    """Whether masking.py redacts values under ``key`` (header names, tokens, e-mail...).
    Attribute keys are few, so the answer is cached."""
    return bool(mask({key: ""})[key] == REDACTED)


def _redact_value(key: str, value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        if key in _URL_ATTRIBUTES:
            return _redact_url(value)
        if key in _QUERY_ATTRIBUTES:
            path, sep, query = value.partition("?")
            return path + sep + _redact_query(query) if sep else _redact_query(value)
        return mask_text(value)
    if isinstance(value, Sequence):
        return [mask_text(item) if isinstance(item, str) else item for item in value]
    return value  # numbers and booleans carry nothing to mask


def redact_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    return {
        key: REDACTED
        if _sensitive_key(key)
        else value
        if key in _SAFE_ATTRIBUTES
        else _redact_value(key, value)
        for key, value in attributes.items()
    }


def _redacted(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:
        status = Status(status.status_code, mask_text(status.description))
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=redact_attributes(span.attributes),
        events=[
            Event(event.name, redact_attributes(event.attributes), event.timestamp)
            for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Masks secrets and PII in every span before the wrapped exporter sees it."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([_redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


# --- Provider --------------------------------------------------------------------------
def otlp_traces_url(endpoint: str) -> str:
    """``ASTROSHIELD_OTLP_ENDPOINT`` is the collector's base URL (as
    ``OTEL_EXPORTER_OTLP_ENDPOINT``); traces go to ``/v1/traces`` under it."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def build_tracer_provider(
    settings: Settings, exporter: SpanExporter, *, batch: bool = True
) -> TracerProvider:
    """A provider sampling ``trace_sample_ratio`` of new traces and following the
    caller's decision for continued ones (parent-based), exporting through redaction.

    ``batch=False`` exports each span as it ends (tests read them at once)."""
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": settings.service_name,
                "service.version": __version__,
                "deployment.environment.name": settings.profile,
            }
        ),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    redacting = RedactingSpanExporter(exporter)
    provider.add_span_processor(
        BatchSpanProcessor(redacting) if batch else SimpleSpanProcessor(redacting)
    )
    return provider


def install_tracer_provider(provider: TracerProvider) -> bool:
    """Makes ``provider`` the global one, once per process; False if one was set."""
    with _lock:
        if tracing_active():
            return False
        trace.set_tracer_provider(provider)
        return True


def configure_tracing(settings: Settings) -> bool:
    """Installs the OTLP pipeline when an endpoint is configured (the first app of the
    process wins; tests build many) and instruments httpx once if tracing is active.
    Returns whether spans will be produced."""
    if settings.otlp_endpoint and not tracing_active():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(settings.otlp_endpoint))
        if install_tracer_provider(build_tracer_provider(settings, exporter)):
            log.info(
                "tracing_configured",
                endpoint=otlp_traces_url(settings.otlp_endpoint),
                sample_ratio=settings.trace_sample_ratio,
            )
    active = tracing_active()
    if active:
        _instrument_httpx()
    return active


def _instrument_httpx() -> None:
    """Process-wide: wraps httpx's transports, so every client made anywhere (webhook
    notifiers included) gets a client span and sends ``traceparent``."""
    global _httpx_instrumented
    with _lock:
        if _httpx_instrumented:
            return
        try:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        except ImportError:  # httpx is optional at run time
            return
        try:
            HTTPXClientInstrumentor().instrument()
        except ModuleNotFoundError:
            return
        _httpx_instrumented = True


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per statement on ``engine`` (per engine: each app owns its engine).

    The instrumentor's ``instrument(engine=...)`` works once per process (it is a
    singleton that refuses a second call), so its per-engine tracer is used directly.
    Idempotent: an engine is instrumented at most once.
    """
    if not tracing_active():
        return
    sync_engine = engine.sync_engine
    with _lock:
        if sync_engine.__dict__.get("_astroshield_traced"):
            return
        sync_engine.__dict__["_astroshield_traced"] = True
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    # Its connection-usage counter needs a meter; we export metrics with Prometheus, so
    # the API's no-op meter takes those measurements.
    connections = otel_metrics.NoOpMeter("astroshield.db").create_up_down_counter(
        "db.client.connections.usage"
    )
    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    EngineTracer(tracer, sync_engine, connections)  # type: ignore[no-untyped-call]


def flush() -> None:
    """Sends what the batch processor holds (at shutdown; the SDK also flushes at exit)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if callable(force_flush):
        force_flush(5_000)


# --- Business-logic spans --------------------------------------------------------------
class span:  # noqa: N801 - used like a function: ``with span(...)`` / ``@span(...)``
    """A span around business logic, as a context manager or a decorator (sync or async).

        with span("screening.run", catalog_size=n):
            ...

        @span("conjunction.pc")
        async def compute(...): ...

    Attribute values are masked (``security/masking.py``) before they are set. When no
    provider is installed this costs one ``isinstance`` check.
    """

    __slots__ = ("_attributes", "_cm", "_name")

    def __init__(self, name: str, **attributes: Any) -> None:
        self._name = name
        self._attributes = attributes
        self._cm: Any = None

    @contextmanager
    def _span(self) -> Iterator[trace.Span | None]:
        if not tracing_active():
            yield None
            return
        with _tracer.start_as_current_span(
            self._name, attributes=_span_attributes(self._attributes)
        ) as current:
            yield current

    def __enter__(self) -> trace.Span | None:
        self._cm = self._span()
        return cast(trace.Span | None, self._cm.__enter__())

    def __exit__(self, *exc_info: Any) -> bool | None:
        cm, self._cm = self._cm, None
        return cast(bool | None, cm.__exit__(*exc_info))

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        name, attributes = self._name, self._attributes
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with span(name, **attributes):
                    return await func(*args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with span(name, **attributes):
                return func(*args, **kwargs)

        return wrapper


def annotate(**attributes: Any) -> None:
    """Add attributes known only once the work is done (counts found, objects screened)
    to the current span, masked like :class:`span`'s; nothing when no span records."""
    if not tracing_active():
        return
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(_span_attributes(attributes))


def _span_attributes(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    result: dict[str, AttributeValue] = {}
    for key, value in mask(dict(attributes)).items():
        if isinstance(value, str | bool | int | float):
            result[key] = value
        elif value is not None:
            result[key] = str(value)
    return result


# --- Logs ------------------------------------------------------------------------------
def add_trace_context(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """structlog processor: the current span's trace and span ids on every log line
    written inside a span (hex, as in ``traceparent``)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


__all__ = [
    "RedactingSpanExporter",
    "add_trace_context",
    "annotate",
    "build_tracer_provider",
    "configure_tracing",
    "flush",
    "install_tracer_provider",
    "instrument_engine",
    "span",
    "tracing_active",
]
