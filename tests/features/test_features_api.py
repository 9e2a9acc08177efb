"""``/features``: the caller's view, platform values, organisation overrides, the audit
of every change, bad input, and one tenant against another."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from astroshield.features.catalogue import FLAGS, Flag
from tests.conftest import Factory
from tests.features.support import FEATURES, features_of, set_flag


async def _audit(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/audit", params={"action": "feature_flag.updated", **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_every_caller_sees_every_flag_with_its_source(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    viewer = await factory.login(role="viewer")
    seen = await features_of(client, viewer)
    assert set(seen) == {str(flag) for flag in Flag}
    assert all(item["source"] == "default" for item in seen.values())
    assert seen["ml-endpoints"]["enabled"] is False
    assert seen["live-streams"]["enabled"] is True
    assert seen["screening-jobs"]["organisational"] is False
    assert (await client.get(FEATURES)).status_code == 401


async def test_platform_value_then_organisation_override_then_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    platform_admin = await factory.login(role="admin", platform_admin=True)
    organisation = await factory.organisation()
    org_admin = await factory.login(organisation, role="admin")
    operator = await factory.login(organisation, role="operator")

    off = await set_flag(client, platform_admin, "ccdm-intent", "platform", False)
    assert off.status_code == 200, off.text
    assert (off.json()["enabled"], off.json()["source"]) == (False, "platform")
    assert (await features_of(client, operator))["ccdm-intent"]["source"] == "platform"

    on = await set_flag(client, org_admin, "ccdm-intent", "organisation", True)
    assert (on.json()["enabled"], on.json()["source"]) == (True, "organisation")
    seen = (await features_of(client, operator))["ccdm-intent"]
    assert (seen["enabled"], seen["source"]) == (True, "organisation")

    cleared = await set_flag(client, org_admin, "ccdm-intent", "organisation", None)
    assert (cleared.json()["enabled"], cleared.json()["source"]) == (False, "platform")
    reset = await set_flag(client, platform_admin, "ccdm-intent", "platform", None)
    assert (reset.json()["enabled"], reset.json()["source"]) == (True, "default")
    assert (await features_of(client, operator))["ccdm-intent"]["source"] == "default"


async def test_changes_are_audited_with_actor_old_and_new_value_and_scope(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    platform_admin_user = await factory.user(role="admin", platform_admin=True)
    platform_admin = factory.headers(platform_admin_user)
    organisation = await factory.organisation()
    org_admin_user = await factory.user(organisation, role="admin")
    org_admin = factory.headers(org_admin_user)
    await set_flag(client, platform_admin, "screening-jobs", "platform", False)
    await set_flag(client, platform_admin, "screening-jobs", "platform", True)
    await set_flag(client, org_admin, "live-streams", "organisation", False)

    platform = await _audit(client, platform_admin, stream="platform")
    assert [(e["details"]["old"], e["details"]["new"]) for e in platform] == [
        (False, True),  # newest first
        (None, False),
    ]
    for entry in platform:
        assert entry["actor"] == str(platform_admin_user.id)
        assert entry["organisation_id"] is None
        assert (entry["object_type"], entry["object_id"]) == ("feature_flag", "screening-jobs")
        assert entry["details"]["scope"] == "platform"

    (own,) = await _audit(client, org_admin)
    assert own["actor"] == str(org_admin_user.id)
    assert own["organisation_id"] == str(organisation.id)
    assert own["object_id"] == "live-streams"
    assert (own["details"]["scope"], own["details"]["old"], own["details"]["new"]) == (
        "organisation",
        None,
        False,
    )
    # The platform's changes are not in the organisation's trail.
    assert all(e["object_id"] != "screening-jobs" for e in await _audit(client, org_admin))


async def test_who_may_change_what(client: httpx.AsyncClient, factory: Factory) -> None:
    org_admin = await factory.login(role="admin")
    analyst = await factory.login(role="analyst")
    refused = await set_flag(client, org_admin, "live-streams", "platform", False)
    assert refused.status_code == 403
    assert "platform:config" in refused.json()["detail"]
    assert (await set_flag(client, analyst, "live-streams", "organisation", False)).status_code == (
        403
    )
    assert (await features_of(client, org_admin))["live-streams"]["source"] == "default"


async def test_an_organisation_cannot_override_a_platform_only_flag(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org_admin = await factory.login(role="admin")
    assert not FLAGS[Flag.SCREENING_JOBS].organisational
    for enabled in (True, None):
        response = await set_flag(client, org_admin, "screening-jobs", "organisation", enabled)
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {"loc": ["path", "key"], "msg": "not an organisational flag"}
        ]


@pytest.mark.parametrize(
    ("key", "body", "loc"),
    [
        ("no-such-flag", {"enabled": False}, ["path", "key"]),
        ("live-streams", {"enabled": "no"}, ["body", "enabled"]),
        ("live-streams", {"enabled": 0}, ["body", "enabled"]),
        ("live-streams", {"enabled": None}, ["body", "enabled"]),
        ("live-streams", {}, ["body", "enabled"]),
        ("live-streams", {"enabled": True, "value": True}, ["body", "value"]),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, key: str, body: Any, loc: list[str]
) -> None:
    platform_admin = await factory.login(role="admin", platform_admin=True)
    for scope in ("platform", "organisation"):
        response = await client.put(f"{FEATURES}/{key}/{scope}", json=body, headers=platform_admin)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert loc in [error["loc"] for error in response.json()["errors"]]
    assert all(
        v["source"] == "default" for v in (await features_of(client, platform_admin)).values()
    )


async def test_a_second_tenant_neither_sees_nor_changes_the_first_ones_overrides(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first, second = await factory.organisation(), await factory.organisation()
    first_admin = await factory.login(first, role="admin")
    second_admin = await factory.login(second, role="admin")
    first_viewer = await factory.login(first, role="viewer")
    assert (
        await set_flag(client, first_admin, "live-streams", "organisation", False)
    ).status_code == (200)

    # As the second tenant: its view shows none of the first one's override ...
    seen = (await features_of(client, second_admin))["live-streams"]
    assert (seen["enabled"], seen["source"]) == (True, "default")
    # ... its own changes and removals act on itself only ...
    assert (await set_flag(client, second_admin, "live-streams", "organisation", True)).json()[
        "source"
    ] == "organisation"
    await set_flag(client, second_admin, "live-streams", "organisation", None)
    await set_flag(client, second_admin, "ccdm-intent", "organisation", False)
    # ... an organisation in the path or the body is not something it can send ...
    other = await client.put(
        f"{FEATURES}/live-streams/organisation",
        json={"enabled": True, "organisation_id": str(first.id)},
        headers=second_admin,
    )
    assert other.status_code == 422
    assert (
        await client.put(
            f"{FEATURES}/live-streams/organisations/{first.id}",
            json={"enabled": True},
            headers=second_admin,
        )
    ).status_code in {404, 405}
    # ... and its audit trail has none of the first one's entries.
    trail = await _audit(client, second_admin)
    assert {e["organisation_id"] for e in trail} == {str(second.id)}

    mine = await features_of(client, first_viewer)
    assert (mine["live-streams"]["enabled"], mine["live-streams"]["source"]) == (
        False,
        "organisation",
    )
    assert mine["ccdm-intent"]["source"] == "default"
