from __future__ import annotations

from typing import Any

import httpx

FEATURES = "/api/v1/features"


async def features_of(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(FEATURES, headers=headers)
    assert response.status_code == 200, response.text
    return {item["key"]: item for item in response.json()["items"]}


async def set_flag(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    key: str,
    scope: str,
    enabled: bool | None,
) -> httpx.Response:
    """PUT the value, or DELETE it when ``enabled`` is None."""
    url = f"{FEATURES}/{key}/{scope}"
    if enabled is None:
        return await client.delete(url, headers=headers)
    return await client.put(url, json={"enabled": enabled}, headers=headers)


def assert_disabled(response: httpx.Response, feature: str, by: str) -> None:
    """The documented answer of a disabled feature (features.gate)."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/problems/feature-disabled"
    assert (body["feature"], body["disabled_by"]) == (feature, by)
    assert feature in body["detail"]
