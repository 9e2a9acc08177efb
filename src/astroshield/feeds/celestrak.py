"""CelesTrak GP client: ``gp.php`` by group or catalog number, OMM JSON or CSV.

Usage rules obeyed (celestrak.org/NORAD/documentation/gp-data-formats.php): the same query
at most once per update cycle (``update_interval_s``, 2 h by default), and conditional
requests (``If-None-Match`` / ``If-Modified-Since``): 304 means nothing new."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from astroshield.feeds.errors import ProviderError
from astroshield.feeds.http import Requester, RetryPolicy, Sleep, html_title, looks_like_html
from astroshield.feeds.memory import QueryMemory, QueryRecord
from astroshield.feeds.ratelimit import Clock

GpFormat = Literal["json", "csv"]


@dataclass(frozen=True, slots=True)
class GpAnswer:
    """``text`` is None when nothing was fetched: ``not_modified`` (304) or ``recent``
    (the identical query was made within the update cycle, so it was not sent)."""

    query: str
    fmt: GpFormat
    text: str | None
    not_modified: bool = False
    recent: bool = False


class CelesTrakClient:
    name = "celestrak"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://celestrak.org",
        update_interval_s: float = 7200.0,
        policy: RetryPolicy | None = None,
        memory: QueryMemory | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.update_interval_s = update_interval_s
        self.memory = memory if memory is not None else QueryMemory()
        self.clock = clock
        self.requester = Requester(self.name, http, policy or RetryPolicy(), sleep=sleep)

    @property
    def requests_made(self) -> int:
        return self.requester.requests_made

    async def gp(
        self, *, group: str | None = None, catalog_number: str | None = None, fmt: GpFormat = "json"
    ) -> GpAnswer:
        """One GP query: a group (``active``, ``stations``...) or one catalog number."""
        if (group is None) == (catalog_number is None):
            raise ValueError("give a group or a catalog number")
        params = {"GROUP": group} if group is not None else {"CATNR": str(catalog_number)}
        params["FORMAT"] = fmt
        query = "gp.php?" + "&".join(f"{key}={value}" for key, value in params.items())
        key = f"celestrak:{query}"
        now = self.clock()
        if self.memory.recent(key, now, self.update_interval_s):
            return GpAnswer(query, fmt, None, recent=True)
        known = self.memory.get(key)
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        response = await self.requester.send(
            "GET", f"{self.base_url}/NORAD/elements/gp.php", params=params, headers=headers
        )
        if response.status_code == 304:
            self.memory.put(
                key,
                QueryRecord(
                    now, known.etag if known else None, known.last_modified if known else None
                ),
            )
            return GpAnswer(query, fmt, None, not_modified=True)
        if response.status_code != 200:
            raise ProviderError(f"celestrak: {query} answered {response.status_code}")
        if looks_like_html(response):
            raise ProviderError(
                f"celestrak: {query} returned an HTML page instead of GP data "
                f"({html_title(response.text)})"
            )
        text = response.text
        if text.strip() == "No GP data found":
            text = "[]" if fmt == "json" else ""
        self.memory.put(
            key,
            QueryRecord(now, response.headers.get("etag"), response.headers.get("last-modified")),
        )
        return GpAnswer(query, fmt, text)
