"""The subscription API: the secret is shown once, bad URLs and types are refused naming
the field, only organisation administrators may use it, and another organisation's
subscriptions and deliveries are not found."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from astroshield.errors import PROBLEM_JSON
from tests.conftest import Factory
from tests.webhooks.conftest import WEBHOOKS, admin_of, subscribe

HOOK = "https://hooks.example.org/astroshield"


async def test_the_secret_is_shown_on_create_and_rotate_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await admin_of(factory)
    created = await subscribe(
        client, admin, HOOK, ["conjunction.created", "alert.changed"], description="chat"
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["event_types"] == ["conjunction.created", "alert.changed"]
    assert created["active"] is True and created["description"] == "chat"

    one = await client.get(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    listed = await client.get(WEBHOOKS, headers=admin.headers)
    for response in (one, listed):
        assert response.status_code == 200
        assert secret not in response.text and "secret" not in response.text
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]

    rotated = await client.post(f"{WEBHOOKS}/{created['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    assert rotated.json()["secret"] not in (secret, None)
    again = await client.get(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    assert rotated.json()["secret"] not in again.text


async def test_a_chosen_secret_is_kept_and_changes_are_applied(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await admin_of(factory)
    chosen = "s" * 40
    created = await subscribe(client, admin, HOOK, ["telemetry.alarm"], secret=chosen)
    assert created["secret"] == chosen
    response = await client.patch(
        f"{WEBHOOKS}/{created['id']}",
        json={"active": False, "event_types": ["screening.finished"], "url": HOOK + "/v2"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["active"], body["event_types"], body["url"]) == (
        False,
        ["screening.finished"],
        HOOK + "/v2",
    )
    deleted = await client.delete(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.org/x", "https"),
        ("http://hooks.example.org/x", "https"),
        ("http://127.0.0.1:8080/x", "https"),  # loopback is not allowed by default
        ("https://localhost/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fd00::1]/x", "private"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://0.0.0.0/x", "unicast"),
        ("https://user:pw@hooks.example.org/x", "credentials"),
        ("https://hooks.example.org:99999/x", "valid URL"),
        ("https:///x", "host"),
        ("https://hooks.example.org/a b", "spaces"),
    ],
)
async def test_a_refused_url_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, url: str, why: str
) -> None:
    admin = await admin_of(factory)
    response = await client.post(
        WEBHOOKS, json={"url": url, "event_types": ["alert.changed"]}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "url"]
    assert why in error["msg"]
    listed = await client.get(WEBHOOKS, headers=admin.headers)
    assert listed.json()["items"] == []  # nothing half-written


async def test_a_refused_url_in_a_change_is_a_problem_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await admin_of(factory)
    created = await subscribe(client, admin, HOOK, ["alert.changed"])
    response = await client.patch(
        f"{WEBHOOKS}/{created['id']}",
        json={"url": "https://169.254.169.254/", "active": False},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "url"]
    unchanged = await client.get(f"{WEBHOOKS}/{created['id']}", headers=admin.headers)
    assert unchanged.json()["url"] == HOOK and unchanged.json()["active"] is True


@pytest.mark.parametrize(
    "event_types",
    [["satellite.exploded"], ["conjunction.created", "nonsense"], [], ["alert.changed"] * 2],
)
async def test_unknown_or_repeated_event_types_are_refused(
    client: httpx.AsyncClient, factory: Factory, event_types: list[str]
) -> None:
    admin = await admin_of(factory)
    response = await client.post(
        WEBHOOKS, json={"url": HOOK, "event_types": event_types}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert all(error["loc"][:2] == ["body", "event_types"] for error in response.json()["errors"])


async def test_loopback_is_admitted_only_when_the_service_allows_it(
    client: httpx.AsyncClient, factory: Factory, loopback: None
) -> None:
    admin = await admin_of(factory)
    created = await subscribe(client, admin, "http://127.0.0.1:9/hook", ["alert.changed"])
    assert created["url"] == "http://127.0.0.1:9/hook"
    # Loopback, never private or link-local.
    response = await client.post(
        WEBHOOKS,
        json={"url": "http://169.254.169.254/", "event_types": ["alert.changed"]},
        headers=admin.headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize("role", ["viewer", "operator", "analyst"])
async def test_only_organisation_admins_manage_webhooks(
    client: httpx.AsyncClient, factory: Factory, role: str
) -> None:
    headers = await factory.login(role=role)
    for method, path in (("GET", WEBHOOKS), ("POST", WEBHOOKS)):
        response = await client.request(
            method, path, json={"url": HOOK, "event_types": ["alert.changed"]}, headers=headers
        )
        assert response.status_code == 403
        assert "'config:admin'" in response.json()["detail"]


async def test_another_organisations_webhook_and_deliveries_are_not_found(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await admin_of(factory)
    other = await admin_of(factory)
    created = await subscribe(client, owner, HOOK, ["alert.changed"])
    hook = f"{WEBHOOKS}/{created['id']}"
    delivery = f"{hook}/deliveries/{uuid.uuid4()}"
    attempts = [
        ("GET", hook, None),
        ("PATCH", hook, {"active": False}),
        ("POST", f"{hook}/rotate-secret", None),
        ("GET", f"{hook}/deliveries", None),
        ("GET", delivery, None),
        ("POST", f"{delivery}/replay", None),
        ("DELETE", hook, None),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    listed = await client.get(WEBHOOKS, headers=other.headers)
    assert listed.json()["items"] == []
    still = await client.get(hook, headers=owner.headers)
    assert still.status_code == 200 and still.json()["active"] is True


async def test_an_organisation_has_a_bounded_number_of_webhooks(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await admin_of(factory)
    limit = app.state.settings.webhook_max_per_organisation
    for n in range(limit):
        await subscribe(client, admin, f"{HOOK}/{n}", ["alert.changed"])
    response = await client.post(
        WEBHOOKS, json={"url": HOOK, "event_types": ["alert.changed"]}, headers=admin.headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
