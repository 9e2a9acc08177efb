"""Spacecraft registry and status through the real app, on the run's database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Factory


async def test_create_get_update_delete(client: httpx.AsyncClient, factory: Factory) -> None:
    operator = await factory.user(role="operator")
    client.headers.update(factory.headers(operator))
    created = await client.post(
        "/api/v1/spacecraft",
        json={
            "name": "  Sentinel-2A ",
            "catalog_number": "40697",
            "cospar_id": "15028A",
            "description": "MSI imager",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Sentinel-2A"
    assert body["cospar_id"] == "2015-028A"  # TLE short form stored canonically
    assert body["mode"] == "unknown" and body["health"] == "unknown"
    assert body["organisation_id"] == str(operator.organisation_id)
    craft_id = body["id"]

    fetched = await client.get(f"/api/v1/spacecraft/{craft_id}")
    assert fetched.status_code == 200
    assert fetched.json() == body

    patched = await client.patch(
        f"/api/v1/spacecraft/{craft_id}", json={"description": None, "catalog_number": "A0001"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] is None
    assert patched.json()["catalog_number"] == "100001"  # Alpha-5 A0001
    assert patched.json()["name"] == "Sentinel-2A"  # untouched field kept

    deleted = await client.delete(f"/api/v1/spacecraft/{craft_id}")
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/spacecraft/{craft_id}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"


async def test_cursor_pagination_visits_every_row_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    client.headers.update(await factory.login(organisation, role="viewer"))
    await factory.spacecraft()  # another organisation's: never listed
    expected = {str((await factory.spacecraft(organisation)).id) for _ in range(23)}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/spacecraft", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 5
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == expected


async def test_list_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    esa, noaa = await factory.organisation(), await factory.organisation()
    await factory.spacecraft(esa, name="Sentinel-1A", mode="operational")
    await factory.spacecraft(esa, name="Sentinel-2A", mode="safe_mode")
    await factory.spacecraft(esa, name="100%_weird", mode="standby")
    await factory.spacecraft(noaa, name="NOAA-20", mode="operational")
    await factory.spacecraft(noaa, name="Sentinel-6", mode="operational")
    esa_viewer, noaa_viewer = await factory.login(esa, role="viewer"), await factory.login(noaa)

    async def names(headers: dict[str, str], **params: str) -> set[str]:
        response = await client.get("/api/v1/spacecraft", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}

    assert await names(esa_viewer) == {"Sentinel-1A", "Sentinel-2A", "100%_weird"}
    assert await names(esa_viewer, status="operational") == {"Sentinel-1A"}
    assert await names(esa_viewer, name="sentinel") == {"Sentinel-1A", "Sentinel-2A"}
    assert await names(esa_viewer, name="%") == {"100%_weird"}  # LIKE wildcards are literal
    assert await names(esa_viewer, name="0%_") == {"100%_weird"}
    assert await names(noaa_viewer, name="sentinel") == {"Sentinel-6"}


async def test_status_follows_latest_report_and_keeps_history(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    craft = await factory.spacecraft(organisation)
    client.headers.update(await factory.login(organisation, role="operator"))
    initial = await client.get(f"/api/v1/spacecraft/{craft.id}/status")
    assert initial.status_code == 200
    assert initial.json()["mode"] == "unknown" and initial.json()["reported_at"] is None

    now = datetime.now(UTC).replace(microsecond=0)
    reports = [
        (now - timedelta(hours=2), "operational", "nominal"),
        (now, "safe_mode", "degraded"),
        (now - timedelta(hours=1), "operational", "nominal"),  # arrives late
    ]
    for reported_at, mode, health in reports:
        response = await client.post(
            f"/api/v1/spacecraft/{craft.id}/status",
            json={
                "reported_at": reported_at.isoformat(),
                "mode": mode,
                "health": health,
                "health_summary": f"{mode} report",
                "last_contact_at": reported_at.isoformat(),
                "orbit_epoch": (reported_at - timedelta(hours=6)).isoformat(),
            },
        )
        assert response.status_code == 201, response.text

    status = (await client.get(f"/api/v1/spacecraft/{craft.id}/status")).json()
    # The late report is history, not the current state.
    assert status["mode"] == "safe_mode" and status["health"] == "degraded"
    assert datetime.fromisoformat(status["reported_at"]) == now
    assert datetime.fromisoformat(status["last_contact_at"]) == now
    assert datetime.fromisoformat(status["orbit_epoch"]) == now - timedelta(hours=6)

    listed = await client.get("/api/v1/spacecraft", params={"status": "safe_mode"})
    assert [item["id"] for item in listed.json()["items"]] == [str(craft.id)]

    first = await client.get(f"/api/v1/spacecraft/{craft.id}/status/history", params={"limit": 2})
    assert first.status_code == 200
    second = await client.get(
        f"/api/v1/spacecraft/{craft.id}/status/history",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
    )
    times = [
        datetime.fromisoformat(item["reported_at"])
        for item in first.json()["items"] + second.json()["items"]
    ]
    assert times == [now, now - timedelta(hours=1), now - timedelta(hours=2)]
    assert second.json()["next_cursor"] is None

    window = await client.get(
        f"/api/v1/spacecraft/{craft.id}/status/history",
        params={
            "start": (now - timedelta(minutes=90)).isoformat(),
            "stop": now.isoformat(),
        },
    )
    assert [item["mode"] for item in window.json()["items"]] == ["operational"]


async def test_delete_removes_status_history(client: httpx.AsyncClient, factory: Factory) -> None:
    organisation = await factory.organisation()
    craft = await factory.spacecraft(organisation)
    client.headers.update(await factory.login(organisation, role="operator"))
    response = await client.post(
        f"/api/v1/spacecraft/{craft.id}/status",
        json={"reported_at": datetime.now(UTC).isoformat(), "mode": "standby", "health": "nominal"},
    )
    assert response.status_code == 201
    assert (await client.delete(f"/api/v1/spacecraft/{craft.id}")).status_code == 204
    history = await client.get(f"/api/v1/spacecraft/{craft.id}/status/history")
    assert history.status_code == 404


async def test_same_name_allowed_in_different_organisations(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    for _ in range(2):
        response = await client.post(
            "/api/v1/spacecraft",
            json={"name": "Shared ride", "catalog_number": "25544"},
            headers=await factory.login(role="operator"),
        )
        assert response.status_code == 201, response.text


async def test_unknown_ids_are_404(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await factory.login(role="viewer"))
    missing = uuid.uuid4()
    for path in (
        f"/api/v1/spacecraft/{missing}",
        f"/api/v1/spacecraft/{missing}/status",
        f"/api/v1/spacecraft/{missing}/status/history",
        f"/api/v1/organisations/{missing}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["instance"] == path
