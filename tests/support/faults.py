"""Faults for the chaos suite (tests/chaos, benchmarks/chaos.py) and the crash test: the
service as a process that can be SIGKILLed and restarted on its port, client threads that
record every answer, a TCP proxy in front of the database that delays, blackholes or cuts,
and a private Redis that can be stopped and started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from tests.support.servers import REPO_ROOT, free_port, uvicorn_argv

REDIS_SERVER = Path("/usr/bin/redis-server")
# A body is JSON (a dict) or raw bytes sent with the headers' Content-Type.
Body = Mapping[str, Any] | bytes


def spawn_service(
    env: Mapping[str, str], port: int, *, timeout_s: float = 60, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """The service (one uvicorn worker) on ``port``, returned once ``/livez`` answers. The
    caller kills it: the point is to be able to SIGKILL it and start it again. Its output
    goes to ``log`` (appended) when given, e.g. ``CHAOS_SERVER_LOG`` while debugging."""
    if log is None and os.environ.get("CHAOS_SERVER_LOG"):
        log = Path(os.environ["CHAOS_SERVER_LOG"])
    server = subprocess.Popen(
        uvicorn_argv(port, "--workers", "1"),
        env=dict(env),
        cwd=REPO_ROOT,
        stdout=log.open("ab") if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    server.wait(timeout=10)
    raise RuntimeError("the service did not start")


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer (or the failure) came
    status: int | None  # None: no answer (connection refused, reset or timed out)
    retry_after: str | None
    took_s: float  # from sending the request to the answer
    error: str | None = None  # why there was no answer


@dataclass
class Tally:
    """Every answer clients got, to classify and to time the recovery. Thread-safe."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        status: int | None,
        retry_after: str | None = None,
        *,
        took: float,
        error: BaseException | None = None,
    ) -> None:
        why = None if error is None else f"{type(error).__name__}: {error}"
        with self.lock:
            self.answers.append(Answer(time.monotonic(), status, retry_after, took, why))

    def no_answers(self) -> list[Answer]:
        return [a for a in self._snapshot() if a.status is None]

    @property
    def slowest_s(self) -> float:
        return max((a.took_s for a in self._snapshot()), default=0.0)

    def _snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)

    def count(self, *, status: int | None) -> int:
        return sum(a.status == status for a in self._snapshot())

    @property
    def requests(self) -> int:
        return len(self._snapshot())

    @property
    def unavailable(self) -> int:
        """503s that say when to retry."""
        return sum(a.status == 503 and a.retry_after is not None for a in self._snapshot())

    @property
    def server_errors(self) -> int:
        """5xx other than a 503 with Retry-After: what a fault must never cause."""
        return sum(
            a.status is not None
            and a.status >= 500
            and not (a.status == 503 and a.retry_after is not None)
            for a in self._snapshot()
        )

    def unexpected(self) -> list[Answer]:
        """Answers that are neither 2xx nor a 503 with Retry-After (no answer excluded)."""
        return [
            a
            for a in self._snapshot()
            if a.status is not None
            and not 200 <= a.status < 300
            and not (a.status == 503 and a.retry_after is not None)
        ]

    def recovery_s(self, fault_ended: float) -> float | None:
        """From the end of the fault to the first 2xx after it."""
        firsts = [
            a.at
            for a in self._snapshot()
            if a.at >= fault_ended and a.status is not None and 200 <= a.status < 300
        ]
        return min(firsts) - fault_ended if firsts else None


class Sender:
    """Client threads posting distinct bodies; they record which were acknowledged (2xx)
    and every answer in ``tally``. ``first_ack_count`` is set once ``signal_after_acks``
    bodies were acknowledged (the moment to strike)."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        bodies: Mapping[int, Body],
        *,
        signal_after_acks: int,
        tally: Tally | None = None,
    ) -> None:
        self.url = url
        self.headers = headers
        self.bodies = bodies
        self.signal_after_acks = signal_after_acks
        self.tally = tally if tally is not None else Tally()
        self.acknowledged: set[int] = set()
        self.replayed = 0  # retries answered 200: stored before a failure, never acknowledged
        self.lock = threading.Lock()
        self.first_ack_count = threading.Event()

    def post(self, client: httpx.Client, key: int) -> bool:
        body = self.bodies[key]
        began = time.monotonic()
        try:
            if isinstance(body, bytes):
                response = client.post(self.url, content=body, headers=self.headers)
            else:
                response = client.post(self.url, json=body, headers=self.headers)
        except httpx.TransportError as error:
            self.tally.record(None, took=time.monotonic() - began, error=error)
            return False
        took = time.monotonic() - began
        self.tally.record(response.status_code, response.headers.get("retry-after"), took=took)
        if response.status_code in (200, 201):
            with self.lock:
                self.acknowledged.add(key)
                self.replayed += response.status_code == 200
                if len(self.acknowledged) >= self.signal_after_acks:
                    self.first_ack_count.set()
            return True
        return False

    def run(self, keys: list[int], *, until: float | None = None, pause_s: float = 0.1) -> None:
        """Post each key once; with ``until`` (a time.monotonic() deadline), retry each
        until it is acknowledged or the deadline passes, as a client with retries does."""
        with httpx.Client(timeout=30) as client:
            for key in keys:
                while not self.post(client, key) and until is not None:
                    if time.monotonic() > until:
                        return
                    time.sleep(pause_s)


def run_clients(sender: Sender, keys: int, clients: int, **options: Any) -> list[threading.Thread]:
    """Start ``clients`` threads sharing keys ``0..keys-1`` round robin."""
    threads = [
        threading.Thread(
            target=sender.run, args=(list(range(i, keys, clients)),), kwargs=options, daemon=True
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    return threads


Mode = Literal["pass", "delay", "blackhole", "cut"]


class FaultProxy:
    """A TCP proxy between the app and its database, in the test's event loop.

    ``pass`` forwards; ``delay`` holds every chunk ``delay_s`` in each direction;
    ``blackhole`` accepts connections and forwards nothing (held, not lost, as a partition
    that heals: a client that gave up has closed its side by then); ``cut`` closes every
    connection and every new one at once."""

    def __init__(self, target_host: str, target_port: int, *, delay_s: float = 0.1) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.port = 0
        self.mode: Mode = "pass"
        self.connections = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode == "cut":
            self._close_all()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._close_all()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "cut":
            writer.transport.abort()
            return
        self._writers.add(writer)
        await self._flowing.wait()  # a blackhole holds new connections too
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self.mode == "cut" or writer.is_closing():
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._flowing.wait()
                if self.mode == "delay":
                    await asyncio.sleep(self.delay_s)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(dst)
            dst.transport.abort()


class RedisServer:
    """A private redis-server on a free port, without persistence, that can be stopped
    (SIGKILL: as a crash) and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket_to(self.port):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def socket_to(port: int) -> Iterator[None]:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1):
        yield


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    if not REDIS_SERVER.exists() and shutil.which("redis-server") is None:
        raise RuntimeError(f"{REDIS_SERVER} is missing")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


INITDB = Path("/usr/local/bin/initdb")
PG_CTL = Path("/usr/local/bin/pg_ctl")


def private_postgres_missing() -> str | None:
    """Why a private PostgreSQL cluster cannot be made here, or None."""
    if not (INITDB.exists() and PG_CTL.exists()):
        return f"{INITDB} or {PG_CTL} is missing"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "initdb refuses root and there is no postgres user to run it as"
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in ``folder``, trust on loopback, a
    free port), that it can stop hard (``-m immediate``: a crash, recovered from the WAL at
    the next start) and start again. As root it runs as the postgres user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(INITDB), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            str(PG_CTL),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_CTL), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster in a folder of its own under /tmp (pytest's tmp_path is closed to the
    postgres user), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="astroshield-chaos-pg-"))
    cluster = PrivatePostgres(folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
