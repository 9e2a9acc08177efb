"""Catalog screening on a Dask cluster against the local run of the same screening.

The local process path is the reference (test_screening.py checks it against a brute force);
here the work units go to a ``LocalCluster`` of two worker processes, which stands in for a
real cluster, and the events (every field), skipped objects, stage counts and the CLI's CSV
must come out identical.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from tests.astro.test_screening import START, crowded_subset
from typer.testing import CliRunner

from astroshield.astro.conjunction import screening
from astroshield.astro.conjunction.screening import (
    SchedulerUnreachableError,
    ScreeningResult,
    WorkUnit,
    WorkUnitFailedError,
    dask_cluster,
    screen_catalog,
)
from astroshield.astro.formats.omm import format_omm_csv
from astroshield.cli import app as cli

pytestmark = pytest.mark.slow

ONE_DAY = timedelta(days=1)
THRESHOLD_KM = 10.0
OBJECTS = 400
# dashboard_address=None still leaves the scheduler's HTTP server (health, metrics) on port
# 8787 of every interface; a free localhost port keeps concurrent test runs from colliding.
HTTP_ON_FREE_LOCAL_PORT = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs=HTTP_ON_FREE_LOCAL_PORT,
    ) as local_cluster:
        yield local_cluster


def assert_same_as_local(
    distributed: ScreeningResult, local: ScreeningResult, cluster_threads: int
) -> None:
    """The cluster's result is the local run's (events, skips, stage counts); the local run
    has conjunctions to compare; ``stats.workers`` is the cluster's thread count."""
    assert len(local.events) >= 20, "the subset must actually have conjunctions"
    assert distributed.events == local.events
    assert distributed.skipped == local.skipped
    assert distributed.stats.workers == cluster_threads
    assert replace(distributed.stats, workers=local.stats.workers) == local.stats


def _unused_address() -> str:
    """A local TCP address nobody listens on (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_cluster_run_equals_local_run(cluster: LocalCluster) -> None:
    subset = crowded_subset(OBJECTS)
    local = screen_catalog(subset, START, ONE_DAY, THRESHOLD_KM, workers=1)
    calls: list[tuple[int, int]] = []
    distributed = screen_catalog(
        subset,
        START,
        ONE_DAY,
        THRESHOLD_KM,
        scheduler=cluster.scheduler_address,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert_same_as_local(distributed, local, cluster_threads=2)
    assert calls == [(done, 24) for done in range(25)]


def test_given_client_stays_open_one_vs_all(cluster: LocalCluster) -> None:
    subset = crowded_subset(OBJECTS)
    window = timedelta(hours=6)
    primary = screen_catalog(subset, START, window, THRESHOLD_KM, workers=1).events[0].object1
    local = screen_catalog(subset, START, window, THRESHOLD_KM, primary=primary, workers=1)
    with Client(cluster, set_as_default=False) as client:
        first = screen_catalog(
            subset, START, window, THRESHOLD_KM, primary=primary, scheduler=client
        )
        assert client.status == "running"
        # Still usable: a second run on the same client gives the same answer.
        second = screen_catalog(
            subset, START, window, THRESHOLD_KM, primary=primary, scheduler=client
        )
    assert local.events, "the primary must have conjunctions in the window"
    assert first.events == local.events == second.events
    assert replace(first.stats, workers=1) == local.stats


def test_failed_unit_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit raising on a worker gives WorkUnitFailedError naming it; the client stays open.

    An in-process cluster (worker threads) sees the monkeypatched function.
    """
    original = screening.screen_work_unit

    def fail_second_hour(unit: WorkUnit) -> screening.UnitResult:
        if unit.slab_start_s == 3600.0:
            raise MemoryError("worker out of memory")
        return original(unit)

    monkeypatch.setattr(dask_cluster, "screen_work_unit", fail_second_hour)
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            scheduler_kwargs=HTTP_ON_FREE_LOCAL_PORT,
        ) as in_process,
        Client(in_process, set_as_default=False) as client,
    ):
        with pytest.raises(WorkUnitFailedError) as failure:
            screen_catalog(
                crowded_subset(50), START, timedelta(hours=3), THRESHOLD_KM, scheduler=client
            )
        assert client.status == "running"
    assert failure.value.index == 1
    assert (failure.value.slab_start_s, failure.value.slab_stop_s) == (3600.0, 7200.0)
    message = str(failure.value)
    assert "work unit 1 (seconds 3600 to 7200 after 2024-11-01T00:00:00+00:00)" in message
    assert "MemoryError: worker out of memory" in message


def test_unreachable_scheduler_is_a_clear_error() -> None:
    address = _unused_address()
    with pytest.raises(SchedulerUnreachableError, match=f"cannot reach .* at {address} within 1 s"):
        screen_catalog(
            crowded_subset(20),
            START,
            timedelta(hours=1),
            THRESHOLD_KM,
            scheduler=address,
            scheduler_timeout_s=1.0,
        )
    with pytest.raises(SchedulerUnreachableError, match="'scheduler-host' is not a Dask"):
        screen_catalog(
            crowded_subset(20), START, timedelta(hours=1), THRESHOLD_KM, scheduler="scheduler-host"
        )
    with pytest.raises(ValueError, match="not both"):
        screen_catalog(
            crowded_subset(20), START, timedelta(hours=1), 5.0, workers=2, scheduler=address
        )


# -------------------------------------------------------------------------------- CLI


def screen_args(catalog: Path, output: Path) -> list[str]:
    """``astroshield screen`` of ``catalog`` over the test's day and threshold."""
    return [
        "screen",
        str(catalog),
        "--start",
        "2024-11-01T00:00:00Z",
        "--days",
        "1",
        "--threshold-km",
        str(THRESHOLD_KM),
        "--output",
        str(output),
    ]


@pytest.fixture
def subset_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "subset.csv"
    path.write_text(format_omm_csv(crowded_subset(OBJECTS)), encoding="utf-8")
    return path


def test_cli_scheduler_writes_the_local_csv(
    cluster: LocalCluster, subset_catalog: Path, tmp_path: Path
) -> None:
    local_csv, cluster_csv = tmp_path / "local.csv", tmp_path / "cluster.csv"
    runner = CliRunner()
    local = runner.invoke(cli, [*screen_args(subset_catalog, local_csv), "--workers", "1"])
    assert local.exit_code == 0, local.output
    on_cluster = runner.invoke(
        cli,
        [*screen_args(subset_catalog, cluster_csv), "--scheduler", cluster.scheduler_address],
    )
    assert on_cluster.exit_code == 0, on_cluster.output
    rows = local_csv.read_text(encoding="utf-8").splitlines()
    assert len(rows) > 20
    assert cluster_csv.read_text(encoding="utf-8").splitlines() == rows


def test_cli_unreachable_scheduler(subset_catalog: Path, tmp_path: Path) -> None:
    address = _unused_address()
    output = tmp_path / "events.csv"
    result = CliRunner().invoke(
        cli,
        [
            *screen_args(subset_catalog, output),
            "--scheduler",
            address,
            "--scheduler-timeout-s",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in result.output
    assert not output.exists()


def test_cli_scheduler_excludes_workers(subset_catalog: Path, tmp_path: Path) -> None:
    args = [*screen_args(subset_catalog, tmp_path / "events.csv"), "--workers", "2"]
    result = CliRunner().invoke(cli, [*args, "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2
    assert "cannot be combined with --workers" in result.output
