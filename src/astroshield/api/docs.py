"""Interactive API docs that work offline: Swagger UI at /docs and ReDoc at /redoc.

Both are served from the pinned ``fastapi-offline`` package (Swagger UI 5, ReDoc 2: they
read the OpenAPI 3.1 document FastAPI emits, which Swagger UI 3 could not). No CDN: every
script, style and font comes from this service, and each page carries a Content-Security-
Policy that allows exactly that, looser than the API's ``default-src 'none'`` only where
the page needs it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from astroshield.api.middleware import DOCUMENT_HEADERS

DOCS_ASSETS = "/_docs-assets"
SWAGGER_UI_PATH = "/docs"
REDOC_PATH = "/redoc"
_OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

# Swagger UI: list the operations folded, with a filter box; "Try it out" shows the
# examples as ready-to-send bodies.
_SWAGGER_UI_PARAMETERS = {
    "docExpansion": "list",
    "filter": True,
    "displayRequestDuration": True,
    "defaultModelsExpandDepth": 0,
}


def _inline_script_hashes(page: bytes) -> str:
    """CSP source expressions allowing exactly the page's inline scripts, by hash."""
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in re.findall(rb"<script>(.*?)</script>", page, flags=re.DOTALL)
    )


def _csp(page: bytes, *, workers: bool = False) -> str:
    # ReDoc runs its search index in a Web Worker it builds from a blob: URL.
    worker = " worker-src 'self' blob:;" if workers else ""
    return (
        f"default-src 'none'; script-src 'self' {_inline_script_hashes(page)}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        f"font-src 'self' data:;{worker} frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


def _document(page: bytes, csp: str) -> HTMLResponse:
    return HTMLResponse(page, headers={"content-security-policy": csp, **DOCUMENT_HEADERS})


def install_offline_docs(app: FastAPI) -> None:
    """Mount the vendored assets and the /docs, /docs/oauth2-redirect and /redoc pages."""
    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs")
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{DOCS_ASSETS}/favicon.png"

    swagger = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            oauth2_redirect_url=_OAUTH2_REDIRECT_PATH,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=favicon,
            swagger_ui_parameters=_SWAGGER_UI_PARAMETERS,
        ).body
    )
    swagger_csp = _csp(swagger)
    redoc = bytes(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API reference",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        ).body
    )
    redoc_csp = _csp(redoc, workers=True)

    @app.get(SWAGGER_UI_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _document(swagger, swagger_csp)

    @app.get(_OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers.update(DOCUMENT_HEADERS)
        return page

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return _document(redoc, redoc_csp)
