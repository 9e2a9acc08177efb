"""The mixed operator scenario's contract, shared by the driver, the smoke test and the
locustfile: the endpoints with their offered rates, and the JSON file that hands a seeded
deployment (tokens, ids, CDM bodies) to the locust process.

Nothing here imports locust or gevent (the test process must never be monkey-patched), nor
the app: the locustfile reads only this module and the JSON file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

API = "/api/v1"
# The placeholder of the CDM bodies' MESSAGE_ID: every upload replaces it with a fresh id.
MESSAGE_ID_PLACEHOLDER = "LOAD-MESSAGE-ID"
# Samples per parameter in one telemetry batch, and the parameters a batch carries.
BATCH_SAMPLES = 10
BATCH_PARAMETERS = ("bus_voltage", "panel_temp", "reboots")
# Live-telemetry subscribers held open for a whole step, whatever the rate.
WS_SUBSCRIBERS = 4


@dataclass(frozen=True)
class Endpoint:
    """One request of the scenario: its route template (the stats' name), its HTTP method,
    its rate at multiplier 1 (requests/s) and the pacing of one locust user (s)."""

    key: str
    method: str
    name: str
    base_rps: float
    pacing_s: float
    read: bool

    def users(self, multiplier: float) -> int:
        """Locust users at ``multiplier``: each sends one request every ``pacing_s``."""
        return max(1, round(self.base_rps * multiplier * self.pacing_s))

    def offered_rps(self, multiplier: float) -> float:
        return self.users(multiplier) / self.pacing_s


# The mix: mostly status reads, steady ingest, conjunction work, few CDMs and logins. A CDM
# upload costs about a second of CPU (every Pc method, Monte Carlo with 100,000 samples
# included) and a login tens of milliseconds (argon2id, on purpose).
ENDPOINTS = (
    Endpoint("login", "POST", f"{API}/auth/token", 0.25, 4.0, read=False),
    Endpoint("status", "GET", f"{API}/spacecraft/{{spacecraft_id}}/status", 8.0, 1.0, read=True),
    Endpoint("fleet", "GET", f"{API}/spacecraft", 1.0, 2.0, read=True),
    Endpoint(
        "ingest", "POST", f"{API}/spacecraft/{{spacecraft_id}}/telemetry", 4.0, 1.0, read=False
    ),
    Endpoint("conjunctions", "GET", f"{API}/conjunctions", 2.0, 1.0, read=True),
    Endpoint("conjunction", "GET", f"{API}/conjunctions/{{event_id}}", 2.0, 1.0, read=True),
    Endpoint("cdm", "POST", f"{API}/conjunctions/cdms", 0.1, 10.0, read=False),
)
ENDPOINT = {endpoint.key: endpoint for endpoint in ENDPOINTS}

# The WebSocket's two stats rows: the handshake (with its authentication) and each
# "samples" message, timed from the newest sample's timestamp (set by the ingest user when
# it sends the batch) to its receipt.
WS_CONNECT = ("WS", f"{API}/spacecraft/{{spacecraft_id}}/telemetry/live")
WS_SAMPLES = ("WS", "live samples (ingest sent -> received)")


def offered_total(multiplier: float) -> float:
    return sum(endpoint.offered_rps(multiplier) for endpoint in ENDPOINTS)


def total_users(multiplier: float) -> int:
    return sum(endpoint.users(multiplier) for endpoint in ENDPOINTS) + WS_SUBSCRIBERS


@dataclass
class Scenario:
    """What the locust process needs to know about the seeded deployment."""

    multiplier: float
    operator_token: str  # spacecraft and telemetry (operator role)
    analyst_token: str  # conjunctions and CDMs (analyst role)
    login_emails: list[str]
    password: str
    spacecraft_ids: list[str]
    event_ids: list[str]
    cdm_bodies: list[str]  # KVN with MESSAGE_ID_PLACEHOLDER
    samples_file: str = ""  # where the locust process writes every request it timed
    # Each user's first request after a random part of its pacing (False: at once, for a
    # run of a few seconds that must reach every endpoint).
    spread: bool = True

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Scenario:
        return cls(**json.loads(path.read_text(encoding="utf-8")))
