"""Drain before stopping: the first SIGTERM turns ``/readyz`` to 503 and keeps serving for
``shutdown_drain_s``, so a load balancer probing readiness stops sending new requests
before the server closes its socket; only then does uvicorn's own shutdown begin (it
finishes in-flight requests within ``shutdown_grace_s``). A second SIGTERM stops at once.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Handler = Callable[[int, FrameType | None], Any] | int | None


class Drain:
    def __init__(self) -> None:
        self.since: float | None = None

    @property
    def draining(self) -> bool:
        return self.since is not None

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()


def drain_on_sigterm(drain: Drain, drain_s: float) -> Callable[[], None]:
    """Put the drain in front of the SIGTERM handler the server installed (uvicorn's),
    and return what puts that handler back. Off the main thread (tests serving the app
    in-process) and with ``drain_s`` 0, nothing changes."""
    if drain_s <= 0 or threading.current_thread() is not threading.main_thread():
        return lambda: None
    server_handler: Handler = signal.getsignal(signal.SIGTERM)
    if not callable(server_handler):
        return lambda: None
    loop = asyncio.get_running_loop()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if drain.draining:
            server_handler(signum, frame)  # a second signal: stop now
            return
        drain.begin()
        log.info("draining", seconds=drain_s)
        loop.call_soon_threadsafe(loop.call_later, drain_s, server_handler, signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, server_handler)

    return restore
