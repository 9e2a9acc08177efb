"""Real notification receivers, started per test: an HTTP server and an SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.receivers import HttpReceiver, SmtpServer, smtp_server


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = HttpReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()
