"""Cursor (keyset) pagination: stable under inserts, no OFFSET scans, never unbounded.

A cursor is an opaque token holding the sort key of the last row of the previous page;
each list decides its sort key and reads it back with :func:`cursor_value`. Cursors are
signed (HMAC-SHA256 with a key derived from the app's secret) over the path of the list
that issued them: a cursor that was forged, edited or taken from another list is refused
before any of its values reaches a query, and the values are still parsed strictly.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, Protocol, TypeVar

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from astroshield.api.deps import authenticate
from astroshield.api.schemas import EARLIEST_YEAR, LATEST_YEAR, parse_int63
from astroshield.api.state import state_of
from astroshield.errors import FieldError, InvalidInputError
from astroshield.security.context import SecurityContext

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V", uuid.UUID, datetime, int)
# Integer keys are database ids: a larger value cannot be one and would overflow the column.
MAX_ID = 2**63 - 1

_SIGNATURE_BYTES = 16


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    limit: int


@functools.lru_cache(maxsize=8)
def _cursor_key(secret: bytes) -> bytes:
    # Its own key, not the CSRF one: a cursor MAC must never verify as a CSRF token.
    return hmac.new(secret, b"astroshield pagination cursor", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class CursorSigner:
    key: bytes
    path: str

    def _mac(self, payload: bytes) -> bytes:
        message = self.path.encode() + b"\n" + payload
        return hmac.new(self.key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, values: dict[str, str]) -> str:
        payload = orjson.dumps(values)
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, cursor: str) -> dict[str, str]:
        encoded, _, signature = cursor.partition(".")
        try:
            payload = _unb64(encoded)
            valid = hmac.compare_digest(self._mac(payload), _unb64(signature))
        except (binascii.Error, ValueError):
            raise _invalid_cursor() from None
        if not valid:
            raise _invalid_cursor()
        values = orjson.loads(payload)
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise _invalid_cursor()
        return values


def cursor_signer(security: SecurityContext, path: str) -> CursorSigner:
    """Signs and checks the cursors of the list at ``path``."""
    return CursorSigner(_cursor_key(security.csrf_secret), path)


@dataclass(frozen=True, slots=True)
class PageRequest:
    cursor: dict[str, str] | None
    limit: int
    signer: CursorSigner

    def encode_cursor(self, values: dict[str, str]) -> str:
        """The cursor of the page after the row whose sort key is ``values``."""
        return self.signer.encode(values)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid_cursor() -> InvalidInputError:
    return InvalidInputError(
        "cursor is not one this API issued",
        errors=[FieldError(["query", "cursor"], "invalid cursor")],
    )


def _parse(raw: str, kind: type[V]) -> V | None:
    if kind is int:
        return parse_int63(raw)  # type: ignore[return-value]
    if kind is uuid.UUID:
        try:
            return uuid.UUID(raw)  # type: ignore[return-value]
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return None
    return moment  # type: ignore[return-value]


def cursor_value(page: PageRequest, key: str, kind: type[V]) -> V | None:
    """The ``key`` of the page's cursor parsed as ``kind``, or None on the first page."""
    if page.cursor is None:
        return None
    raw = page.cursor.get(key)
    value = None if raw is None else _parse(raw, kind)
    if value is None:
        raise _invalid_cursor()
    return value


async def page_request(
    request: Request,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size")] = None,
) -> PageRequest:
    state = state_of(request)
    settings = state.settings
    security = state.security
    if limit is None:
        # The default is a per-organisation setting: the caller's organisation's.
        principal = await authenticate(request)
        size = state.organisation_config.value(
            principal.organisation_id, "page_size_default", settings
        )
    else:
        size = limit
    if size > settings.page_size_max:
        raise InvalidInputError(
            f"limit must be at most {settings.page_size_max}",
            errors=[FieldError(["query", "limit"], f"must be <= {settings.page_size_max}")],
        )
    signer = cursor_signer(security, request.url.path)
    return PageRequest(cursor=signer.decode(cursor) if cursor else None, limit=size, signer=signer)


PageDep = Annotated[PageRequest, Depends(page_request)]


def make_page(
    rows: Sequence[R],
    page: PageRequest,
    *,
    render: Callable[[R], T],
    key: Callable[[R], dict[str, str]],
) -> Page[T]:
    """``rows`` were fetched with ``limit + 1``: the extra row says a next page exists."""
    kept = rows[: page.limit]
    next_cursor = page.encode_cursor(key(kept[-1])) if len(rows) > page.limit else None
    return Page[T](items=[render(row) for row in kept], next_cursor=next_cursor, limit=page.limit)


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


def id_key(row: HasId) -> dict[str, str]:
    return {"id": str(row.id)}
