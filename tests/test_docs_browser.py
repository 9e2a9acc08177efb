"""What a person sees at /docs and /redoc: the real service (uvicorn, its own SQLite file)
opened in Debian's Chromium, driven by Playwright. A 200 is not enough: Swagger UI 3 once
answered 200 and drew "Unable to render this definition" for our OpenAPI 3.1 document.

Chromium comes from Debian (``make test`` installs it when missing); Playwright's own
browser download is never used. Under CI a missing Chromium fails the test; elsewhere it
skips. Screenshots go to ``$ASTROSHIELD_DOCS_SCREENSHOTS`` when set, else the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import (
    chromium_or_skip,
    launched_chromium,
    record_problems,
    screenshot_path,
)
from tests.support.servers import free_port, service_env, service_process, uvicorn_argv

pytestmark = pytest.mark.browser

RENDER_TIMEOUT_MS = 30_000
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# Operations a newcomer looks for first, one per domain that takes a body.
KNOWN_OPERATIONS = [
    ("post", "/api/v1/conjunctions/cdms"),
    ("post", "/api/v1/catalog/element-sets"),
    ("post", "/api/v1/spacecraft/{spacecraft_id}/telemetry"),
    ("post", "/api/v1/spacecraft"),
    ("post", "/api/v1/trajectory/propagate"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service as an operator starts it: uvicorn, migrations on start, a fresh SQLite."""
    database = tmp_path_factory.mktemp("docs-service") / "astroshield.db"
    port = free_port()
    env = service_env(f"sqlite+aiosqlite:///{database}", ASTROSHIELD_MIGRATE_ON_START="true")
    argv = uvicorn_argv(port)
    base = f"http://127.0.0.1:{port}"
    with service_process(argv, base, env):
        yield base


@pytest.fixture(scope="module")
def chromium() -> Path:
    return chromium_or_skip()


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with launched_chromium(chromium) as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


def _screenshot_path(tmp_path: Path, name: str) -> Path:
    return screenshot_path("ASTROSHIELD_DOCS_SCREENSHOTS", tmp_path, name)


async def test_swagger_ui_renders_the_operations_and_their_examples(
    service: str, page: Page, tmp_path: Path
) -> None:
    problems = record_problems(page)
    await page.goto(f"{service}/docs")
    await page.wait_for_selector(".opblock", timeout=RENDER_TIMEOUT_MS)
    text = await page.inner_text("body")
    assert "Unable to render" not in text
    assert "AstroShield" in text
    for method, path in KNOWN_OPERATIONS:
        operation = page.locator(f".opblock-{method} .opblock-summary-path[data-path='{path}']")
        assert await operation.count() == 1, f"{method.upper()} {path} is not listed"

    # Unfold the CDM upload: its request body example is the CCSDS annex CDM, as KVN.
    cdm = page.locator(".opblock-post .opblock-summary-path[data-path='/api/v1/conjunctions/cdms']")
    await cdm.click()
    body = page.locator(".opblock.is-open .opblock-section-request-body")
    await body.wait_for(timeout=RENDER_TIMEOUT_MS)
    # Not wait_for_function: the page's CSP refuses the eval it needs, as it should.
    await body.filter(has_text="CCSDS_CDM_VERS").wait_for(timeout=RENDER_TIMEOUT_MS)
    assert "text/plain" in await body.inner_text()
    await page.screenshot(path=_screenshot_path(tmp_path, "docs.png"), full_page=False)
    assert problems == []


async def test_redoc_renders_the_operations_and_their_examples(
    service: str, page: Page, tmp_path: Path
) -> None:
    problems = record_problems(page)
    await page.goto(f"{service}/redoc")
    await page.wait_for_selector("[data-section-id^='tag/']", timeout=RENDER_TIMEOUT_MS)
    text = await page.inner_text("body")
    assert "Something went wrong" not in text
    for _, path in KNOWN_OPERATIONS:
        assert path in text, f"{path} is not listed"
    # Request samples are drawn beside each operation: the annex CDM among them.
    assert "CCSDS_CDM_VERS" in text
    await page.screenshot(path=_screenshot_path(tmp_path, "redoc.png"), full_page=False)
    # ReDoc's footer asks its vendor's CDN for a logo (and hides it when refused): our CSP
    # refuses it, as it should refuse every third-party request.
    assert [problem for problem in problems if REDOC_LOGO not in problem] == []
