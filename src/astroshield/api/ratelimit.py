"""The per-client rate limit at the edge: an ASGI middleware in front of every route.

The budget itself (``security.ratelimit``) knows nothing of HTTP; this layer reads the
client's address, refuses with problem+json and hands the budget headers to the edge
middleware.
"""

from __future__ import annotations

from limits import parse
from starlette.types import ASGIApp, Receive, Scope, Send

from astroshield.api.middleware import RESPONSE_HEADERS_KEY
from astroshield.errors import send_problem
from astroshield.security.client import Network, client_address, parse_networks
from astroshield.security.ratelimit import Decision, RateLimiter

EXEMPT_PATHS = frozenset({"/livez", "/readyz"})
# Scrapes have a budget of their own: they neither draw on nor are starved by API traffic.
METRICS_PATH = "/metrics"


async def send_refusal(send: Send, scope: Scope, decision: Decision) -> None:
    if decision.storage_failed:
        status, slug, title = 503, "rate-limit-unavailable", "Service unavailable"
        detail = "the rate limiter cannot be reached and the service is set to fail closed"
    else:
        status, slug, title = 429, "rate-limited", "Too many requests"
        detail = f"more than {decision.limit} requests in the window; retry later"
    await send_problem(
        send,
        scope,
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        headers=decision.headers(),
    )


class ClientRateLimitMiddleware:
    """Per-client budget on every request except the probes (``/metrics`` on a budget of
    its own); refuses before any work."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        limit: str,
        metrics_limit: str,
        trusted_proxies: list[str],
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limit = parse(limit)
        self.metrics_limit = parse(metrics_limit)
        self.trusted: tuple[Network, ...] = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = client_address(scope, self.trusted)
        scope.setdefault("state", {})["client_address"] = client
        if scope["path"] == METRICS_PATH:
            decision = await self.limiter.hit(self.metrics_limit, "metrics", client)
        else:
            decision = await self.limiter.hit(self.limit, "client", client)
        if not decision.allowed:
            await send_refusal(send, scope, decision)
            return
        # The edge middleware (api/edge.py) puts these on the response.
        scope["state"][RESPONSE_HEADERS_KEY] = decision.raw_headers()
        await self.app(scope, receive, send)
