"""A started service for the console's browser tests and benchmark, seeded only through
what an operator has: the ``astroshield user create`` command for the first account, then
the public API (spacecraft, a telemetry dictionary and samples, limits, a red CDM whose
alert fires on upload)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.tle import format_tle
from tests.ccdm.scenarios import geo_chaser, geo_station_keeper, geo_target, leo_set
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.support.servers import (
    REPO_ROOT,
    free_port,
    service_env,
    service_process,
    uvicorn_argv,
)

PASSWORD = "correct horse battery staple 42"
EMAIL = "duty.operator@example.org"
PARAMETER = "BATT_V"
ORGANISATION = "console-ops"
# Catalog numbers of the red conjunction's primary (ours) and secondary.
RED_PRIMARY = "44001"
RED_SECONDARY = "44002"


@dataclass
class Seeded:
    base: str
    email: str
    password: str
    headers: dict[str, str] = field(repr=False)
    spacecraft: dict[str, str] = field(default_factory=dict)  # name -> id
    red_event_id: str = ""
    red_alert_id: str = ""
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=self.headers, timeout=30)


@contextmanager
def running_service(database: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The service as an operator starts it (uvicorn, migrations on start, its own SQLite
    file); yields its base URL and environment."""
    port = free_port()
    env = service_env(f"sqlite+aiosqlite:///{database}", ASTROSHIELD_MIGRATE_ON_START="true")
    base = f"http://127.0.0.1:{port}"
    with service_process(uvicorn_argv(port), base, env):
        yield base, env


def cli_user(
    env: dict[str, str],
    organisation: str,
    email: str,
    password: str,
    role: str,
    name: str,
    *,
    platform_admin: bool = False,
) -> None:
    """An account made on the server with ``astroshield user create``, as the README says
    for the first administrator (the API creates users only for platform administrators)."""
    argv = [
        sys.executable,
        "-c",
        "from astroshield.cli import app; app()",
        "user",
        "create",
        "--email",
        email,
        "--organisation",
        organisation,
        "--role",
        role,
        "--name",
        name,
        "--password-stdin",
        *(["--platform-admin"] if platform_admin else []),
    ]
    done = subprocess.run(
        argv, env=env, cwd=REPO_ROOT, input=password + "\n", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def first_account(env: dict[str, str], organisation: str) -> None:
    """The first administrator."""
    cli_user(env, organisation, EMAIL, PASSWORD, "admin", "Duty Operator")


def _token(base: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, f"{response.request.url}: {response.text}"
    return response


def add_spacecraft(api: httpx.Client, name: str, catalog_number: str) -> str:
    body = {"name": name, "catalog_number": catalog_number}
    return str(_ok(api.post("/spacecraft", json=body)).json()["id"])


def ingest(api: httpx.Client, spacecraft_id: str, value: float, at: datetime) -> None:
    """One sample; its time in microseconds is the batch's sequence (stored once)."""
    sample = {"parameter": PARAMETER, "time": at.isoformat(), "value": value}
    batch = {
        "source_id": "console-test",
        "sequence": int(at.timestamp() * 1e6),
        "samples": [sample],
    }
    _ok(api.post(f"/spacecraft/{spacecraft_id}/telemetry", json=batch))


def seed(base: str, env: dict[str, str], *, extra_spacecraft: int = 0) -> Seeded:
    """An organisation with three named spacecraft (plus ``extra_spacecraft``), a battery
    voltage parameter with limits and a few samples on the first, and a red conjunction."""
    first_account(env, ORGANISATION)
    seeded = Seeded(base, EMAIL, PASSWORD, _token(base), env=env)
    now = datetime.now(UTC)
    with seeded.client() as api:
        named = [("Sentinel-6A", RED_PRIMARY), ("Aurora-2", "44010"), ("Kestrel", "44011")]
        numbered = [(f"Cubesat {n:03d}", str(45000 + n)) for n in range(extra_spacecraft)]
        modes = ["operational", "standby", "commissioning", "safe_mode"]
        for n, (name, number) in enumerate(named + numbered):
            seeded.spacecraft[name] = spacecraft_id = add_spacecraft(api, name, number)
            report = {
                "reported_at": (now - timedelta(minutes=5)).isoformat(),
                "mode": modes[n % len(modes)],
                "health": "degraded" if n % 7 == 3 else "nominal",
                "last_contact_at": (now - timedelta(minutes=5 + n)).isoformat(),
            }
            _ok(api.post(f"/spacecraft/{spacecraft_id}/status", json=report))
        primary = seeded.spacecraft["Sentinel-6A"]
        _ok(
            api.put(
                f"/spacecraft/{primary}/telemetry/parameters",
                json=[{"name": PARAMETER, "type": "float", "unit": "V", "description": "bus"}],
            )
        )
        _ok(
            api.put(
                f"/spacecraft/{primary}/telemetry/{PARAMETER}/limits",
                json={"ranges": {"warning": {"low": 24.0, "high": 33.0}}},
            )
        )
        for minutes, value in ((30, 28.0), (20, 28.4), (10, 28.2), (2, 28.1)):
            ingest(api, primary, value, now - timedelta(minutes=minutes))
        message = omitron_cdm(
            primary=RED_PRIMARY,
            secondary=RED_SECONDARY,
            tca=now + timedelta(days=2),
            creation=now - timedelta(hours=1),
            message_id="CONSOLE-RED-1",
            hbr_each_m=20.0,
        )
        upload = _ok(
            api.post(
                "/conjunctions/cdms", content=kvn(message), headers={"Content-Type": "text/plain"}
            )
        )
        event = upload.json()["event"]
        assert event["tier"] == "red", event
        seeded.red_event_id = str(event["id"])
        alerts = _ok(api.get("/alerts", params={"event_id": seeded.red_event_id})).json()
        assert [a["status"] for a in alerts["items"]] == ["firing"], alerts
        seeded.red_alert_id = str(alerts["items"][0]["id"])
    return seeded


# The CCDM scene of tests/ccdm: a protected GEO spacecraft, a chaser that burns on day 6.3
# and a station keeper, each a daily element-set history uploaded as TLEs.
CCDM_SPACECRAFT = "Guardian-GEO"
CCDM_PROTECTED = "90001"
CCDM_CHASER = "90002"


def _upload_tles(api: httpx.Client, sets: list[ElementSet]) -> None:
    body = "\n".join(f"{tle.line1}\n{tle.line2}" for tle in map(format_tle, sets)) + "\n"
    report = _ok(
        api.post("/catalog/element-sets", content=body, headers={"Content-Type": "text/plain"})
    ).json()
    assert report["inserted"] == len(sets), report


def seed_orbits(seeded: Seeded) -> None:
    """What the ground-track, pass and CCDM pages read: a current element set of the red
    conjunction's primary (a Sentinel-6A-like orbit, 66° and 12.8 rev/day, epoch now) and
    the CCDM scene with its own spacecraft."""
    now = datetime.now(UTC).replace(microsecond=0)
    with seeded.client() as api:
        orbit = leo_set(
            RED_PRIMARY, mean_motion_rev_per_day=12.81, inclination_deg=66.04, epoch=now
        )
        _upload_tles(api, [orbit])
        seeded.spacecraft[CCDM_SPACECRAFT] = spacecraft_id = add_spacecraft(
            api, CCDM_SPACECRAFT, CCDM_PROTECTED
        )
        report = {"reported_at": now.isoformat(), "mode": "operational", "health": "nominal"}
        _ok(api.post(f"/spacecraft/{spacecraft_id}/status", json=report))
        for history in (geo_target(), geo_chaser(), geo_station_keeper()):
            _upload_tles(api, history)
