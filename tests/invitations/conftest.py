"""The running app with invitation e-mails going to a real SMTP server started per test."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from astroshield.app import create_app
from tests.conftest import Factory, settings_for
from tests.support.receivers import SmtpServer, smtp_server

SENDER = "invitations@astroshield.test"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
async def mail_app(app: FastAPI, database_url: str, smtp: SmtpServer) -> AsyncIterator[FastAPI]:
    """A second app on the test database, configured with the SMTP server; depending on
    ``app`` makes the tables be emptied after the test."""
    application = create_app(
        settings_for(
            database_url,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            invitation_email_from=SENDER,
        )
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def mail_client(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=mail_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def mail_factory(mail_app: FastAPI) -> Factory:
    return Factory(mail_app)


async def delivered(app: FastAPI) -> None:
    """Wait for the e-mails the requests handed to the background."""
    await asyncio.gather(*list(app.state.background_tasks))


def token_in(body: str) -> str:
    match = re.search(r"Your invitation token: (\S+)", body)
    assert match is not None, body
    return match.group(1)
