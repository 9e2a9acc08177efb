"""Live telemetry over WebSocket: authenticated, organisation-scoped, filtered, and a
client that stops reading is dropped without ever holding ingest back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from astroshield.telemetry.live import LiveHub
from tests.conftest import DEFAULT_PASSWORD, Factory
from tests.support.replicas import POLL_BOUND_S, bearer, log_in, replicas
from tests.telemetry.support import T0, Archive, make_archive, series, stored_counts


@contextlib.asynccontextmanager
async def websocket_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Entered inside the test's own task: the transport's task group must exit there."""
    # A generous accept timeout: the handler checks the token against the database first.
    transport = ASGIWebSocketTransport(app=app, initial_receive_timeout=60)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def unique_email() -> str:
    return f"live-{uuid.uuid4().hex[:8]}@example.org"


def live_url(archive: Archive, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{archive.base}/live" + (f"?{query}" if query else "")


async def test_a_client_receives_new_samples_and_alarms_of_its_parameters(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    limits = {"ranges": {"warning": {"low": 25.5, "high": 29.4}}, "min_violations": 2}
    put = await client.put(
        archive.base + "/bus_voltage/limits", json=limits, headers=archive.headers
    )
    assert put.status_code == 200, put.text
    url = live_url(archive, parameters="bus_voltage")
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(url, ws_client, headers=archive.headers) as ws,
    ):
        assert await ws.receive_json() == {"type": "subscribed", "parameters": ["bus_voltage"]}
        voltages = [
            {"parameter": "bus_voltage", "time": s["time"], "value": v}
            for s, v in zip(series("bus_voltage", T0, 3), (28.0, 30.0, 30.5), strict=True)
        ]
        batch = voltages + series("panel_temp", T0, 3)
        assert (await archive.post(batch, sequence=1)).status_code == 201

        # panel_temp is filtered out; samples and alarm may come in either order.
        received = {m["type"]: m for m in [await ws.receive_json(), await ws.receive_json()]}
        samples, alarm = received["samples"], received["alarm"]
        assert samples["parameter"] == "bus_voltage"
        assert [(s["value"], s["limit"]) for s in samples["samples"]] == [
            (28.0, None),
            (30.0, "warning"),
            (30.5, "warning"),
        ]
        assert alarm["parameter"] == "bus_voltage"
        assert (alarm["level"], alarm["change"], alarm["status"]) == ("warning", "fired", "firing")
        assert alarm["value"] == 30.5

        await ws.send_text("not json")
        assert (await ws.receive_json())["type"] == "error"
        await ws.send_json({"type": "subscribe", "parameters": ["no_such"]})
        assert await ws.receive_json() == {
            "type": "error",
            "detail": "unknown parameters: no_such",
        }
        await ws.send_json({"type": "subscribe", "parameters": ["panel_temp"]})
        assert await ws.receive_json() == {"type": "subscribed", "parameters": ["panel_temp"]}
        more = series("bus_voltage", T0.replace(hour=1), 2) + series(
            "panel_temp", T0.replace(hour=1), 2
        )
        assert (await archive.post(more, sequence=2)).status_code == 201
        assert (await ws.receive_json())["parameter"] == "panel_temp"


async def test_the_token_may_come_as_a_query_parameter(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    token = archive.headers["Authorization"].removeprefix("Bearer ")
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive, token=token), ws_client) as ws,
    ):
        assert await ws.receive_json() == {"type": "subscribed", "parameters": None}


async def test_the_token_may_come_as_the_first_message(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    token = archive.headers["Authorization"].removeprefix("Bearer ")
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive, parameters="panel_temp"), ws_client) as ws,
    ):
        await ws.send_json({"type": "auth", "token": token})
        assert await ws.receive_json() == {"type": "subscribed", "parameters": ["panel_temp"]}
        assert (await archive.post(series("panel_temp", T0, 2), sequence=1)).status_code == 201
        message = await ws.receive_json()
        assert (message["type"], message["parameter"]) == ("samples", "panel_temp")
        assert [s["value"] for s in message["samples"]] == [
            s["value"] for s in series("panel_temp", T0, 2)
        ]


async def _session_cookie(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, archive: Archive
) -> str:
    """A browser login (cookie session) of an operator of the archive's organisation."""
    email = unique_email()
    await factory.user(archive.organisation, role="operator", email=email)
    response = await client.post(
        "/api/v1/auth/session", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    name = app.state.security.access_cookie
    return f"{name}={response.cookies[name]}"


async def test_a_page_of_this_service_streams_with_its_session_cookie(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    cookie = await _session_cookie(app, client, factory, archive)
    headers = {"Cookie": cookie, "Origin": "http://testserver"}
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive, parameters="panel_temp"), ws_client, headers=headers) as ws,
    ):
        assert await ws.receive_json() == {"type": "subscribed", "parameters": ["panel_temp"]}
        assert (await archive.post(series("panel_temp", T0, 2), sequence=1)).status_code == 201
        message = await ws.receive_json()
        assert (message["type"], message["parameter"]) == ("samples", "panel_temp")


@pytest.mark.parametrize("origin", ["http://evil.example", "http://testserver.evil.example", None])
async def test_the_session_cookie_is_not_taken_from_another_sites_page(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, origin: str | None
) -> None:
    # Cross-site WebSocket hijacking: the browser sends the cookie with any site's socket.
    archive = await make_archive(client, factory)
    headers = {"Cookie": await _session_cookie(app, client, factory, archive)}
    if origin is not None:
        headers["Origin"] = origin
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive), ws_client, headers=headers) as ws,
    ):
        # Not streaming: the connection waits for an auth message of a token of its own.
        await ws.send_json({"type": "subscribe", "parameters": None})
        with pytest.raises(WebSocketDisconnect) as refused:
            await ws.receive_json()
    assert refused.value.code == 1008
    assert "the first message must be" in refused.value.reason


async def _closed_after_accept(ws_client: httpx.AsyncClient, url: str, first: Any) -> Any:
    """Open without a token, send ``first`` (unless None), and return how the server closed."""
    async with aconnect_ws(url, ws_client) as ws:
        if first is not None:
            await ws.send_json(first)
        with pytest.raises(WebSocketDisconnect) as refused:
            await ws.receive_json()
    return refused.value


async def test_without_a_good_auth_message_the_connection_is_closed_with_1008(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    cases = [
        (None, "authentication required: send"),
        ({"type": "subscribe", "parameters": None}, "the first message must be"),
        ({"type": "auth"}, "has no token"),
        ({"type": "auth", "token": "not-a-token"}, "invalid or expired token"),
    ]
    settings = app.state.settings
    # Short, so that the silent client is refused without slowing the suite.
    app.state.settings = settings.model_copy(update={"telemetry_ws_auth_timeout_s": 0.2})
    try:
        async with websocket_client(app) as ws_client:
            for first, reason in cases:
                refused = await _closed_after_accept(ws_client, live_url(archive), first)
                assert refused.code == 1008 and reason in refused.reason, (first, refused.reason)
    finally:
        app.state.settings = settings
    assert app.state.telemetry_hub.subscribers(uuid.UUID(archive.spacecraft_id)) == 0


async def refusal(ws_client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    with pytest.raises(WebSocketDisconnect) as refused:
        async with aconnect_ws(url, ws_client, headers=headers):
            pass
    return refused.value


async def test_connections_are_refused_before_accept_with_1008_and_a_reason(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    cases = [
        ({"Authorization": "Bearer not-a-token"}, "invalid or expired token"),
        ({"Authorization": "Basic abc"}, "malformed Authorization header"),
        (await factory.login(role="operator"), "not found"),  # another organisation
    ]
    user = await factory.user(archive.organisation)
    cases.append(({"Authorization": f"Bearer {factory.token(user, scopes=[])}"}, "telemetry:read"))
    async with websocket_client(app) as ws_client:
        for headers, reason in cases:
            refused = await refusal(ws_client, live_url(archive), headers)
            assert refused.code == 1008 and reason in refused.reason, (headers, refused.reason)
        unknown = await refusal(ws_client, live_url(archive, parameters="nope"), archive.headers)
    assert unknown.code == 1008 and "unknown parameters: nope" in unknown.reason
    assert app.state.telemetry_hub.subscribers(uuid.UUID(archive.spacecraft_id)) == 0


class NeverReadingClient:
    """A WebSocket client driven at the ASGI level whose transport never drains: every
    frame the server sends after the handshake blocks, as a full TCP window would."""

    def __init__(self, app: FastAPI, path: str, headers: dict[str, str]) -> None:
        self.scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "scheme": "ws",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.app = app
        self.accepted = asyncio.Event()
        self.closed: dict[str, Any] | None = None
        self._connected = False
        self._stalled = asyncio.Event()  # never set: the client never reads

    async def _receive(self) -> dict[str, Any]:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        await asyncio.Event().wait()  # the client never says anything
        raise AssertionError("unreachable")

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept":
            self.accepted.set()
        elif message["type"] == "websocket.close":
            self.closed = message
        elif message["type"] == "websocket.send":
            await self._stalled.wait()

    async def run(self) -> None:
        await self.app(self.scope, self._receive, self._send)


@pytest.mark.slow
async def test_a_slow_consumer_is_dropped_while_every_batch_is_stored(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    # A small queue keeps the test short; the hub is what create_app installs, resized.
    default_hub = app.state.telemetry_hub
    hub = app.state.telemetry_hub = LiveHub(queue_size=4)
    try:
        slow = NeverReadingClient(app, f"{archive.base}/live", archive.headers)
        connection = asyncio.ensure_future(slow.run())
        await slow.accepted.wait()

        batches = hub.queue_size + 5  # one samples message per batch: more than it holds
        for sequence in range(batches):
            batch = series("bus_voltage", T0 + timedelta(hours=sequence), 10)
            response = await archive.post(batch, sequence=sequence)
            assert response.status_code == 201, response.text

        await connection  # the handler returns once it has closed the connection
    finally:
        app.state.telemetry_hub = default_hub
    assert slow.closed is not None
    assert (slow.closed["code"], slow.closed["reason"]) == (1013, "slow consumer")
    assert (await stored_counts(app)) == (10 * batches, batches)
    assert hub.subscribers(uuid.UUID(archive.spacecraft_id)) == 0
    assert hub.dropped_total == 1


async def _read_until_closed(ws: Any, bound_s: float) -> None:
    async with asyncio.timeout(bound_s):
        while True:
            await ws.receive_json()


async def _closed_within(ws: Any, bound_s: float) -> Any:
    """How the server closed the connection, waiting at most ``bound_s``."""
    with pytest.raises(WebSocketDisconnect) as closed:
        await _read_until_closed(ws, bound_s)
    return closed.value


@pytest.mark.redis
async def test_the_stream_closes_with_1008_when_its_login_ends_on_another_replica(
    database_url: str, factory: Factory
) -> None:
    async with replicas(database_url) as (a, b):
        archive = await make_archive(a.client, factory)
        await factory.user(archive.organisation, role="viewer", email=(email := unique_email()))
        pair = await log_in(a.client, email, DEFAULT_PASSWORD)
        async with (
            websocket_client(b.app) as ws_client,
            aconnect_ws(live_url(archive), ws_client, headers=bearer(pair["access_token"])) as ws,
        ):
            assert (await ws.receive_json())["type"] == "subscribed"
            logout = await a.client.post(
                "/api/v1/auth/logout", headers=bearer(pair["access_token"])
            )
            assert logout.status_code == 204
            closed = await _closed_within(ws, POLL_BOUND_S)
        assert (closed.code, closed.reason) == (1008, "token revoked")
        assert b.app.state.telemetry_hub.subscribers(uuid.UUID(archive.spacecraft_id)) == 0


@pytest.mark.redis
async def test_the_stream_closes_with_1008_when_the_account_is_deactivated(
    database_url: str, factory: Factory
) -> None:
    async with replicas(database_url) as (a, b):
        archive = await make_archive(a.client, factory)
        user = await factory.user(archive.organisation, role="viewer")
        admin = await factory.login(archive.organisation, role="admin")
        async with (
            websocket_client(b.app) as ws_client,
            aconnect_ws(live_url(archive), ws_client) as ws,
        ):
            await ws.send_json({"type": "auth", "token": factory.token(user)})
            assert (await ws.receive_json())["type"] == "subscribed"
            off = await a.client.patch(
                f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin
            )
            assert off.status_code == 200
            closed = await _closed_within(ws, POLL_BOUND_S)
        assert (closed.code, closed.reason) == (1008, "token revoked")


async def test_the_stream_closes_with_1008_when_its_token_expires(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    archive = await make_archive(client, factory)
    user = await factory.user(archive.organisation, role="viewer")
    lifetime = app.state.security.tokens.access_ttl
    # Issued so that it has two seconds left.
    token = factory.token(user, now=datetime.now(UTC) - lifetime + timedelta(seconds=2))
    async with (
        websocket_client(app) as ws_client,
        aconnect_ws(live_url(archive), ws_client, headers=bearer(token)) as ws,
    ):
        assert (await ws.receive_json())["type"] == "subscribed"
        closed = await _closed_within(ws, 10)
    assert (closed.code, closed.reason) == (1008, "token expired")
