"""Debian's Chromium driven by Playwright, for the tests that look at pages (the API docs,
the operator console). Playwright's own browser download is never used. Under CI a missing
Chromium fails the test; elsewhere it skips."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that reaches for the network on its own (there is none here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@asynccontextmanager
async def launched_chromium(executable: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


def screenshot_path(variable: str, tmp_path: Path, name: str) -> Path:
    """Where a test saves a screenshot: ``$variable`` when set, else its tmp dir."""
    directory = Path(os.environ.get(variable) or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def record_problems(page: Page) -> list[str]:
    """Console errors and failed requests: a CSP refusal shows up here, not in the DOM."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{message.text} ({message.location.get('url', '')})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    return problems
