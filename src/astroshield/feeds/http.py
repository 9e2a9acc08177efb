"""One request with the feeds' policy: a timeout, retries with exponential backoff and
full jitter on 5xx and network errors, 429 honouring Retry-After, and errors that name the
provider and never a credential."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from astroshield.feeds.errors import (
    CredentialsError,
    ProviderError,
    RateLimitedError,
    UnreachableError,
)

Sleep = Callable[[float], Awaitable[None]]
_TITLE_RE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries per request for 5xx and network errors
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 900.0  # a longer Retry-After is an error, not a wait
    rate_limited_attempts: int = 3  # tries per request while the provider answers 429

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


def retry_after_s(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return default
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
        date = parsedate_to_datetime(response.headers.get("date", value))
    except (TypeError, ValueError):
        return default
    return max(0.0, (moment - date).total_seconds())


def html_title(text: str) -> str:
    match = _TITLE_RE.search(text)
    return match.group(1)[:80] if match else "no title"


def looks_like_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


class Requester:
    """Sends requests for one provider (``name`` is in every error) under ``policy``;
    ``before_each`` runs before every attempt (a rate limiter's acquire)."""

    def __init__(
        self,
        name: str,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        before_each: Callable[[], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name, self.http, self.policy = name, http, policy
        self.sleep, self.before_each = sleep, before_each
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.requests_made = 0

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The provider's answer below 500 other than 429 (the caller reads it); 401/403
        raise :class:`CredentialsError`."""
        failures = rate_limited = 0
        while True:
            if self.before_each is not None:
                await self.before_each()
            self.requests_made += 1
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TransportError as error:  # timeouts included
                failures += 1
                if failures >= self.policy.attempts:
                    raise UnreachableError(
                        f"{self.name}: no answer from {_origin(url)} after {failures} "
                        f"attempts ({type(error).__name__})"
                    ) from None
                await self.sleep(self.policy.backoff(failures, self.rng))
                continue
            status = response.status_code
            if status == 429:
                rate_limited += 1
                await self.sleep(self._rate_limited_wait(response, rate_limited))
            elif status >= 500:
                failures += 1
                if failures >= self.policy.attempts:
                    raise ProviderError(
                        f"{self.name}: {status} from {_origin(url)} after {failures} attempts"
                    )
                await self.sleep(self.policy.backoff(failures, self.rng))
            elif status in (401, 403):
                raise CredentialsError(
                    f"{self.name}: the credentials were refused ({status}); check the "
                    "configured identity and password"
                )
            else:
                return response

    def _rate_limited_wait(self, response: httpx.Response, rate_limited: int) -> float:
        """How long to wait after the ``rate_limited``-th 429 in a row: its Retry-After."""
        if rate_limited >= self.policy.rate_limited_attempts:
            raise RateLimitedError(
                f"{self.name}: still rate limited (429) after {rate_limited} attempts"
            )
        wait = retry_after_s(response, self.policy.backoff(rate_limited, self.rng) + 1)
        if wait > self.policy.max_retry_after_s:
            raise RateLimitedError(f"{self.name}: rate limited (429), asked to wait {wait:.0f} s")
        return wait


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"
