"""Network namespaces as separate "hosts" on one machine, and a Dask cluster across them.

:func:`network_hosts` creates ``count`` network namespaces, each with ``lo`` up and one veth
pair whose root end is enslaved to a bridge in the root namespace; the bridge holds the
first address of a private /24 (``10.a.b.0/24``, chosen at random among those no route or
address of the machine overlaps), host *i* gets ``.(i + 2)``. The root namespace (the test
process, a Dask client) reaches every host through the bridge, and the hosts reach each
other; nothing is routed beyond the /24. Names carry a random suffix
(``as<6 hex>h<i>``, bridge ``asb<6 hex>``), so parallel runs never collide, and ports are
per namespace, so two runs may both listen on 8786.

Everything is torn down on exit, also when the body or the set-up itself fails: processes
started with :meth:`Hosts.start` (their whole process group: SIGTERM, then SIGKILL after
5 s), any process still inside a namespace, the namespaces (their veth ends go with them)
and the bridge. Creating a namespace needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): without
it :class:`NamespacesUnavailableError` says so, and tests skip with that reason.

The second half starts a Dask scheduler and workers on such hosts the way an operator
would on separate machines (``dask scheduler --host``, ``dask worker tcp://...``), used by
tests/astro/test_screening_dask_hosts.py and benchmarks/screening_scale_out.py.
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"
SCHEDULER_PORT = 8786
_STOP_GRACE_S = 5.0


class NamespacesUnavailableError(RuntimeError):
    """Network namespaces cannot be created here (not root, or no ``ip``)."""


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its address on the /24 and the root end of its veth."""

    name: str
    address: str
    veth: str


@dataclass
class Hosts:
    """The hosts of one :func:`network_hosts` block and what runs on them."""

    hosts: list[Host]
    gateway: str  # the bridge's address in the root namespace
    subnet: str
    workdir: Path  # logs and scratch space, removed on exit
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: dict[int, Path] = field(default_factory=dict)

    def __getitem__(self, index: int) -> Host:
        return self.hosts[index]

    def run(self, host: Host, argv: Sequence[str], timeout_s: float = 30.0) -> str:
        """Run ``argv`` inside ``host`` to completion; its stdout. Fails naming stderr."""
        return _ip("netns", "exec", host.name, *argv, timeout_s=timeout_s)

    def start(self, host: Host, argv: Sequence[str], label: str) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host`` in a process group of its own, output to a log
        file (``log_tail``); stopped on exit of the block."""
        log = self.workdir / f"{label}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["ip", "netns", "exec", host.name, *argv],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._processes.append(process)
        self._logs[process.pid] = log
        return process

    def log_tail(self, process: subprocess.Popen[bytes], lines: int = 20) -> str:
        text = self._logs[process.pid].read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def traffic(self, host: Host) -> tuple[int, int]:
        """Bytes (received, sent) by ``host`` so far, from its veth's counters."""
        stats = Path("/sys/class/net") / host.veth / "statistics"
        # The root end's transmit is what the host received, and the other way round.
        received = int((stats / "tx_bytes").read_text())
        sent = int((stats / "rx_bytes").read_text())
        return received, sent

    def stop_processes(self) -> None:
        """SIGTERM every started process group, SIGKILL what is left after the grace."""
        for process in self._processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for process in self._processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # the group: children of a nanny too
            process.wait()
        self._processes.clear()


def _signal_group(process: subprocess.Popen[bytes], number: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


def _ip(*args: str, timeout_s: float = 30.0) -> str:
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network an address or a route (any table) of the root namespace covers."""
    networks: list[ipaddress.IPv4Network] = []
    for line in _ip("-4", "-o", "addr", "show").splitlines():
        words = line.split()
        networks.append(ipaddress.IPv4Interface(words[words.index("inet") + 1]).network)
    for line in _ip("-4", "route", "show", "table", "all").splitlines():
        # "10.1.2.0/24 dev ...", "local 10.1.2.1 dev ...", "default via ...": the first
        # word that is an address or a network is the destination.
        for word in line.split()[:2]:
            try:
                networks.append(ipaddress.IPv4Network(word, strict=False))
                break
            except ValueError:
                continue
    return networks


def _free_subnet() -> ipaddress.IPv4Network:
    in_use = _networks_in_use()
    chooser = random.SystemRandom()
    for _ in range(1000):
        candidate = ipaddress.IPv4Network(
            f"10.{chooser.randrange(16, 255)}.{chooser.randrange(1, 255)}.0/24"
        )
        if not any(candidate.overlaps(network) for network in in_use):
            return candidate
    raise RuntimeError("no free 10.x.y.0/24 found for the namespaces")


def _add_first_namespace(name: str) -> None:
    """``ip netns add``; a refusal for lack of privilege is NamespacesUnavailableError."""
    try:
        _ip("netns", "add", name)
    except FileNotFoundError as error:
        raise NamespacesUnavailableError(
            "network namespaces cannot be created: the ip command (iproute2) is missing"
        ) from error
    except RuntimeError as error:
        text = str(error)
        if os.geteuid() != 0 or "ermission denied" in text or "not permitted" in text:
            raise NamespacesUnavailableError(
                "creating a network namespace is not permitted (needs root with CAP_SYS_ADMIN"
                f" and CAP_NET_ADMIN): {text}"
            ) from error
        raise


def _add_host(name: str, veth: str, bridge: str, address: str, prefix: int) -> None:
    peer = "asp" + veth[3:]
    _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
    _ip("link", "set", peer, "netns", name)
    _ip("link", "set", veth, "master", bridge, "up")
    inside = ("netns", "exec", name, "ip")
    _ip(*inside, "link", "set", peer, "name", "eth0")
    _ip(*inside, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
    _ip(*inside, "link", "set", "eth0", "up")
    _ip(*inside, "link", "set", "lo", "up")


def _teardown(names: list[str], veths: list[str], bridge: str | None) -> list[str]:
    """Kill what still runs in the namespaces, delete them, any veth left in the root
    namespace (a set-up that failed half-way) and the bridge; the errors."""
    errors = []
    for name in names:
        try:
            for pid in _ip("netns", "pids", name).split():
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", name)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            errors.append(str(error))
    for link in [*(veth for veth in veths if Path(f"/sys/class/net/{veth}").exists()), bridge]:
        if link is None:
            continue
        try:
            _ip("link", "del", link)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            # A veth goes away by itself once its namespace is gone (asynchronously).
            if "Cannot find device" not in str(error):
                errors.append(str(error))
    return errors


@contextmanager
def network_hosts(count: int) -> Iterator[Hosts]:
    """``count`` namespaces on one bridge (see the module docstring); all removed on exit."""
    if not 1 <= count <= 200:
        raise ValueError("count must be between 1 and 200")
    suffix = secrets.token_hex(3)
    names: list[str] = []
    veths: list[str] = []
    bridge: str | None = None
    hosts: Hosts | None = None
    with tempfile.TemporaryDirectory(prefix=f"netns-{suffix}-") as workdir:
        try:
            first = f"as{suffix}h0"
            _add_first_namespace(first)
            names.append(first)
            subnet = _free_subnet()
            addresses = [str(address) for address in subnet.hosts()]
            bridge = f"asb{suffix}"
            _ip("link", "add", bridge, "type", "bridge")
            _ip("addr", "add", f"{addresses[0]}/{subnet.prefixlen}", "dev", bridge)
            _ip("link", "set", bridge, "up")
            members = []
            for index in range(count):
                name = f"as{suffix}h{index}"
                if index:
                    _ip("netns", "add", name)
                    names.append(name)
                host = Host(name, addresses[index + 1], f"asv{suffix}{index}")
                veths.append(host.veth)
                _add_host(name, host.veth, bridge, host.address, subnet.prefixlen)
                members.append(host)
            hosts = Hosts(members, addresses[0], str(subnet), Path(workdir))
            yield hosts
        finally:
            if hosts is not None:
                hosts.stop_processes()
            errors = _teardown(names, veths, bridge)
            if errors and sys.exc_info()[0] is None:
                raise RuntimeError("network namespace teardown failed: " + "; ".join(errors))


# ---------------------------------------------------------------------- Dask on the hosts


def wait_for_port(address: str, port: int, process: subprocess.Popen[bytes], hosts: Hosts) -> None:
    """Until ``address:port`` accepts a TCP connection from the root namespace (30 s)."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{hosts.log_tail(process)}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{address}:{port} did not answer within 30 s:\n{hosts.log_tail(process)}")


def start_scheduler(hosts: Hosts, host: Host) -> str:
    """``dask scheduler`` on ``host``, once it accepts connections; its address."""
    argv = [
        str(DASK),
        "scheduler",
        "--host",
        host.address,
        "--port",
        str(SCHEDULER_PORT),
        "--no-dashboard",
    ]
    process = hosts.start(host, argv, f"scheduler-{host.name}")
    wait_for_port(host.address, SCHEDULER_PORT, process, hosts)
    return f"tcp://{host.address}:{SCHEDULER_PORT}"


def start_worker(hosts: Hosts, host: Host, scheduler: str) -> subprocess.Popen[bytes]:
    """One single-threaded ``dask worker`` (behind its nanny) on ``host``."""
    argv = [
        str(DASK),
        "worker",
        scheduler,
        "--nthreads",
        "1",
        "--nworkers",
        "1",
        "--host",
        host.address,
        "--no-dashboard",
        "--local-directory",
        str(hosts.workdir / f"dask-{host.name}"),
        "--death-timeout",
        "60",
    ]
    return hosts.start(host, argv, f"worker-{host.name}")


@contextmanager
def dask_on_hosts(workers: int) -> Iterator[tuple[Hosts, str]]:
    """Hosts 0 (scheduler) and 1..``workers`` (one worker each) with the processes started;
    the scheduler's address. Wait for the workers with ``Client.wait_for_workers``."""
    with ExitStack() as stack:
        hosts = stack.enter_context(network_hosts(workers + 1))
        scheduler = start_scheduler(hosts, hosts[0])
        for host in hosts.hosts[1:]:
            start_worker(hosts, host, scheduler)
        yield hosts, scheduler
