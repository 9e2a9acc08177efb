"""An activation reaches the other replicas without a restart: at once through the shared
Redis channel, and within ``ml_registry_check_s`` without Redis."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from astroshield.ml.adversary_encoder import MODEL_VERSION
from tests.conftest import Factory
from tests.mlops.support import HISTORY_TLE, MODELS, SCORE, ml_apps, second_version, sha256_of
from tests.support.replicas import eventually

ACTIVATE = f"{MODELS}/adversary_encoder/versions/{{version}}/activate"


async def _served_version(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(SCORE, json={"tle": HISTORY_TLE}, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["version"])


@pytest.mark.redis
async def test_activation_reaches_another_replica_through_redis(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    viewer = await factory.login(role="viewer")
    new = second_version(tmp_path)
    # Without the channel, b would keep its loaded version for 300 s.
    async with ml_apps(database_url, 2, redis=True, ml_registry_check_s=300) as (a, b):
        assert await _served_version(b.client, viewer) == MODEL_VERSION  # loaded
        registered = await a.client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        assert registered.status_code == 201, registered.text
        activated = await a.client.post(ACTIVATE.format(version="9.9.9"), headers=admin)
        assert activated.status_code == 200, activated.text
        assert await _served_version(a.client, viewer) == "9.9.9"

        async def b_serves_the_new_version() -> bool:
            return await _served_version(b.client, viewer) == "9.9.9"

        assert await eventually(b_serves_the_new_version)
        # And back: the old version is still registered and can be served again.
        back = await b.client.post(ACTIVATE.format(version=MODEL_VERSION), headers=admin)
        assert back.status_code == 200

        async def a_serves_the_old_version() -> bool:
            return await _served_version(a.client, viewer) == MODEL_VERSION

        assert await eventually(a_serves_the_old_version)


async def test_without_redis_a_replica_converges_on_its_recheck(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    viewer = await factory.login(role="viewer")
    new = second_version(tmp_path)
    async with ml_apps(database_url, 2, redis=False, ml_registry_check_s=0.2) as (a, b):
        assert await _served_version(b.client, viewer) == MODEL_VERSION
        await a.client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        activated = await a.client.post(ACTIVATE.format(version="9.9.9"), headers=admin)
        assert activated.status_code == 200, activated.text

        async def b_serves_the_new_version() -> bool:
            return await _served_version(b.client, viewer) == "9.9.9"

        assert await eventually(b_serves_the_new_version)
