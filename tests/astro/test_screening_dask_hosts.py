"""Catalog screening on a Dask cluster whose scheduler and workers are separate hosts.

Three network namespaces stand in for three machines (tests/support/netns.py): the scheduler
on one (``dask scheduler --host``), a single-threaded worker on each of the other two
(``dask worker tcp://<scheduler>:8786 --host <own address>``), all started as an operator
would; the client is this process, in the root namespace, reaching them over a bridge. The
result must be the local run's (events, skipped objects, stage counts; the CLI's CSV byte
for byte), and the work units must really have run on both worker hosts. A last test
checks that the hosts and what runs in them are removed when the block fails.

Here, under tests/astro, the test runs in the SQLite pass of ``make test`` only: it touches
no database. It needs root to create the namespaces and is skipped, saying so, without.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from distributed import Client, get_task_stream
from tests.astro.test_screening import START, crowded_subset
from tests.astro.test_screening_dask import (
    OBJECTS,
    ONE_DAY,
    THRESHOLD_KM,
    assert_same_as_local,
    screen_args,
)
from tests.support.netns import (
    Hosts,
    NamespacesUnavailableError,
    dask_on_hosts,
    network_hosts,
)
from typer.testing import CliRunner

from astroshield.astro.conjunction.screening import screen_catalog
from astroshield.astro.formats.omm import format_omm_csv
from astroshield.cli import app as cli

pytestmark = pytest.mark.slow

WORKERS = 2


@pytest.fixture(scope="module")
def on_hosts() -> Iterator[tuple[Hosts, str]]:
    """The hosts and the scheduler's address, once both workers have joined."""
    with ExitStack() as stack:
        try:
            hosts, scheduler = stack.enter_context(dask_on_hosts(WORKERS))
        except NamespacesUnavailableError as error:
            pytest.skip(str(error))
        with Client(scheduler, timeout=10, set_as_default=False) as client:
            client.wait_for_workers(WORKERS, timeout=60)
        yield hosts, scheduler


NET_NAMESPACE = "/proc/self/ns/net"  # its link names the process's network namespace


def test_hosts_run_equals_local_run(on_hosts: tuple[Hosts, str]) -> None:
    hosts, scheduler = on_hosts
    worker_addresses = {host.address for host in hosts.hosts[1:]}
    subset = crowded_subset(OBJECTS)
    local = screen_catalog(subset, START, ONE_DAY, THRESHOLD_KM, workers=1)
    with Client(scheduler, timeout=10, set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
        assert {urlparse(address).hostname for address in workers} == worker_addresses
        # Each worker process lives in a network namespace of its own, not the client's.
        # (os.readlink travels by reference; a function of this module would not import
        # on a worker, which has the package but not the tests.)
        namespaces = client.run(os.readlink, NET_NAMESPACE)
        assert len(set(namespaces.values())) == WORKERS
        assert os.readlink(NET_NAMESPACE) not in namespaces.values()
        with get_task_stream(client=client) as stream:
            distributed = screen_catalog(subset, START, ONE_DAY, THRESHOLD_KM, scheduler=client)
    assert_same_as_local(distributed, local, cluster_threads=WORKERS)
    units = [task for task in stream.data if str(task["key"]).startswith("screen-unit-")]
    assert len(units) == distributed.stats.work_units == 24
    per_host = Counter(urlparse(task["worker"]).hostname for task in units)
    assert set(per_host) == worker_addresses, per_host
    assert min(per_host.values()) >= 1, per_host


def test_cli_scheduler_on_hosts_writes_the_local_csv(
    on_hosts: tuple[Hosts, str], tmp_path: Path
) -> None:
    _, scheduler = on_hosts
    catalog = tmp_path / "subset.csv"
    catalog.write_text(format_omm_csv(crowded_subset(OBJECTS)), encoding="utf-8")
    local_csv, hosts_csv = tmp_path / "local.csv", tmp_path / "hosts.csv"
    runner = CliRunner()
    local = runner.invoke(cli, [*screen_args(catalog, local_csv), "--workers", "1"])
    assert local.exit_code == 0, local.output
    on_cluster = runner.invoke(cli, [*screen_args(catalog, hosts_csv), "--scheduler", scheduler])
    assert on_cluster.exit_code == 0, on_cluster.output
    assert len(local_csv.read_text(encoding="utf-8").splitlines()) > 20
    assert hosts_csv.read_bytes() == local_csv.read_bytes()


def _fail_inside_hosts(seen: dict[str, Any]) -> None:
    """Two hosts, a process started in one, checks from inside, then the body fails."""
    try:
        with network_hosts(2) as hosts:
            first = hosts[0]
            inside = hosts.run(first, ["ip", "-4", "addr"])
            assert f"inet {first.address}/24" in inside
            assert hosts.gateway not in inside  # the bridge's address is the root's
            seen["process"] = hosts.start(hosts[1], ["sleep", "600"], "sleeper")
            seen["names"] = {host.name for host in hosts.hosts}
            seen["bridge"] = "asb" + first.name[2:8]
            assert Path(f"/sys/class/net/{seen['bridge']}").exists()
            raise RuntimeError("the body failed")
    except NamespacesUnavailableError as error:
        pytest.skip(str(error))


def test_hosts_are_torn_down_after_a_failure() -> None:
    """Namespaces, bridge and the processes started in them are gone after the block
    failed; a command run in a host sees that host's address, not the root namespace's."""
    seen: dict[str, Any] = {}
    with pytest.raises(RuntimeError, match="the body failed"):
        _fail_inside_hosts(seen)
    assert seen["process"].poll() is not None
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not seen["names"] & {line.split()[0] for line in listed.stdout.splitlines() if line}
    assert not Path(f"/sys/class/net/{seen['bridge']}").exists()
