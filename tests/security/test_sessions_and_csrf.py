"""Login, browser sessions and CSRF (signed double submit bound to the login)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.audit.models import AuditEntry
from tests.conftest import DEFAULT_PASSWORD, Factory


async def _browser_login(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/session", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


@pytest.fixture
async def browser(app: FastAPI, factory: Factory) -> httpx.AsyncClient:
    await factory.user(role="operator", email="browser@example.org")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_login_me_and_failures(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    user = await factory.user(role="analyst", email="Ada.Lovelace@Example.org")
    ok = await client.post(
        "/api/v1/auth/token",
        json={"email": "  ada.lovelace@example.ORG ", "password": DEFAULT_PASSWORD},
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["cache-control"] == "no-store"
    pair = ok.json()
    assert pair["token_type"] == "Bearer" and "conjunctions:write" in pair["scope"].split()
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.json()["email"] == "Ada.Lovelace@Example.org" and me.json()["id"] == str(user.id)

    wrong = await client.post(
        "/api/v1/auth/token", json={"email": "ada.lovelace@example.org", "password": "wrong"}
    )
    unknown = await client.post(
        "/api/v1/auth/token", json={"email": "nobody@example.org", "password": "wrong"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]  # no account enumeration
    async with app.state.sessionmaker() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("auth.login_failed") == 2 and "auth.login" in actions


async def test_disabled_account_cannot_log_in_or_use_its_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    user = await factory.user(organisation, role="viewer", email="leaver@example.org")
    token = factory.token(user)
    admin = await factory.login(organisation, role="admin")
    disabled = await client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin
    )
    assert disabled.status_code == 200
    login = await client.post(
        "/api/v1/auth/token", json={"email": "leaver@example.org", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 401
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


async def test_cookie_session_flags(browser: httpx.AsyncClient, app: FastAPI) -> None:
    async with browser:
        response = await browser.post(
            "/api/v1/auth/session",
            json={"email": "browser@example.org", "password": DEFAULT_PASSWORD},
        )
    cookies = response.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith(app.state.security.access_cookie))
    csrf = next(c for c in cookies if c.startswith(app.state.security.csrf_cookie))
    assert "HttpOnly" in access and "SameSite=strict" in access and "Path=/" in access
    assert "HttpOnly" not in csrf  # the page must read it to send it back


async def test_csrf_required_for_unsafe_cookie_requests(browser: httpx.AsyncClient) -> None:
    async with browser:
        token = await _browser_login(browser, "browser@example.org")
        assert (await browser.get("/api/v1/spacecraft")).status_code == 200  # safe: no token
        missing = await browser.post("/api/v1/spacecraft", json={"name": "a"})
        assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
        wrong = await browser.post(
            "/api/v1/spacecraft", json={"name": "a"}, headers={"X-CSRF-Token": "0" * 64}
        )
        assert wrong.status_code == 403
        cross_site = await browser.post(
            "/api/v1/spacecraft",
            json={"name": "a"},
            headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"},
        )
        assert cross_site.status_code == 403
        foreign_origin = await browser.post(
            "/api/v1/spacecraft",
            json={"name": "a"},
            headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
        )
        assert foreign_origin.status_code == 403
        good = await browser.post(
            "/api/v1/spacecraft",
            json={"name": "a"},
            headers={
                "X-CSRF-Token": token,
                "Sec-Fetch-Site": "same-origin",
                "Origin": "http://testserver",
            },
        )
        assert good.status_code == 201, good.text
        form = await browser.post(
            "/api/v1/spacecraft",
            content=b"name=b",
            headers={"X-CSRF-Token": token, "content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415


async def test_another_sessions_csrf_token_is_refused(
    app: FastAPI, factory: Factory, browser: httpx.AsyncClient
) -> None:
    await factory.user(role="operator", email="other-browser@example.org")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        other_token = await _browser_login(other, "other-browser@example.org")
    async with browser:
        await _browser_login(browser, "browser@example.org")
        response = await browser.post(
            "/api/v1/spacecraft", json={"name": "x"}, headers={"X-CSRF-Token": other_token}
        )
        assert response.status_code == 403


async def test_bearer_calls_need_no_csrf_token(client: httpx.AsyncClient, factory: Factory) -> None:
    headers = await factory.login(role="operator")
    response = await client.post(
        "/api/v1/spacecraft",
        json={"name": "api"},
        headers={**headers, "Sec-Fetch-Site": "cross-site", "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 201


async def test_cross_site_browser_login_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user(email="victim@example.org")
    response = await client.post(
        "/api/v1/auth/session",
        json={"email": "victim@example.org", "password": DEFAULT_PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


async def test_browser_logout_ends_the_session(browser: httpx.AsyncClient) -> None:
    async with browser:
        token = await _browser_login(browser, "browser@example.org")
        access = browser.cookies.get("astroshield-access")
        out = await browser.delete("/api/v1/auth/session", headers={"X-CSRF-Token": token})
        assert out.status_code == 204
        browser.cookies.set("astroshield-access", access or "")  # the stolen copy
        replay = await browser.get("/api/v1/spacecraft")
        assert replay.status_code == 401


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/livez")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    docs = await client.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
