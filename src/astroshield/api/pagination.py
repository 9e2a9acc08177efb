"""Cursor (keyset) pagination: stable under inserts, no OFFSET scans, never unbounded.

A cursor is an opaque token holding the sort key of the last row of the previous page;
each list decides its sort key and reads it back with :func:`cursor_value`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Generic, Protocol, TypeVar

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from astroshield.api.deps import SettingsDep, authenticate
from astroshield.errors import FieldError, InvalidInputError
from astroshield.runtime_config.catalogue import OrganisationConfig

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V", uuid.UUID, datetime, int)
# Integer keys are database ids: a larger value cannot be one and would overflow the column.
MAX_ID = 2**63 - 1


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    limit: int


class PageRequest(BaseModel):
    cursor: dict[str, str] | None
    limit: int


def _invalid_cursor() -> InvalidInputError:
    return InvalidInputError(
        "cursor is not one this API issued",
        errors=[FieldError(["query", "cursor"], "invalid cursor")],
    )


def encode_cursor(values: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        raise _invalid_cursor()
    return payload


def cursor_value(page: PageRequest, key: str, kind: type[V]) -> V | None:
    """The ``key`` of the page's cursor parsed as ``kind``, or None on the first page."""
    if page.cursor is None:
        return None
    raw = page.cursor.get(key)
    if raw is None:
        raise _invalid_cursor()
    try:
        if kind is uuid.UUID:
            return uuid.UUID(raw)  # type: ignore[return-value]
        if kind is int:
            if not raw.isdigit() or int(raw) > MAX_ID:
                raise ValueError(raw)
            return int(raw)  # type: ignore[return-value]
        return datetime.fromisoformat(raw)  # type: ignore[return-value]
    except ValueError:
        raise _invalid_cursor() from None


async def page_request(
    request: Request,
    settings: SettingsDep,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size")] = None,
) -> PageRequest:
    if limit is None:
        # The default is a per-organisation setting: the caller's organisation's.
        principal = await authenticate(request)
        organisation_config: OrganisationConfig = request.app.state.organisation_config
        size = organisation_config.value(principal.organisation_id, "page_size_default", settings)
    else:
        size = limit
    if size > settings.page_size_max:
        raise InvalidInputError(
            f"limit must be at most {settings.page_size_max}",
            errors=[FieldError(["query", "limit"], f"must be <= {settings.page_size_max}")],
        )
    return PageRequest(cursor=decode_cursor(cursor) if cursor else None, limit=size)


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
    next_cursor = encode_cursor(key(kept[-1])) if len(rows) > page.limit else None
    return Page[T](items=[render(row) for row in kept], next_cursor=next_cursor, limit=page.limit)


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


def id_key(row: HasId) -> dict[str, str]:
    return {"id": str(row.id)}
