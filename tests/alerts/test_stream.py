"""The alert stream (Server-Sent Events) lives no longer than the authority of its token.

The in-process transport hands the response over only once the stream has ended, which
is exactly what these tests wait for.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import DEFAULT_PASSWORD, Factory
from tests.support.replicas import POLL_BOUND_S, bearer, log_in, replicas

STREAM = "/api/v1/alerts/stream"


def _closing_reason(body: str) -> str:
    """The reason in the stream's last event, which must be the ``closed`` event."""
    events = [block for block in body.strip().split("\n\n") if block]
    assert events[0] == ": connected"
    last = events[-1].splitlines()
    assert last[0] == "event: closed", body
    reason: str = json.loads(last[1].removeprefix("data: "))["reason"]
    return reason


@pytest.mark.redis
async def test_the_stream_ends_when_its_login_ends_on_another_replica(
    database_url: str, factory: Factory
) -> None:
    async with replicas(database_url) as (a, b):
        email = f"sse-{uuid.uuid4().hex[:8]}@example.org"
        await factory.user(role="viewer", email=email)
        pair = await log_in(a.client, email, DEFAULT_PASSWORD)
        headers = bearer(pair["access_token"])
        listening = asyncio.ensure_future(b.client.get(STREAM, headers=headers))
        await asyncio.sleep(0.3)  # connected on replica B
        assert not listening.done()
        assert (await a.client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        response = await asyncio.wait_for(listening, POLL_BOUND_S)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert _closing_reason(response.text) == "token revoked"


async def test_the_stream_ends_when_its_token_expires(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user(role="viewer")
    lifetime = app.state.security.tokens.access_ttl
    token = factory.token(user, now=datetime.now(UTC) - lifetime + timedelta(seconds=2))
    response = await asyncio.wait_for(client.get(STREAM, headers=bearer(token)), 10)
    assert _closing_reason(response.text) == "token expired"
