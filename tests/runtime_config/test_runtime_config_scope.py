"""Platform-wide versus per-organisation runtime settings: an organisation administrator
can neither change nor see the platform's settings (log levels, the service's own alert
thresholds, the pool), and their organisation's settings act on their organisation only.
Platform changes are audited in the platform stream, which only platform administrators
read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, select

from astroshield.alerts.models import AlertRule
from astroshield.db import create_unpooled_engine, uuid7
from astroshield.migrate import downgrade_async, upgrade_async
from astroshield.organisations.models import Organisation
from astroshield.runtime_config.catalogue import (
    ORGANISATION_SETTINGS,
    PLATFORM_SETTINGS,
    VISIBLE_PLATFORM_SETTINGS,
)
from astroshield.runtime_config.models import OrganisationSetting, RuntimeSetting
from tests.conftest import Factory, settings_for

# One value of every platform-wide setting, each a change an attacker might want.
PLATFORM_CHANGES: dict[str, Any] = {
    "log_level": "critical",
    "logger_levels": {"astroshield": "critical"},
    "alert_error_rate_per_minute": 1e6,
    "alert_p95_latency_ms": 1e6,
    "alert_memory_percent": 100,
    "alert_cpu_percent": 100,
    "metrics_enabled": False,
    "db_pool_size": 1,
    "db_max_overflow": 0,
    "retention_batch_size": 1,
}


async def _thresholds(app: FastAPI) -> dict[str, dict[str, float]]:
    async with app.state.sessionmaker() as session:
        rules = (
            (await session.execute(select(AlertRule).where(AlertRule.organisation_id.is_(None))))
            .scalars()
            .all()
        )
    return {rule.key: rule.thresholds for rule in rules}


async def _audit(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_every_runtime_setting_has_a_scope() -> None:
    from astroshield.runtime_config.schemas import RuntimeConfig

    assert set(RuntimeConfig.model_fields) == PLATFORM_SETTINGS | ORGANISATION_SETTINGS
    assert not PLATFORM_SETTINGS & ORGANISATION_SETTINGS


async def test_an_organisation_admin_cannot_change_platform_settings(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    platform_admin = await factory.login(role="admin", platform_admin=True)
    # The platform's built-in rules exist (as after the first evaluation cycle).
    await client.patch("/api/v1/config", json={"alert_cpu_percent": None}, headers=platform_admin)
    org_admin = await factory.login(role="admin")
    settings_before, thresholds_before = app.state.settings, await _thresholds(app)
    root_level = logging.getLogger().level

    for key, value in PLATFORM_CHANGES.items():
        response = await client.patch("/api/v1/config", json={key: value}, headers=org_admin)
        assert response.status_code == 403, (key, response.text)
        assert response.json()["errors"] == [{"loc": ["body", key], "msg": "platform-wide setting"}]
    # Together with a setting of their own: refused whole, nothing of it kept.
    mixed = await client.patch(
        "/api/v1/config", json={"page_size_default": 3, "log_level": "critical"}, headers=org_admin
    )
    assert mixed.status_code == 403
    assert (await client.get("/api/v1/spacecraft", headers=org_admin)).json()["limit"] == (
        app.state.base_settings.page_size_default
    )

    assert app.state.settings is settings_before
    assert await _thresholds(app) == thresholds_before
    assert logging.getLogger().level == root_level
    # Each attempt is in the platform stream, where platform administrators look.
    denied = await _audit(
        client, platform_admin, stream="platform", action="auth.permission_denied"
    )
    attempted = [entry["details"]["fields"] for entry in denied]
    assert attempted.count(["log_level"]) == 2  # alone, and with page_size_default
    assert {field for fields in attempted for field in fields} == set(PLATFORM_CHANGES)
    assert all(entry["organisation_id"] is None for entry in denied)
    assert all(entry["details"]["scope"] == "platform:config" for entry in denied)


async def test_a_platform_change_applies_to_everyone_and_is_audited_for_platform_admins_only(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    platform_org = await factory.organisation()
    platform_admin = await factory.login(platform_org, role="admin", platform_admin=True)
    org_admin = await factory.login(role="admin")
    response = await client.patch(
        "/api/v1/config",
        json={"alert_error_rate_per_minute": 42, "log_level": "warning"},
        headers=platform_admin,
    )
    assert response.status_code == 200, response.text
    try:
        assert app.state.settings.alert_error_rate_per_minute == 42
        assert (await _thresholds(app))["error-rate"] == {"warning": 42}
        assert logging.getLogger().level == logging.WARNING

        [entry] = await _audit(client, platform_admin, stream="platform", action="config.updated")
        assert entry["organisation_id"] is None
        assert entry["details"]["changes"] == {
            "alert_error_rate_per_minute": 42,
            "log_level": "warning",
        }
        assert entry["details"]["actor_organisation_id"] == str(platform_org.id)
        # Not in any organisation's stream, the platform admin's own included.
        assert not await _audit(client, platform_admin, action="config.updated")
        assert not await _audit(client, org_admin, action="config.updated")
        refused = await client.get(
            "/api/v1/audit", params={"stream": "platform"}, headers=org_admin
        )
        assert refused.status_code == 403

        # The organisation admin sees their effective configuration, not the platform's
        # insides.
        seen = (await client.get("/api/v1/config", headers=org_admin)).json()
        assert set(seen) == ORGANISATION_SETTINGS | VISIBLE_PLATFORM_SETTINGS
        everything = (await client.get("/api/v1/config", headers=platform_admin)).json()
        assert set(everything) == PLATFORM_SETTINGS | ORGANISATION_SETTINGS
        assert everything["alert_error_rate_per_minute"] == 42
    finally:
        await client.patch(
            "/api/v1/config",
            json={"alert_error_rate_per_minute": None, "log_level": None},
            headers=platform_admin,
        )
        logging.getLogger().setLevel(logging.INFO)


async def test_an_organisation_setting_changes_that_organisation_only(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    org_a, org_b = await factory.organisation(), await factory.organisation()
    admin_a = await factory.login(org_a, role="admin")
    admin_b = await factory.login(org_b, role="admin")
    operator_b = await factory.login(org_b, role="operator")
    platform_admin = await factory.login(role="admin", platform_admin=True)
    default = app.state.base_settings.page_size_default
    for organisation in (org_a, org_b):
        for _ in range(3):
            await factory.spacecraft(organisation)

    changed = await client.patch("/api/v1/config", json={"page_size_default": 2}, headers=admin_a)
    assert changed.status_code == 200, changed.text
    assert changed.json()["page_size_default"] == 2

    page_a = (await client.get("/api/v1/spacecraft", headers=admin_a)).json()
    assert page_a["limit"] == 2 and len(page_a["items"]) == 2
    # Organisation B's requests keep the platform default.
    for headers in (admin_b, operator_b):
        page_b = (await client.get("/api/v1/spacecraft", headers=headers)).json()
        assert page_b["limit"] == default and len(page_b["items"]) == 3
    assert (await client.get("/api/v1/config", headers=admin_b)).json()["page_size_default"] == (
        default
    )
    assert app.state.settings.page_size_default == default

    # Audited in organisation A's stream only.
    [entry] = await _audit(client, admin_a, action="config.updated")
    assert entry["organisation_id"] == str(org_a.id)
    assert entry["object_type"] == "organisation_config"
    assert not await _audit(client, admin_b, action="config.updated")
    assert not await _audit(client, platform_admin, stream="platform", action="config.updated")

    # B's own change does not touch A.
    await client.patch("/api/v1/config", json={"page_size_default": 1}, headers=admin_b)
    assert (await client.get("/api/v1/spacecraft", headers=admin_a)).json()["limit"] == 2
    assert (await client.get("/api/v1/spacecraft", headers=admin_b)).json()["limit"] == 1
    # Above the platform's maximum: refused, the earlier value kept.
    too_big = await client.patch(
        "/api/v1/config", json={"page_size_default": 1000}, headers=admin_a
    )
    assert too_big.status_code == 422
    assert (await client.get("/api/v1/spacecraft", headers=admin_a)).json()["limit"] == 2


async def test_operators_cannot_change_their_organisation_settings(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organisation = await factory.organisation()
    operator = await factory.login(organisation, role="operator")
    admin = await factory.login(organisation, role="admin")
    response = await client.patch("/api/v1/config", json={"page_size_default": 2}, headers=operator)
    assert response.status_code == 403
    [denied] = await _audit(client, admin, action="auth.permission_denied")
    assert denied["details"]["scope"] == "config:admin"
    assert (await client.get("/api/v1/spacecraft", headers=operator)).json()["limit"] != 2


async def test_upgrade_carries_a_stored_page_size_to_every_organisation(
    scratch_database_url: str,
) -> None:
    """Before, page_size_default was stored platform-wide: after the upgrade every
    organisation keeps the value it had, and no platform row of it is left."""
    settings = settings_for(scratch_database_url)
    await upgrade_async(settings, "a1c47a0c2006")
    engine = create_unpooled_engine(settings)
    organisations = [uuid7(), uuid7()]
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Organisation.__table__),
                [
                    {"id": org, "name": f"Org {n}", "slug": f"org-{n}", "created_at": now}
                    for n, org in enumerate(organisations)
                ],
            )
            await connection.execute(
                insert(RuntimeSetting.__table__),
                [
                    {"key": "page_size_default", "value": 9, "updated_at": now},
                    {"key": "log_level", "value": "warning", "updated_at": now},
                ],
            )
        await upgrade_async(settings)
        async with engine.connect() as connection:
            carried = (await connection.execute(select(OrganisationSetting.__table__))).all()
            platform = (await connection.execute(select(RuntimeSetting.key))).scalars().all()
        assert sorted((row.organisation_id, row.key, row.value) for row in carried) == sorted(
            (org, "page_size_default", 9) for org in organisations
        )
        assert platform == ["log_level"]
        await downgrade_async(settings, "a1c47a0c2006")
        await upgrade_async(settings)
    finally:
        await engine.dispose()
