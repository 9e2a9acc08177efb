"""Flag values live in the database: a replica started later loads them, and a running
one picks up another's change on its refresh."""

from __future__ import annotations

from tests.conftest import Factory
from tests.features.support import features_of, set_flag
from tests.support.replicas import eventually, replicas


async def test_other_replicas_load_and_refresh_stored_values(
    database_url: str, factory: Factory
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    async with replicas(database_url, redis=False, runtime_config_refresh_s=0.05) as (a, b):
        changed = await set_flag(a.client, admin, "ccdm-intent", "platform", False)
        assert changed.status_code == 200, changed.text

        async def b_sees_it() -> bool:
            seen = (await features_of(b.client, admin))["ccdm-intent"]
            return (seen["enabled"], seen["source"]) == (False, "platform")

        assert await eventually(b_sees_it)
    # Refresh off: what it shows was loaded at start.
    async with replicas(database_url, count=1, redis=False) as (late,):
        seen = (await features_of(late.client, admin))["ccdm-intent"]
        assert (seen["enabled"], seen["source"]) == (False, "platform")
