"""Real network peers for notification tests: an HTTP receiver and an SMTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """A minimal HTTP/1.1 server on 127.0.0.1 answering with the statuses it is given
    (the last one repeats), recording every request."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[ReceivedRequest] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(ReceivedRequest(method, path, headers, body))
                status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode("latin-1")
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    controller: Controller
    collector: _Collector

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[Message]:
        return self.collector.messages


def smtp_server() -> Iterator[SmtpServer]:
    collector = _Collector()
    # aiosmtpd connects to itself to confirm start-up, so it needs a real port up front.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(controller, collector)
    finally:
        controller.stop()
