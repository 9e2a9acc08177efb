"""Spans of the work, not only of the requests: a screening request's trace holds the
background job and its steps; a CDM upload its intake and Pc; telemetry ingest and
propagation their own spans, all in the caller's trace (W3C ``traceparent``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.conftest import Factory, empty_tables, settings_for
from tests.conjunction.cdms import ANNEX_KVN
from tests.conjunction.test_screening import PRIMARY, SECONDARY
from tests.conjunction.test_screening import _rows as screening_rows
from tests.observability.test_domain_metrics import (
    T0,
    Session,
    csv_of,
    screening,
    voltages,
)
from tests.telemetry.support import DICTIONARY, iso
from tests.trajectory.test_api import tle_body, window

from astroshield.app import create_app
from astroshield.observability.domain_metrics import PC_REPORT_METHODS


@pytest.fixture(scope="module")
async def traced_app(database_url: str, exporter: InMemorySpanExporter) -> AsyncIterator[FastAPI]:
    # Built after the provider is installed, so that FastAPI makes request spans; the Monte
    # Carlo Pc at its floor keeps the CDM upload short.
    application = create_app(settings_for(database_url, conjunction_pc_mc_samples=1_000))
    async with application.router.lifespan_context(application):
        yield application
        await empty_tables(application.state.engine)
    application.state.settings.audit_checkpoint_file.unlink(missing_ok=True)


@pytest.fixture(scope="module")
async def me(traced_app: FastAPI) -> AsyncIterator[Session]:
    """An administrator of an organisation owning 12345 (the annex CDM's) and PRIMARY."""
    factory = Factory(traced_app)
    organisation = await factory.organisation()
    for number in ("12345", PRIMARY):
        spacecraft = await factory.spacecraft(organisation, catalog_number=number)
        SPACECRAFT[number] = str(spacecraft.id)
    headers = await factory.login(organisation, role="admin")
    transport = httpx.ASGITransport(app=traced_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Session(client, headers)


SPACECRAFT: dict[str, str] = {}  # catalog number -> spacecraft id, filled by ``me``


def traced(exporter: InMemorySpanExporter) -> tuple[str, dict[str, str]]:
    exporter.clear()
    trace_id = secrets.token_hex(16)
    return trace_id, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


def spans_of(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    spans = [
        s for s in exporter.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id
    ]
    assert spans, "nothing was traced"
    return spans


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


def child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return span.parent is not None and span.parent.span_id == parent.context.span_id


def server(spans: Sequence[ReadableSpan], method: str, path: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name == f"{method} {path}"]
    return found


async def test_a_screening_request_traces_the_job_and_its_steps(
    traced_app: FastAPI, me: Session, exporter: InMemorySpanExporter
) -> None:
    rows = screening_rows()
    pair = {number: rows[number] for number in (PRIMARY, SECONDARY)}
    await me.call(
        "POST", "/catalog/element-sets", content=csv_of(pair), headers={"content-type": "text/csv"}
    )
    trace_id, headers = traced(exporter)
    job = await screening(me, SPACECRAFT[PRIMARY], traced_app, headers)
    assert job["status"] == "succeeded", job

    spans = spans_of(exporter, trace_id)
    request = server(spans, "POST", "/api/v1/conjunctions/screenings")
    run = one(spans, "screening.run")
    assert child_of(run, request)
    load, screen, store = (
        one(spans, name)
        for name in (
            "screening.load_catalog",
            "screening.screen_catalog",
            "screening.store_results",
        )
    )
    for step in (load, screen, store):
        assert child_of(step, run), step.name
    assert load.attributes is not None and load.attributes["objects"] == 2
    assert screen.attributes is not None and screen.attributes["objects"] == 2
    assert store.attributes is not None and store.attributes["events"] == len(job["results"]) >= 1
    # The steps happen in order, inside the run.
    assert run.start_time is not None and run.end_time is not None
    assert load.end_time is not None and screen.start_time is not None
    assert screen.end_time is not None and store.start_time is not None
    assert run.start_time <= load.start_time  # type: ignore[operator]
    assert load.end_time <= screen.start_time <= screen.end_time <= store.start_time
    assert store.end_time is not None and store.end_time <= run.end_time


async def test_cdm_intake_telemetry_ingest_and_propagation_have_spans(
    me: Session, exporter: InMemorySpanExporter
) -> None:
    trace_id, headers = traced(exporter)
    cdm = await me.call(
        "POST",
        "/conjunctions/cdms",
        201,
        content=ANNEX_KVN.read_bytes(),
        headers={"content-type": "text/plain", **headers},
    )
    spans = spans_of(exporter, trace_id)
    intake = one(spans, "conjunction.cdm_intake")
    assert child_of(intake, server(spans, "POST", "/api/v1/conjunctions/cdms"))
    assert intake.attributes is not None
    assert intake.attributes["tier"] == cdm.json()["event"]["tier"]
    pc = one(spans, "conjunction.pc")
    assert child_of(pc, intake)
    assert pc.attributes is not None
    assert pc.attributes["methods"] == ",".join(PC_REPORT_METHODS)

    base = f"/spacecraft/{SPACECRAFT['12345']}/telemetry"
    await me.call("PUT", base + "/parameters", json=DICTIONARY)
    trace_id, headers = traced(exporter)
    batch = {"source_id": "gs-1", "sequence": 1, "samples": voltages(0, [28.0, 28.1, 28.2])}
    await me.call("POST", base, 201, json=batch, headers=headers)
    spans = spans_of(exporter, trace_id)
    ingest = one(spans, "telemetry.ingest")
    assert child_of(ingest, server(spans, "POST", "/api/v1/spacecraft/{spacecraft_id}/telemetry"))
    assert ingest.attributes is not None
    assert ingest.attributes["encoding"] == "json" and ingest.attributes["samples"] == 3

    trace_id, headers = traced(exporter)
    body = {"tle": tle_body(), "frame": "GCRF", **window(hours=1)}
    await me.call("POST", "/trajectory/propagate", json=body, headers=headers)
    spans = spans_of(exporter, trace_id)
    propagation = one(spans, "trajectory.propagate")
    assert child_of(propagation, server(spans, "POST", "/api/v1/trajectory/propagate"))
    assert propagation.attributes is not None
    assert propagation.attributes["propagator"] == "sgp4"
    assert propagation.attributes["points"] == 61  # one hour at 60 s, both ends


@pytest.mark.parametrize("output", ["csv", "parquet"])
async def test_a_telemetry_export_has_its_span_with_the_rows_it_sent(
    me: Session, exporter: InMemorySpanExporter, output: str
) -> None:
    spacecraft_id = SPACECRAFT[PRIMARY]
    base = f"/spacecraft/{spacecraft_id}/telemetry"
    await me.call("PUT", base + "/parameters", json=DICTIONARY)
    batch = {"source_id": f"export-{output}", "sequence": 1, "samples": voltages(0, [27.9] * 4)}
    await me.call("POST", base, 201, json=batch)
    window = {"start": iso(T0 - timedelta(hours=1)), "stop": iso(T0 + timedelta(hours=1))}
    query = {"parameters": "bus_voltage", "format": output, **window}
    trace_id, headers = traced(exporter)
    exported = await me.call("GET", base + "/export", params=query, headers=headers)
    assert exported.content  # the stream was read to its end

    spans = spans_of(exporter, trace_id)
    export = one(spans, "telemetry.export")
    request = server(spans, "GET", "/api/v1/spacecraft/{spacecraft_id}/telemetry/export")
    assert child_of(export, request)
    assert export.attributes is not None
    assert export.attributes["spacecraft_id"] == spacecraft_id
    assert export.attributes["format"] == output
    assert export.attributes["rows"] == 4
