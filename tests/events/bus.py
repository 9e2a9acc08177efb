"""NATS for the relay tests: the shared JetStream server CI runs at 127.0.0.1:4222, and
private ``nats-server -js`` processes (free port, temporary store) that a test may stop
and start again."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

SHARED_NATS_URL = os.environ.get("ASTROSHIELD_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
START_BOUND_S = 10.0


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_shared_nats() -> str:
    """The shared server's URL; skipped when it is not there (a failure with CI=true)."""
    host, port = SHARED_NATS_URL.removeprefix("nats://").rsplit(":", 1)
    if not _reachable(host, int(port)):
        if os.environ.get("CI") == "true":
            pytest.fail(f"NATS at {SHARED_NATS_URL} is unreachable and CI=true")
        pytest.skip(f"NATS at {SHARED_NATS_URL} is unreachable")
    return SHARED_NATS_URL


class NatsServer:
    """``nats-server -js`` on a free loopback port with its own store directory; ``stop``
    kills it, ``start`` brings it back on the same port and store."""

    def __init__(self, store: Path) -> None:
        if not os.access(NATS_SERVER, os.X_OK):
            pytest.skip(f"{NATS_SERVER} is not installed")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.store = store
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: ASYNC220 - a short spawn
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(int(START_BOUND_S / 0.05)):
            if _reachable("127.0.0.1", self.port):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"nats-server did not listen on {self.port} within {START_BOUND_S} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@asynccontextmanager
async def private_nats(store: Path) -> AsyncIterator[NatsServer]:
    server = NatsServer(store)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    client = Client()
    await client.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        yield client
    finally:
        await client.close()


async def stored_messages(url: str, stream: str, subjects: str) -> list[Any]:
    """Every message ``stream`` holds on ``subjects``, in stream order (a fresh ephemeral
    consumer from the start: what any subscriber would receive)."""
    async with connected(url) as client:
        jetstream = client.jetstream()
        subscription = await jetstream.pull_subscribe(
            subjects,
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        info = await subscription.consumer_info()
        count = int(info.num_pending)
        messages: list[Any] = []
        while len(messages) < count:
            batch = await subscription.fetch(count - len(messages), timeout=5)
            for message in batch:
                await message.ack()
            messages.extend(batch)
        info = await subscription.consumer_info()
        assert info.num_pending == 0
        await subscription.unsubscribe()
        return messages
