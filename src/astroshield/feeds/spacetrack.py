"""Space-Track client: session login, ``gp`` / ``gp_history`` / ``cdm_public`` queries in
batches of catalog numbers, logout.

Usage rules obeyed (space-track.org/documentation#/api): at most 30 requests in any 60 s
and 300 in any hour, the login and logout included (a sliding-window limiter in front of
every request); never the identical query twice within the refresh interval (the query
memory). The password is a ``SecretStr``: it appears in no repr, log line or error."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from astroshield.feeds.errors import CredentialsError, ProviderError
from astroshield.feeds.http import Requester, RetryPolicy, Sleep, html_title, looks_like_html
from astroshield.feeds.memory import QueryMemory, QueryRecord
from astroshield.feeds.ratelimit import Clock, SlidingWindowLimiter

QUERY_ROOT = "/basicspacedata/query/class"


@dataclass(frozen=True, slots=True)
class Batch:
    """One query's answer: ``text`` is None when the identical query was made within the
    refresh interval and so was not sent again."""

    query: str
    catalog_numbers: tuple[str, ...]
    text: str | None

    def rows(self) -> list[dict[str, object]]:
        if self.text is None:
            return []
        document = json.loads(self.text)
        return [row for row in document if isinstance(row, dict)]


class SpaceTrackClient:
    name = "space-track"

    def __init__(
        self,
        http: httpx.AsyncClient,
        identity: str,
        password: SecretStr,
        *,
        base_url: str = "https://www.space-track.org",
        batch_size: int = 100,
        refresh_interval_s: float = 3600.0,
        policy: RetryPolicy | None = None,
        memory: QueryMemory | None = None,
        limiter: SlidingWindowLimiter | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not identity or not password.get_secret_value():
            raise CredentialsError(
                "space-track: no credentials configured (ASTROSHIELD_SPACETRACK_IDENTITY "
                "and ASTROSHIELD_SPACETRACK_PASSWORD)"
            )
        self.base_url = base_url.rstrip("/")
        self.identity, self._password = identity, password
        self.batch_size = batch_size
        self.refresh_interval_s = refresh_interval_s
        self.memory = memory if memory is not None else QueryMemory()
        self.clock = clock
        self.limiter = limiter or SlidingWindowLimiter(clock=clock, sleep=sleep)
        self.requester = Requester(
            self.name, http, policy or RetryPolicy(), sleep=sleep, before_each=self.limiter.acquire
        )
        self._logged_in = False

    def __repr__(self) -> str:
        return f"SpaceTrackClient(base_url={self.base_url!r}, identity={self.identity!r})"

    @property
    def requests_made(self) -> int:
        return self.requester.requests_made

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.logout()

    async def login(self) -> None:
        response = await self.requester.send(
            "POST",
            f"{self.base_url}/ajaxauth/login",
            data={"identity": self.identity, "password": self._password.get_secret_value()},
        )
        # A refused login is a 200 whose JSON says {"Login": "Failed"} (as documented), or 401.
        failed = _login_failed(response.text)
        if response.status_code != 200 or failed:
            raise CredentialsError(
                "space-track: login refused for the configured identity; check "
                "ASTROSHIELD_SPACETRACK_IDENTITY and ASTROSHIELD_SPACETRACK_PASSWORD"
            )
        self._logged_in = True

    async def logout(self) -> None:
        if not self._logged_in:
            return
        self._logged_in = False
        try:
            await self.requester.send("GET", f"{self.base_url}/ajaxauth/logout")
        except Exception:  # the session expires on its own anyway
            return

    async def query(self, path: str, catalog_numbers: Sequence[str] = ()) -> Batch:
        """``path`` below ``/basicspacedata/query/class/`` (JSON format asked by the path)."""
        text = await self._get(path)
        if text is None:
            return Batch(path, tuple(catalog_numbers), None)
        try:
            document = json.loads(text) if text.strip() else []
        except json.JSONDecodeError:
            raise ProviderError(f"space-track: {path} did not return JSON") from None
        if isinstance(document, dict) and "error" in {k.lower() for k in document}:
            raise ProviderError(f"space-track: {path}: {str(document)[:120]}")
        if not isinstance(document, list):
            raise ProviderError(f"space-track: {path} did not return a JSON list")
        return Batch(path, tuple(catalog_numbers), text if text.strip() else "[]")

    async def _get(self, path: str) -> str | None:
        """The answer's text, or None when the identical query was made within the
        refresh interval (not sent); the query is remembered once answered."""
        key = f"space-track:{path}"
        now = self.clock()
        if self.memory.recent(key, now, self.refresh_interval_s):
            return None
        if not self._logged_in:
            await self.login()
        response = await self.requester.send("GET", f"{self.base_url}{QUERY_ROOT}/{path}")
        if response.status_code != 200:
            raise ProviderError(f"space-track: {path} answered {response.status_code}")
        if looks_like_html(response):
            raise ProviderError(
                f"space-track: {path} returned an HTML page instead of data "
                f"({html_title(response.text)})"
            )
        self.memory.put(key, QueryRecord(now))
        return response.text

    async def cdm_message(self, cdm_id: str) -> str | None:
        """One CDM as CCSDS KVN (class ``cdm``: the CDMs the account may read)."""
        if not cdm_id.isdigit():
            raise ProviderError(f"space-track: CDM_ID {cdm_id[:20]!r} is not a number")
        return await self._get(f"cdm/CDM_ID/{cdm_id}/format/kvn")

    def batches(self, catalog_numbers: Sequence[str]) -> list[tuple[str, ...]]:
        numbers = sorted(dict.fromkeys(catalog_numbers), key=int)
        size = self.batch_size
        return [tuple(numbers[i : i + size]) for i in range(0, len(numbers), size)]

    async def gp(self, catalog_numbers: Sequence[str]) -> AsyncIterator[Batch]:
        """The newest element set of each object, one query per batch."""
        for batch in self.batches(catalog_numbers):
            yield await self.query(f"gp/NORAD_CAT_ID/{','.join(batch)}/format/json", batch)

    async def gp_history(self, catalog_numbers: Sequence[str], since: str) -> AsyncIterator[Batch]:
        """Every element set with an epoch after ``since`` (``YYYY-MM-DD``), per batch."""
        for batch in self.batches(catalog_numbers):
            path = (
                f"gp_history/NORAD_CAT_ID/{','.join(batch)}/EPOCH/{quote('>')}{since}"
                "/orderby/EPOCH%20asc/format/json"
            )
            yield await self.query(path, batch)

    async def cdm_public(self, catalog_numbers: Sequence[str], field: str) -> AsyncIterator[Batch]:
        """Public CDMs whose ``field`` (``SAT_1_ID`` or ``SAT_2_ID``) is one of the numbers."""
        for batch in self.batches(catalog_numbers):
            yield await self.query(f"cdm_public/{field}/{','.join(batch)}/format/json", batch)


def _login_failed(text: str) -> bool:
    try:
        document = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return False
    return isinstance(document, dict) and str(document.get("Login", "")).lower() == "failed"
