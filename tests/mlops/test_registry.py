"""The model registry: shipped models registered by themselves, registration and activation
by platform administrators only (audited), one active version per name enforced by the
database, the flag gate, and the prediction log per organisation."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from astroshield.audit.models import AuditEntry
from astroshield.db import session_scope
from astroshield.ml.adversary_encoder import MODEL_VERSION, shipped_model_path
from astroshield.mlops.models import MLModel
from tests.conftest import Factory
from tests.mlops.support import (
    HISTORY_TLE,
    MODELS,
    PREDICTIONS,
    SCORE,
    ml_apps,
    second_version,
    sha256_of,
)

PROBLEM = "application/problem+json"


async def test_shipped_models_are_registered_with_their_metadata(
    database_url: str, factory: Factory
) -> None:
    viewer = await factory.login(role="viewer")
    async with ml_apps(database_url) as (replica,):
        response = await replica.client.get(MODELS, headers=viewer)
    assert response.status_code == 200, response.text
    rows = {(m["name"], m["version"]): m for m in response.json()["items"]}
    shipped = rows[("adversary_encoder", MODEL_VERSION)]
    metadata = json.loads(shipped_model_path().with_suffix(".json").read_text(encoding="utf-8"))
    assert shipped["active"] is True
    assert shipped["file_path"] == shipped_model_path().name  # relative: the package's dir
    assert shipped["sha256"] == sha256_of(shipped_model_path())
    assert shipped["dataset_sha256"] == metadata["dataset_sha256"]
    assert shipped["metrics"] == metadata["metrics"]
    assert shipped["training_config"] == metadata["training_config"]
    assert shipped["registered_by"] == "system"
    # Every shipped JSON, whatever its name, is registered (other models ship beside it).
    shipped_names = {
        json.loads(p.read_text(encoding="utf-8"))["name"]
        for p in shipped_model_path().parent.glob("*.json")
    }
    assert shipped_names <= {name for name, _ in rows}
    # Exactly one active version per name.
    for name in shipped_names:
        assert sum(m["active"] for m in rows.values() if m["name"] == name) == 1


async def test_the_database_refuses_a_second_active_version(
    database_url: str, factory: Factory
) -> None:
    def row(version: str, active: bool) -> MLModel:
        return MLModel(
            name="toy_model",
            version=version,
            file_path="/nowhere/toy.onnx",
            sha256="0" * 64,
            metrics={},
            training_config={},
            active=active,
            registered_by="test",
        )

    async with session_scope(factory.sessionmaker) as session:
        session.add_all([row("1", True), row("2", False)])
    with pytest.raises(IntegrityError):
        async with session_scope(factory.sessionmaker) as session:
            session.add(row("3", True))
    with pytest.raises(IntegrityError):
        async with session_scope(factory.sessionmaker) as session:
            session.add(row("1", False))  # name and version are unique together
    async with session_scope(factory.sessionmaker) as session:
        session.add(row("3", False))  # any number of inactive versions


async def test_register_then_activate_swaps_the_served_version(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    admin_user = await factory.user(role="admin", platform_admin=True)
    admin = factory.headers(admin_user)
    operator = await factory.login(role="operator")
    new = second_version(tmp_path, "9.9.9", threshold=2.5)
    async with ml_apps(database_url) as (replica,):
        client = replica.client
        before = await client.post(SCORE, json={"tle": HISTORY_TLE}, headers=operator)
        assert before.status_code == 200, before.text
        assert before.json()["version"] == MODEL_VERSION

        registered = await client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["version"] == "9.9.9"
        assert registered.json()["active"] is False
        again = await client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        assert again.status_code == 409 and again.headers["content-type"] == PROBLEM

        activated = await client.post(
            f"{MODELS}/adversary_encoder/versions/9.9.9/activate", headers=admin
        )
        assert activated.status_code == 200, activated.text
        assert activated.json()["active"] is True

        after = await client.post(SCORE, json={"tle": HISTORY_TLE}, headers=operator)
        assert after.status_code == 200, after.text
        body = after.json()
        assert (body["version"], body["threshold"]) == ("9.9.9", 2.5)
        # Same graph: the same scores, judged against the new threshold.
        assert [i["score"] for i in body["items"]] == [i["score"] for i in before.json()["items"]]
        assert all(i["anomalous"] == (i["score"] > 2.5) for i in body["items"])

        listed = (await client.get(MODELS, headers=operator)).json()["items"]
        active = {m["version"] for m in listed if m["name"] == "adversary_encoder" and m["active"]}
        assert active == {"9.9.9"}
        missing = await client.post(
            f"{MODELS}/adversary_encoder/versions/8.8.8/activate", headers=admin
        )
        assert missing.status_code == 404
    async with session_scope(factory.sessionmaker) as session:
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.object_type == "ml_model")))
            .scalars()
            .all()
        )
    actions = {(e.action, e.object_id, e.actor, e.organisation_id) for e in entries}
    assert ("ml_model.registered", "adversary_encoder/9.9.9", str(admin_user.id), None) in actions
    assert ("ml_model.activated", "adversary_encoder/9.9.9", str(admin_user.id), None) in actions


async def test_registration_refuses_a_file_that_is_not_the_one_named(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    new = second_version(tmp_path)
    async with ml_apps(database_url) as (replica,):
        wrong = await replica.client.post(
            MODELS, json={"file_path": str(new), "sha256": "a" * 64}, headers=admin
        )
        assert wrong.status_code == 422 and wrong.headers["content-type"] == PROBLEM
        assert wrong.json()["errors"][0]["loc"] == ["body", "sha256"]
        # The metadata beside it describes other bytes.
        new.write_bytes(new.read_bytes() + b"\0")
        changed = await replica.client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        assert changed.status_code == 422, changed.text
        assert "differs" in changed.json()["detail"]
        too_long = await replica.client.post(
            MODELS, json={"file_path": "/" + "x" * 300 + ".onnx", "sha256": "a" * 64}, headers=admin
        )
        assert too_long.status_code == 422, too_long.text
        absent = await replica.client.post(
            MODELS,
            json={"file_path": str(tmp_path / "none.onnx"), "sha256": "a" * 64},
            headers=admin,
        )
        assert absent.status_code == 422
        assert absent.json()["errors"][0]["loc"] == ["body", "file_path"]
        listed = (await replica.client.get(MODELS, headers=admin)).json()["items"]
        assert "9.9.9" not in {m["version"] for m in listed}


async def test_a_file_changed_on_disk_is_never_served(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    operator = await factory.login(role="operator")
    new = second_version(tmp_path)
    async with ml_apps(database_url) as (replica,):
        client = replica.client
        await client.post(
            MODELS, json={"file_path": str(new), "sha256": sha256_of(new)}, headers=admin
        )
        new.write_bytes(new.read_bytes() + b"tampered")
        refused = await client.post(
            f"{MODELS}/adversary_encoder/versions/9.9.9/activate", headers=admin
        )
        assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
        assert "sha256" in refused.json()["detail"]
        still = await client.post(SCORE, json={"tle": HISTORY_TLE}, headers=operator)
        assert still.json()["version"] == MODEL_VERSION
    # Activated while intact, changed afterwards: a replica loading it refuses it.
    second = second_version(tmp_path, "0.3.0")
    async with ml_apps(database_url) as (replica,):
        client = replica.client
        await client.post(
            MODELS, json={"file_path": str(second), "sha256": sha256_of(second)}, headers=admin
        )
        ok = await client.post(f"{MODELS}/adversary_encoder/versions/0.3.0/activate", headers=admin)
        assert ok.status_code == 200, ok.text
    second.write_bytes(second.read_bytes() + b"tampered")
    refused_loads = (
        "astroshield_ml_model_loads_refused_total",
        {"model": "adversary_encoder", "version": "0.3.0"},
    )
    before = REGISTRY.get_sample_value(*refused_loads) or 0.0
    async with ml_apps(database_url) as (fresh,):
        answer = await fresh.client.post(SCORE, json={"tle": HISTORY_TLE}, headers=operator)
        assert (REGISTRY.get_sample_value(*refused_loads) or 0.0) - before == 1
        assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM
        assert "0.3.0 is not served" in answer.json()["detail"]
        assert "sha256" in answer.json()["detail"]


async def test_only_platform_administrators_register_and_activate(
    database_url: str, factory: Factory, tmp_path: Path
) -> None:
    organisation_admin = await factory.login(role="admin")
    new = second_version(tmp_path)
    async with ml_apps(database_url) as (replica,):
        register = await replica.client.post(
            MODELS,
            json={"file_path": str(new), "sha256": sha256_of(new)},
            headers=organisation_admin,
        )
        activate = await replica.client.post(
            f"{MODELS}/adversary_encoder/versions/{MODEL_VERSION}/activate",
            headers=organisation_admin,
        )
        listed = await replica.client.get(MODELS, headers=organisation_admin)
    assert register.status_code == 403 and activate.status_code == 403
    assert listed.status_code == 200


async def test_the_flag_gate_answers_while_the_endpoints_are_off(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    viewer = await factory.login(role="viewer")
    for method, path in (("GET", MODELS), ("POST", SCORE), ("GET", PREDICTIONS)):
        response = await client.request(method, path, json={"tle": HISTORY_TLE}, headers=viewer)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"].endswith("/feature-disabled")
        assert response.json()["feature"] == "ml-endpoints"
    anonymous = await client.get(MODELS)
    assert anonymous.status_code == 401


async def test_the_prediction_log_is_per_organisation(database_url: str, factory: Factory) -> None:
    first = await factory.user(role="operator")
    second = await factory.login(role="operator")
    async with ml_apps(database_url) as (replica,):
        scored = await replica.client.post(
            SCORE, json={"tle": HISTORY_TLE}, headers=factory.headers(first)
        )
        assert scored.status_code == 200, scored.text
        own = (await replica.client.get(PREDICTIONS, headers=factory.headers(first))).json()
        other = (await replica.client.get(PREDICTIONS, headers=second)).json()
    assert other["items"] == []
    (row,) = own["items"]
    items = scored.json()["items"]
    assert row["user_id"] == str(first.id)
    assert (row["model_name"], row["model_version"]) == ("adversary_encoder", MODEL_VERSION)
    assert row["endpoint"] == "adversary-encoder/score"
    assert row["input_sha256"] == hashlib.sha256(HISTORY_TLE.strip().encode()).hexdigest()
    assert row["output_summary"]["scored"] == len(items)
    assert row["output_summary"]["anomalous"] == sum(i["anomalous"] for i in items)
    assert uuid.UUID(row["id"])
