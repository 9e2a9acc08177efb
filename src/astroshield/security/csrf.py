"""CSRF defence for cookie-authenticated browser sessions (OWASP CSRF cheat sheet).

A signed double-submit token: ``HMAC(secret, session id)``, given to the browser in a
readable cookie and required back in the ``X-CSRF-Token`` header on unsafe methods. It
is bound to the login session, so a token from another session is worthless, and a
cross-site page can neither read the cookie nor set the header. Fetch metadata
(``Sec-Fetch-Site``) and ``Origin`` are checked too. Bearer-token calls carry no ambient
credential and are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from starlette.datastructures import Headers

CSRF_HEADER = "x-csrf-token"
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


class CsrfError(Exception):
    pass


def csrf_token(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def check_csrf(
    headers: Headers,
    cookies: dict[str, str],
    *,
    secret: bytes,
    session_id: str,
    cookie_name: str,
    own_origin: str,
    allowed_origins: Collection[str],
) -> None:
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ALLOWED_FETCH_SITES:
        raise CsrfError(f"cross-site request (Sec-Fetch-Site: {site})")
    origin = headers.get("origin")
    if origin is not None and origin != own_origin and origin not in allowed_origins:
        raise CsrfError("request from a foreign origin")
    expected = csrf_token(secret, session_id)
    sent = headers.get(CSRF_HEADER, "")
    cookie = cookies.get(cookie_name, "")
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfError("missing or invalid CSRF token")
    if not hmac.compare_digest(cookie, sent):
        raise CsrfError("CSRF header does not match its cookie")
