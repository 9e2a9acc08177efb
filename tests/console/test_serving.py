"""How the service serves the built console: the page under its strict CSP, its hashed
assets cacheable for good, and a 503 naming `make console` while it is not built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from astroshield.console.serving import install_console


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return tmp_path / "dist"


@pytest.fixture
async def client(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_console(app, dist)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def build(dist: Path) -> None:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")


async def test_without_a_build_the_page_says_how_to_build_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/")
    assert response.status_code == 503
    assert "make console" in response.text
    assert response.headers["retry-after"] == "60"


async def test_the_built_page_carries_a_csp_that_allows_nothing_inline_or_foreign(
    client: httpx.AsyncClient, dist: Path
) -> None:
    build(dist)  # after the start: no restart needed
    response = await client.get("/console/")
    assert response.status_code == 200
    assert "<title>console</title>" in response.text
    directives = {
        part.split()[0]: part.split()[1:]
        for part in response.headers["content-security-policy"].split(";")
    }
    assert directives["default-src"] == ["'self'"]
    for name in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[name] == ["'self'"], name  # no 'unsafe-inline', no CDN
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_assets_are_served_immutable_and_the_bare_path_redirects(
    client: httpx.AsyncClient, dist: Path
) -> None:
    build(dist)
    asset = await client.get("/console/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert (await client.get("/console/assets/missing.js")).status_code == 404
    bare = await client.get("/console")
    assert bare.status_code == 308
    assert bare.headers["location"] == "/console/"
