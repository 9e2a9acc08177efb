"""What the chaos suite made the API say when a connection it needs breaks: 503 with
Retry-After for a broken connection, whatever layer raised it; a bad value stays an
error of its own."""

from __future__ import annotations

import asyncpg
import pytest
from starlette.types import Message

from astroshield.errors import driver_connection_lost, send_problem

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionError("unexpected connection_lost() call"),
        asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.InterfaceError("the underlying connection is closed"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 15"),
    ],
)
def test_a_broken_connection_is_unavailable(exc: BaseException) -> None:
    assert driver_connection_lost(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        asyncpg.exceptions.DataError("invalid input for query argument"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
)
def test_a_bad_value_is_not_unavailable(exc: BaseException) -> None:
    assert not driver_connection_lost(exc)


async def test_every_503_says_when_to_retry() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/x"}
    await send_problem(send, scope, status=503, slug="service-unavailable", title="t", detail="d")
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 503
    assert headers[b"retry-after"] == b"1"
