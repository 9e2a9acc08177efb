"""The mixed operator scenario as locust users, at fixed arrival rates.

Run by benchmarks/load_test.py and tests/production/test_load_scenario.py in a process of
its own (gevent monkey-patches it), never imported by them:

    ASTROSHIELD_LOAD_SCENARIO=scenario.json locust -f benchmarks/load/locustfile.py \
        --headless --host http://127.0.0.1:PORT -u N -r N -t 30s

Each user class sends one kind of request, one every ``pacing_s`` (``constant_pacing``),
and has a fixed number of users (``fixed_count``), so the offered rate of every endpoint is
known: users / pacing (benchmarks/load/scenario.py). Requests are named by route template,
so locust's stats, and the record this file writes, are per endpoint. WebSocket subscribers
hold a live-telemetry connection each and report every ``samples`` message as a request
whose time is from the newest sample's timestamp (set when the batch was sent) to receipt.

Every timed request is also written to the scenario's ``samples_file`` when the run stops
(time, type, name, ms, ok, error): the driver computes exact percentiles and achieved rates
over its own measuring window from it, instead of locust's rounded histogram.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
import websocket
from locust import FastHttpUser, User, constant, constant_pacing, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.load.scenario import (
    BATCH_PARAMETERS,
    BATCH_SAMPLES,
    ENDPOINT,
    MESSAGE_ID_PLACEHOLDER,
    WS_CONNECT,
    WS_SAMPLES,
    WS_SUBSCRIBERS,
    Scenario,
)

SCENARIO = Scenario.read(Path(os.environ["ASTROSHIELD_LOAD_SCENARIO"]))
M = SCENARIO.multiplier
INGEST_USERS = ENDPOINT["ingest"].users(M)
RECORDS: list[tuple[float, str, str, float, bool, str, int]] = []


def _subscribers_of(spacecraft_index: int) -> int:
    """Live subscribers watching the spacecraft of ingest user ``spacecraft_index``."""
    return sum(1 for s in range(WS_SUBSCRIBERS) if s % INGEST_USERS == spacecraft_index)


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    error = "" if exception is None else str(exception)[:120]
    watchers = int((context or {}).get("subscribers", 0))
    RECORDS.append(
        (time.time(), request_type, name, float(response_time), exception is None, error, watchers)
    )


@events.test_stop.add_listener
def _dump(**_: Any) -> None:
    if SCENARIO.samples_file:
        Path(SCENARIO.samples_file).write_text(json.dumps(RECORDS), encoding="utf-8")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class _Paced(FastHttpUser):
    """One request every ``pacing_s``; the first after a random part of it, so that the
    users of a class do not all send at the same instant."""

    abstract = True
    pacing_s = 1.0

    def on_start(self) -> None:
        if SCENARIO.spread:
            gevent.sleep(random.uniform(0, self.pacing_s))


class Login(_Paced):
    fixed_count = ENDPOINT["login"].users(M)
    pacing_s = ENDPOINT["login"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def log_in(self) -> None:
        body = {"email": random.choice(SCENARIO.login_emails), "password": SCENARIO.password}
        self.client.post(ENDPOINT["login"].name, json=body, name=ENDPOINT["login"].name)


class StatusReader(_Paced):
    fixed_count = ENDPOINT["status"].users(M)
    pacing_s = ENDPOINT["status"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def status(self) -> None:
        spacecraft = random.choice(SCENARIO.spacecraft_ids)
        self.client.get(
            f"/api/v1/spacecraft/{spacecraft}/status",
            headers=_bearer(SCENARIO.operator_token),
            name=ENDPOINT["status"].name,
        )


class FleetReader(_Paced):
    fixed_count = ENDPOINT["fleet"].users(M)
    pacing_s = ENDPOINT["fleet"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def fleet(self) -> None:
        self.client.get(
            "/api/v1/spacecraft?limit=50",
            headers=_bearer(SCENARIO.operator_token),
            name=ENDPOINT["fleet"].name,
        )


_ingest_index = itertools.count()


class TelemetryIngest(_Paced):
    """A ground station: batches of BATCH_SAMPLES samples per parameter, the newest
    stamped with the time of sending, to a spacecraft of its own."""

    fixed_count = INGEST_USERS
    pacing_s = ENDPOINT["ingest"].pacing_s
    wait_time = constant_pacing(pacing_s)

    def on_start(self) -> None:
        index = next(_ingest_index)
        self.spacecraft = SCENARIO.spacecraft_ids[index % len(SCENARIO.spacecraft_ids)]
        self.watchers = _subscribers_of(index)
        self.source = f"load-{uuid.uuid4().hex[:12]}"
        self.sequence = 0
        super().on_start()

    @task
    def ingest(self) -> None:
        self.sequence += 1
        now = datetime.now(UTC)
        samples = [
            {
                "parameter": parameter,
                "time": (now - timedelta(milliseconds=100 * (BATCH_SAMPLES - 1 - i))).isoformat(),
                "value": value,
            }
            for i in range(BATCH_SAMPLES)
            for parameter, value in zip(
                BATCH_PARAMETERS, (28.0 + random.random(), 20.0 + random.random(), 0), strict=True
            )
        ]
        body = {"source_id": self.source, "sequence": self.sequence, "samples": samples}
        self.client.post(
            f"/api/v1/spacecraft/{self.spacecraft}/telemetry",
            json=body,
            headers=_bearer(SCENARIO.operator_token),
            name=ENDPOINT["ingest"].name,
            context={"subscribers": self.watchers},
        )


class ConjunctionLister(_Paced):
    fixed_count = ENDPOINT["conjunctions"].users(M)
    pacing_s = ENDPOINT["conjunctions"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def conjunctions(self) -> None:
        self.client.get(
            "/api/v1/conjunctions?state=open&limit=50",
            headers=_bearer(SCENARIO.analyst_token),
            name=ENDPOINT["conjunctions"].name,
        )


class ConjunctionReader(_Paced):
    fixed_count = ENDPOINT["conjunction"].users(M)
    pacing_s = ENDPOINT["conjunction"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def conjunction(self) -> None:
        event = random.choice(SCENARIO.event_ids)
        self.client.get(
            f"/api/v1/conjunctions/{event}",
            headers=_bearer(SCENARIO.analyst_token),
            name=ENDPOINT["conjunction"].name,
        )


class CdmUploader(_Paced):
    fixed_count = ENDPOINT["cdm"].users(M)
    pacing_s = ENDPOINT["cdm"].pacing_s
    wait_time = constant_pacing(pacing_s)

    @task
    def upload(self) -> None:
        body = random.choice(SCENARIO.cdm_bodies).replace(
            MESSAGE_ID_PLACEHOLDER, f"LOAD-{uuid.uuid4().hex}"
        )
        self.client.post(
            ENDPOINT["cdm"].name,
            data=body.encode(),
            headers=_bearer(SCENARIO.analyst_token) | {"Content-Type": "text/plain"},
            name=ENDPOINT["cdm"].name,
        )


_subscriber_index = itertools.count()


def _fire(kind: tuple[str, str], started: float, length: int, error: Exception | None) -> None:
    events.request.fire(
        request_type=kind[0],
        name=kind[1],
        response_time=(time.time() - started) * 1000.0,
        response_length=length,
        exception=error,
        context={},
    )


class LiveSubscriber(User):
    """A console watching one spacecraft's live telemetry over the WebSocket (the
    websocket-client library, made cooperative by gevent's monkey-patching)."""

    fixed_count = WS_SUBSCRIBERS
    wait_time = constant(0)

    def on_start(self) -> None:
        index = next(_subscriber_index)
        spacecraft = SCENARIO.spacecraft_ids[(index % INGEST_USERS) % len(SCENARIO.spacecraft_ids)]
        base = (self.host or "").replace("http://", "ws://", 1)
        self.url = f"{base}/api/v1/spacecraft/{spacecraft}/telemetry/live"
        self.ws: websocket.WebSocket | None = None
        self._connect()

    def _connect(self) -> None:
        started = time.time()
        try:
            ws = websocket.create_connection(
                self.url, header=[f"Authorization: Bearer {SCENARIO.operator_token}"], timeout=10
            )
            first = json.loads(ws.recv())
            if first.get("type") != "subscribed":
                raise RuntimeError(f"unexpected first message {first}")
        except Exception as error:
            _fire(WS_CONNECT, started, 0, error)
            gevent.sleep(1.0)
            return
        ws.settimeout(1.0)
        self.ws = ws
        _fire(WS_CONNECT, started, 0, None)

    @task
    def receive(self) -> None:
        if self.ws is None:
            self._connect()
            return
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        except Exception as error:
            _fire(WS_SAMPLES, time.time(), 0, error)
            self.ws = None
            return
        received = time.time()
        message = json.loads(raw)
        if message.get("type") != "samples":
            return
        newest = max(datetime.fromisoformat(s["time"]).timestamp() for s in message["samples"])
        events.request.fire(
            request_type=WS_SAMPLES[0],
            name=WS_SAMPLES[1],
            response_time=(received - newest) * 1000.0,
            response_length=len(raw),
            exception=None,
            context={},
        )

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
