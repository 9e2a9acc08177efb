"""The app behind a real HTTP server (uvicorn on a free loopback port), for what the
in-process transport cannot show: streaming, connections kept or dropped."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Yield the base URL of ``app`` served by uvicorn (lifespan included) until exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):  # bounded: 10 s
            if server.started:
                break
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.05)  # uvicorn exposes a flag, not an event
        assert server.started, "uvicorn did not start within 10 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
