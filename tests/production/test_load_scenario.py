"""The load test's scenario (benchmarks/load/locustfile.py) runs: locust, headless in a
process of its own, at a low fixed rate for a few seconds against one real replica, reaches
every endpoint of the mix and the live-telemetry WebSocket without a failure. (Figures are
benchmarks/load_test.py's business: nothing here is timed.)"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.load.deploy import deployment, environment
from benchmarks.load.results import read_records
from benchmarks.load.runner import start_locust
from benchmarks.load.scenario import ENDPOINTS, WS_CONNECT, WS_SAMPLES, total_users
from benchmarks.load.seed import factory_for, seed

from astroshield.migrate import upgrade_async
from tests.conftest import settings_for
from tests.support.databases import fresh_database, is_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.redis]

MULTIPLIER = 0.25  # one or two users per endpoint
RUN_S = 5
# A request in flight when the run ends may finish (a CDM upload takes seconds on a busy
# machine); the replica computes Monte Carlo Pc with the fewest samples allowed.
STOP_TIMEOUT_S = 20


async def test_the_mixed_scenario_reaches_every_endpoint_without_failures(
    base_database_url: str, tmp_path: Path
) -> None:
    if not is_postgres(base_database_url):
        pytest.skip("the load test runs on PostgreSQL; the PostgreSQL pass runs this")
    async with fresh_database(base_database_url, tmp_path) as url:
        await upgrade_async(settings_for(url))
        factory, engine = factory_for(url)
        try:
            env = environment(url, tmp_path) | {"ASTROSHIELD_CONJUNCTION_PC_MC_SAMPLES": "1000"}
            with deployment(env, 1, tmp_path, proxy=False) as deployed:
                seeded = await seed(deployed.base, factory, spacecraft=4, with_events=1)
                scenario = seeded.scenario
                scenario.multiplier = MULTIPLIER
                scenario.spread = False  # every user's first request at once
                scenario.samples_file = str(tmp_path / "records.json")
                path = tmp_path / "scenario.json"
                scenario.write(path)
                log = tmp_path / "locust.log"
                process = start_locust(
                    path,
                    deployed.base,
                    total_users(MULTIPLIER),
                    RUN_S,
                    log,
                    stop_timeout_s=STOP_TIMEOUT_S,
                )
                try:
                    process.wait(timeout=RUN_S + STOP_TIMEOUT_S + 30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
                    pytest.fail(f"locust did not stop:\n{log.read_text()[-2000:]}")
        finally:
            await engine.dispose()  # type: ignore[attr-defined]

    output = log.read_text(errors="replace")
    assert process.returncode == 0, output[-3000:]
    records = read_records(Path(scenario.samples_file))
    requests = Counter((kind, name) for _, kind, name, _, _, _, _ in records)
    failures = [(kind, name, error) for _, kind, name, _, ok, error, _ in records if not ok]
    assert failures == [], failures
    expected = {(e.method, e.name) for e in ENDPOINTS} | {WS_CONNECT, WS_SAMPLES}
    assert expected <= set(requests), f"never requested: {expected - set(requests)}"
    # gevent monkey-patches the process it is imported in: never this one.
    assert "gevent" not in sys.modules and "locust" not in sys.modules
