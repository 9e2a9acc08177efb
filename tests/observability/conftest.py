"""Spans of the real app, collected in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.conftest import settings_for

from astroshield.observability.tracing import (
    RedactingSpanExporter,
    build_tracer_provider,
    install_tracer_provider,
)


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The SDK's in-memory exporter behind our redacting one. The global tracer provider
    can be set once per process: the first module installs it, later ones add their
    exporter to it; at the module's end collecting stops (the provider stays)."""
    memory = InMemorySpanExporter()
    provider = build_tracer_provider(settings_for("sqlite://"), memory, batch=False)
    if not install_tracer_provider(provider):
        installed = trace.get_tracer_provider()
        assert isinstance(installed, TracerProvider)
        installed.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory)))
    yield memory
    memory.shutdown()
