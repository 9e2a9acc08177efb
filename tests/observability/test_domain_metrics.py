"""The domain counters move with the real work: a scripted operator session through the
app's HTTP API (telemetry as JSON and as CCSDS packets, limit alarms and their alert, a
catalog upload, a CDM, a screening, manoeuvre detection), then ``/metrics`` read with the
Prometheus text parser.

Counters are process-wide, so each check compares a scrape before and after the session.
Expected amounts come from what the session sent or from the database (rows stored, the
alert's own history), or from the pure library run on the same element sets.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from tests.ccdm.scenarios import geo_chaser
from tests.conftest import Factory
from tests.conjunction.cdms import ANNEX_KVN
from tests.conjunction.test_screening import PRIMARY, SECONDARY
from tests.conjunction.test_screening import START as SCREENING_START
from tests.conjunction.test_screening import _rows as screening_rows
from tests.telemetry.support import DICTIONARY, iso, stored_counts

from astroshield.astro.ccdm.maneuvers import detect_maneuvers
from astroshield.astro.formats.omm import format_omm_json
from astroshield.db import session_scope
from astroshield.observability import domain_metrics
from astroshield.tm.demo import DEMO_XTCE_PATH, demo_packets

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
T0 = datetime(2026, 11, 1, tzinfo=UTC)
DEMO_PACKET_FRAMES = 5  # demo_packets sends two packets per frame
BATTERY_LIMITS = {
    "ranges": {
        "warning": {"low": 25.5, "high": 29.4},
        "critical": {"low": 24.0, "high": 30.5},
    },
    "min_violations": 1,
}


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (n, ls), value in samples.items() if n == name and wanted <= ls)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


class Session:
    """One organisation's administrator, its two spacecraft, and the calls made."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def call(self, method: str, url: str, expected: int = 200, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        response = await self.client.request(method, "/api/v1" + url, headers=headers, **kw)
        assert response.status_code == expected, (url, response.text)
        return response


def voltages(start_s: int, values: Iterable[float]) -> list[dict[str, Any]]:
    return [
        {"parameter": "bus_voltage", "time": iso(T0 + timedelta(seconds=start_s + i)), "value": v}
        for i, v in enumerate(values)
    ]


async def _telemetry(me: Session, spacecraft_id: str) -> str:
    """JSON batches through a limit alarm (fired, then acknowledged and resolved), a
    replayed batch, a refused one, and CCSDS packets; returns the alert's id."""
    base = f"/spacecraft/{spacecraft_id}/telemetry"
    await me.call("PUT", base + "/parameters", json=DICTIONARY)
    await me.call("PUT", base + "/bus_voltage/limits", json=BATTERY_LIMITS)
    first = {"source_id": "gs-1", "sequence": 1, "samples": voltages(0, [28.0, 31.0])}
    await me.call("POST", base, 201, json=first)
    await me.call("POST", base, 200, json=first)  # replayed: stored once, counted once
    refused = {"source_id": "gs-1", "sequence": 2, "samples": voltages(2, ["high"])}
    await me.call("POST", base, 422, json=refused)  # rolled back: not counted
    back = {"source_id": "gs-1", "sequence": 3, "samples": voltages(3, [28.0, 27.9])}
    await me.call("POST", base, 201, json=back)
    alerts = (await me.call("GET", "/alerts")).json()
    (alert,) = [a for a in alerts["items"] if a["labels"].get("parameter") == "bus_voltage"]
    await me.call("POST", f"/alerts/{alert['id']}/acknowledge", json={"comment": "transient"})

    await me.call(
        "PUT",
        base + "/dictionary",
        content=DEMO_XTCE_PATH.read_bytes(),
        headers={"content-type": "application/xml"},
    )
    await me.call(
        "POST",
        base + "/packets",
        201,
        content=demo_packets(T0 + timedelta(hours=1), DEMO_PACKET_FRAMES, seed=3),
        headers={
            "content-type": "application/octet-stream",
            "X-Source-Id": "gs-svalbard",
            "X-Sequence": "1",
        },
    )
    return str(alert["id"])


def csv_of(rows: dict[str, dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(next(iter(rows.values()))))
    writer.writeheader()
    writer.writerows(rows.values())
    return out.getvalue()


async def screening(
    me: Session, spacecraft_id: str, app: FastAPI, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A screening of the spacecraft over the close pass of the screening tests, run to
    its end; the job as the API shows it."""
    body = {
        "spacecraft_id": spacecraft_id,
        "start": SCREENING_START.isoformat(),
        "days": 0.05,
        "threshold_km": 2.0,
    }
    queued = await me.call(
        "POST", "/conjunctions/screenings", 202, json=body, headers=headers or {}
    )
    await asyncio.gather(*list(app.state.background_tasks))
    job = await me.call("GET", f"/conjunctions/screenings/{queued.json()['id']}")
    return dict(job.json())


@pytest.mark.slow  # the CDM's Monte Carlo Pc at the default 100 000 samples
async def test_a_scripted_session_moves_every_domain_counter(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    ours = await factory.spacecraft(organisation, catalog_number="12345")  # the annex CDM's
    screened = await factory.spacecraft(organisation, catalog_number=PRIMARY)
    me = Session(client, await factory.login(organisation, role="admin"))
    before = await scrape(client)

    alert_id = await _telemetry(me, str(ours.id))
    rows = screening_rows()
    pair = {number: rows[number] for number in (PRIMARY, SECONDARY)}
    uploaded = await me.call(
        "POST", "/catalog/element-sets", content=csv_of(pair), headers={"content-type": "text/csv"}
    )
    chaser = geo_chaser()
    await me.call(
        "POST",
        "/catalog/element-sets",
        content=format_omm_json(chaser),
        headers={"content-type": "application/json"},
    )
    cdm = await me.call(
        "POST",
        "/conjunctions/cdms",
        201,
        content=ANNEX_KVN.read_bytes(),
        headers={"content-type": "text/plain"},
    )
    job = await screening(me, str(screened.id), app)
    assert job["status"] == "succeeded", job
    maneuvers = await me.call("GET", "/ccdm/objects/90002/maneuvers")

    after = await scrape(client)
    stored_samples, stored_batches = await stored_counts(app)
    assert stored_batches == 3
    assert delta(before, after, "astroshield_telemetry_samples_ingested_total") == stored_samples
    assert (
        delta(before, after, "astroshield_telemetry_batches_ingested_total", encoding="json") == 2
    )
    batches_of_packets = delta(
        before, after, "astroshield_telemetry_batches_ingested_total", encoding="packets"
    )
    assert batches_of_packets == 1
    assert (
        delta(before, after, "astroshield_telemetry_packets_decoded_total")
        == 2 * DEMO_PACKET_FRAMES
    )

    tier = cdm.json()["event"]["tier"]
    assert delta(before, after, "astroshield_cdms_ingested_total", tier=tier) == 1
    assert delta(before, after, "astroshield_cdms_ingested_total") == 1
    for method in domain_metrics.PC_REPORT_METHODS:
        assert delta(before, after, "astroshield_pc_computations_total", method=method) == 1

    assert delta(before, after, "astroshield_screening_runs_total", outcome="succeeded") == 1
    assert delta(before, after, "astroshield_screening_runs_total", outcome="failed") == 0
    found = [hit["tier"] for hit in job["results"]]
    assert found  # the close pair of the screening tests
    for hit_tier in set(found):
        assert delta(
            before, after, "astroshield_conjunction_events_total", tier=hit_tier
        ) == found.count(hit_tier)

    expected_maneuvers = len(detect_maneuvers(chaser))
    assert expected_maneuvers >= 1
    assert len(maneuvers.json()["maneuvers"]) == expected_maneuvers
    assert delta(before, after, "astroshield_maneuvers_detected_total") == expected_maneuvers

    imported = uploaded.json()["inserted"] + len(chaser)
    assert (
        delta(before, after, "astroshield_catalog_element_sets_imported_total", catalog="overlay")
        == imported
    )

    history = (await me.call("GET", f"/alerts/{alert_id}")).json()["history"]
    changes = [event["change"] for event in history]
    assert {"fired", "acknowledged", "resolved"} <= set(changes)
    for change in set(changes):
        assert delta(
            before, after, "astroshield_alert_changes_total", change=change
        ) == changes.count(change)


async def test_a_count_waits_for_the_commit(app: FastAPI) -> None:
    """Counted when the unit of work commits; a rolled-back one counts nothing."""
    name = "astroshield_maneuvers_detected_total"

    def counted() -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    async def failing_batch() -> None:
        async with session_scope(app.state.sessionmaker) as session:
            domain_metrics.count_after_commit(session, domain_metrics.MANEUVERS_DETECTED, 3)
            raise RuntimeError("the batch fails after counting")

    start = counted()
    with pytest.raises(RuntimeError):
        await failing_batch()
    assert counted() == start
    async with session_scope(app.state.sessionmaker) as session:
        domain_metrics.count_after_commit(session, domain_metrics.MANEUVERS_DETECTED, 3)
        assert counted() == start  # not before the commit
    assert counted() == start + 3


async def test_a_failed_screening_is_counted_as_failed(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    screened = await factory.spacecraft(organisation, catalog_number=PRIMARY)
    me = Session(client, await factory.login(organisation, role="analyst"))
    before = await scrape(client)
    job = await screening(me, str(screened.id), app)
    assert job["status"] == "failed"  # the catalog holds no element set of the spacecraft
    after = await scrape(client)
    assert delta(before, after, "astroshield_screening_runs_total", outcome="failed") == 1
    assert delta(before, after, "astroshield_screening_runs_total", outcome="succeeded") == 0
    assert delta(before, after, "astroshield_conjunction_events_total") == 0
