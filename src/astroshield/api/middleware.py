"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs throughput on every request)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.message import Message as MimeMessage
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from astroshield.api.json_body import decode_json_body
from astroshield.api.media_types import unsupported_media_type
from astroshield.errors import (
    DomainError,
    FieldError,
    InvalidInputError,
    PayloadTooLargeError,
    send_problem,
)

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
# scope["state"] key: header pairs inner middleware wants on the response; the edge
# middleware appends them, so those layers need no send wrapper of their own.
RESPONSE_HEADERS_KEY = "response_headers"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def valid_request_id(value: str) -> bool:
    """An incoming ``X-Request-ID`` worth keeping (safe to log and echo)."""
    return _REQUEST_ID_RE.match(value) is not None


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REQUEST_LOG_KEYS = ("user_id", "organisation_id")
JSON_MEDIA_TYPES = frozenset({"application/json"})


API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


# Headers that only mean something on an HTML document (where a page navigates from, a
# browsing-context group): the pages we serve (the docs) set them; JSON answers skip them,
# as the OWASP REST Security cheat sheet's list for APIs does.
DOCUMENT_HEADERS = {"referrer-policy": "no-referrer", "cross-origin-opener-policy": "same-origin"}


def security_headers(*, hsts: bool) -> list[tuple[bytes, bytes]]:
    """Headers every response carries (OWASP Secure Headers, REST Security cheat sheet);
    a route may set a stricter or looser Content-Security-Policy of its own (the docs page
    does). Each header costs every response, so only those that apply to an API are here."""
    headers = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "content-security-policy": API_CSP,
    }
    if hsts:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def add_missing_headers(
    message: Message, extra: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The response's headers plus those of ``extra`` it does not set itself (names in
    lower case, as ASGI servers and Starlette produce them). Precomputed byte pairs cost
    a fraction of ``MutableHeaders.setdefault`` per header, on every response."""
    headers = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    headers.extend(pair for pair in extra if pair[0] not in present)
    return headers


def media_type_of(content_type: str) -> str:
    message = MimeMessage()
    message["content-type"] = content_type
    return message.get_content_type()


def is_json_media_type(media_type: str) -> bool:
    return media_type in JSON_MEDIA_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def is_text_media_type(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type.endswith(("/xml", "+xml"))


def nul_in_request_line_or_headers(scope: Scope) -> FieldError | None:
    """The first query parameter, header or path holding a NUL character (which no
    database text column can store and no honest client sends)."""
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return FieldError(["query", name.replace("\x00", "")], "must not contain NUL")
    if "\x00" in scope["path"]:
        return FieldError(["path"], "must not contain NUL")
    for name, value in scope["headers"]:
        if b"\x00" in value:
            return FieldError(["header", name.decode("latin-1")], "must not contain NUL")
    return None


class RequestGuardMiddleware:
    """Refuses what no handler should see: oversized bodies (413), unexpected body media
    types (415), a NUL in the path, query or a header, and bodies that are not what their
    media type says (422): JSON that :func:`~astroshield.api.json_body.decode_json_body`
    refuses, text with a NUL byte.

    A declared ``Content-Length`` over the limit is refused at once; otherwise the body is
    buffered up to the limit (refused the moment it exceeds it, so memory per request stays
    bounded), checked and replayed to the handler. Bodies of unsafe methods must be JSON
    unless the path has other media types registered in ``extra_media_types`` (path regex
    -> media types). Paths in ``handler_checked_json`` (regexes) read and check their JSON
    themselves, with the same function.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        extra_media_types: Mapping[str, frozenset[str]] | None = None,
        handler_checked_json: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.extra_media_types = [
            (re.compile(pattern), types) for pattern, types in (extra_media_types or {}).items()
        ]
        self.handler_checked_json = [re.compile(pattern) for pattern in handler_checked_json]

    def accepted(self, path: str) -> frozenset[str]:
        """The body media types read at ``path``: its registered ones, else JSON."""
        for pattern, types in self.extra_media_types:
            if pattern.match(path):
                return types
        return JSON_MEDIA_TYPES

    def _allowed(self, path: str, media_type: str) -> bool:
        accepted = self.accepted(path)
        if accepted is JSON_MEDIA_TYPES:
            return is_json_media_type(media_type)
        return media_type in accepted

    # A pure ASGI guard reads the request once, in order (request line, size, media type,
    # JSON); each branch is one refusal, and splitting it adds calls on every request.
    # Long because: the same flat list of refusals, read top to bottom.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nul = nul_in_request_line_or_headers(scope)
        if nul is not None:
            where = ".".join(str(part) for part in nul["loc"])
            await _send_invalid(
                send, scope, InvalidInputError(f"{where} must not contain NUL", errors=[nul])
            )
            return
        if scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared is not None:
            if not declared.isdigit() or not declared.isascii():
                await send_problem(
                    send,
                    scope,
                    status=400,
                    slug="bad-request",
                    title="Bad request",
                    detail="Content-Length must be a non-negative integer",
                )
                return
            has_body = int(declared) > 0
        else:
            has_body = chunked
        if not has_body:
            await self.app(scope, receive, send)
            return
        content_type = headers.get("content-type")
        media_type = media_type_of(content_type) if content_type else ""
        if not self._allowed(scope["path"], media_type):
            refusal = unsupported_media_type(media_type, self.accepted(scope["path"]))
            await _send_invalid(send, scope, refusal)
            return
        if declared is not None and int(declared) > self.max_body_bytes:
            await self._too_large(send, scope)
            return
        json_body = is_json_media_type(media_type) and not any(
            pattern.match(scope["path"]) for pattern in self.handler_checked_json
        )
        if declared is not None and not (json_body or is_text_media_type(media_type)):
            await self.app(scope, receive, send)  # binary: the handler's parser judges it
            return
        # Read up to the limit before the handler sees anything.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(send, scope)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered = b"".join(chunks)
        try:
            if json_body:
                decode_json_body(buffered)
            elif is_text_media_type(media_type) and b"\x00" in buffered:
                raise InvalidInputError(
                    "the body holds a NUL byte",
                    errors=[FieldError(["body"], "text must not contain NUL characters")],
                )
        except DomainError as exc:
            await _send_invalid(send, scope, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, scope: Scope) -> None:
        await send_problem(
            send,
            scope,
            status=413,
            slug=PayloadTooLargeError.slug,
            title=PayloadTooLargeError.title,
            detail=f"request body exceeds the limit of {self.max_body_bytes} bytes",
        )


async def _send_invalid(send: Send, scope: Scope, exc: DomainError) -> None:
    await send_problem(
        send,
        scope,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        extensions=exc.extensions,
    )
