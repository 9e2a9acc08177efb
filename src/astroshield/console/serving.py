"""``/console/``: the built operator console, its assets, and a 503 naming ``make console``
when the build is missing (built assets are never committed).

The page is one HTML document (hash routes inside it) under a strict Content-Security-
Policy: scripts, styles, images and connections from this origin only; nothing inline,
no eval, no frames. The API it calls keeps its own ``default-src 'none'``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from astroshield.api.middleware import DOCUMENT_HEADERS

CONSOLE_PATH = "/console"
DIST = Path(__file__).resolve().parent / "dist"
# 'self' covers the same origin's ws:/wss: too (CSP level 3) for a live stream.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# The document is tiny and names the hashed asset files: always revalidated. The assets
# themselves are immutable (content-hashed names).
_PAGE_HEADERS = {"content-security-policy": CONSOLE_CSP, "cache-control": "no-cache"}
_ASSET_HEADERS = {"cache-control": "public, max-age=31536000, immutable"}

NOT_BUILT = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    b"<title>Console not built</title></head><body><h1>The operator console is not built"
    b"</h1><p>Run <code>make console</code> (npm ci and the Vite build of "
    b"<code>console/</code>) and reload this page. The API and its docs at "
    b"<a href='/docs'>/docs</a> work without it.</p></body></html>"
)


class _ImmutableAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers.update(_ASSET_HEADERS)
        return response


def install_console(app: FastAPI, dist: Path = DIST) -> None:
    """Mount the console's assets and its page; each request looks for the build, so a
    ``make console`` after the start needs no restart."""
    app.mount(
        f"{CONSOLE_PATH}/assets",
        _ImmutableAssets(directory=dist / "assets", check_dir=False),
        name="console-assets",
    )

    @app.get(CONSOLE_PATH, include_in_schema=False)
    async def console_redirect() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PATH}/", status_code=308)

    @app.get(f"{CONSOLE_PATH}/", include_in_schema=False)
    async def console_page() -> HTMLResponse:
        try:
            page = (dist / "index.html").read_bytes()
        except FileNotFoundError:
            return HTMLResponse(
                NOT_BUILT, status_code=503, headers={"retry-after": "60", **DOCUMENT_HEADERS}
            )
        return HTMLResponse(page, headers={**_PAGE_HEADERS, **DOCUMENT_HEADERS})
