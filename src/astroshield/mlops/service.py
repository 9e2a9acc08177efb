"""The model registry and the prediction log.

Models are platform-wide: only platform administrators register and activate versions
(audited in the platform stream); everyone may list them. The models shipped in the
package (``astroshield/ml/models/*.json``, whatever their names) are registered the first
time the registry is read without them; the first version of a name becomes its active
version. Loading and hot swap: :mod:`astroshield.mlops.serving`.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import SYSTEM, Actor, record
from astroshield.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from astroshield.ml.onnx_model import MODELS_DIR, ModelFileError, read_checked_metadata
from astroshield.mlops.models import MLModel, MLPrediction
from astroshield.mlops.repository import ModelRepository, PredictionRepository
from astroshield.mlops.schemas import ModelRead, PredictionRead
from astroshield.observability.domain_metrics import (
    ML_MODEL_LOADS_REFUSED,
    ML_PREDICTIONS,
    count_after_commit,
)
from astroshield.security.principal import Principal

log = structlog.get_logger(__name__)


def resolve(file_path: str) -> Path:
    """The file a registry row names: relative paths are in the package's models dir."""
    path = Path(file_path)
    return path if path.is_absolute() else MODELS_DIR / path


def stored_path(path: Path) -> str:
    """What the registry stores for ``path``: relative inside the package's models dir
    (the package may be installed elsewhere on another machine), absolute otherwise."""
    resolved = path.resolve()
    if resolved.is_relative_to(MODELS_DIR):
        return str(resolved.relative_to(MODELS_DIR))
    return str(resolved)


@dataclass(frozen=True, slots=True)
class ShippedModel:
    name: str
    version: str
    onnx_path: Path


def shipped_models() -> list[ShippedModel]:
    """Every model shipped in the package, by its metadata JSON's ``name`` and
    ``version`` (the ONNX file: the JSON's ``file``, else ``NAME-VERSION.onnx``)."""
    found = []
    for meta in sorted(MODELS_DIR.glob("*.json")):
        try:
            document = json.loads(meta.read_text(encoding="utf-8"))
            name, version = str(document["name"]), str(document["version"])
        except (OSError, ValueError, KeyError, TypeError):
            log.error("ml_shipped_metadata_unreadable", file=meta.name)
            continue
        onnx = MODELS_DIR / str(document.get("file") or f"{name}-{version}.onnx")
        found.append(ShippedModel(name, version, onnx))
    return found


def _row(path: Path, metadata: dict[str, Any], *, by: str) -> MLModel:
    return MLModel(
        name=str(metadata["name"]),
        version=str(metadata["version"]),
        file_path=stored_path(path),
        sha256=str(metadata["sha256"]),
        dataset_sha256=metadata.get("dataset_sha256"),
        metrics=dict(metadata.get("metrics") or {}),
        training_config=dict(metadata.get("training_config") or {}),
        active=False,
        registered_by=by,
    )


async def register_shipped(session: AsyncSession) -> int:
    """Register the shipped models the registry lacks (a file whose hash differs from its
    JSON is refused and logged); how many were added."""
    repository = ModelRepository(session)
    registered = await repository.registered()
    missing = [s for s in shipped_models() if (s.name, s.version) not in registered]
    if not missing:
        return 0
    with_active = await repository.names_with_active()
    added = 0
    for shipped in missing:
        try:
            metadata = read_checked_metadata(shipped.onnx_path)
        except ModelFileError as error:
            ML_MODEL_LOADS_REFUSED.labels(shipped.name, shipped.version).inc()
            log.error("ml_shipped_model_refused", model=shipped.name, error=str(error))
            continue
        row = _row(shipped.onnx_path, metadata, by=SYSTEM.user_id or "system")
        row.active = row.name not in with_active
        if await repository.add_if_absent(row):
            added += 1
            if row.active:
                with_active.add(row.name)
            log.info("ml_model_registered", model=row.name, version=row.version, active=row.active)
    return added


def to_read(model: MLModel) -> ModelRead:
    return ModelRead.model_validate(model)


async def list_models(
    session: AsyncSession, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[MLModel]:
    await register_shipped(session)
    return await ModelRepository(session).list(after_id=after_id, limit=limit)


async def active_model(session: AsyncSession, name: str) -> MLModel | None:
    """The registry's active version of ``name`` (shipped models registered first)."""
    await register_shipped(session)
    return await ModelRepository(session).active(name)


def _registration_metadata(file_path: str, sha256: str) -> tuple[Path, dict[str, Any]]:
    path = resolve(file_path)
    try:
        found = path.suffix == ".onnx" and path.is_file()
    except OSError:  # a name too long for the file system, say
        found = False
    if not found:
        raise InvalidInputError(
            f"{file_path}: no ONNX file there",
            errors=[FieldError(["body", "file_path"], "not an existing .onnx file")],
        )
    try:
        metadata = read_checked_metadata(path, expected_sha256=sha256)
    except ModelFileError as error:
        field = "sha256" if "differs" in str(error) else "file_path"
        raise InvalidInputError(
            str(error), errors=[FieldError(["body", field], str(error))]
        ) from None
    for key in ("name", "version", "sha256"):
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise InvalidInputError(
                f"{path.with_suffix('.json')}: the metadata has no '{key}'",
                errors=[FieldError(["body", "file_path"], f"metadata lacks '{key}'")],
            )
    return path, metadata


async def register_model(
    session: AsyncSession, file_path: str, sha256: str, *, actor: Actor
) -> MLModel:
    """Register (inactive) the ONNX file at ``file_path`` after checking its sha256
    against ``sha256`` and its metadata; audited in the platform stream."""
    path, metadata = _registration_metadata(file_path, sha256)
    repository = ModelRepository(session)
    name, version = str(metadata["name"]), str(metadata["version"])
    if await repository.get(name, version) is not None:
        raise ConflictError(f"{name} {version} is already registered")
    model = await repository.add(_row(path, metadata, by=actor.user_id or "system"))
    await record(
        session,
        dataclasses.replace(actor, organisation_id=None).event(
            "ml_model.registered",
            object_type="ml_model",
            object_id=f"{name}/{version}",
            sha256=model.sha256,
            file_path=model.file_path,
            actor_organisation_id=None
            if actor.organisation_id is None
            else str(actor.organisation_id),
        ),
    )
    return model


def check_file(model: MLModel) -> None:
    """Refuse (logged, counted) a registered file that is missing or whose bytes are not
    the ones registered."""
    try:
        read_checked_metadata(resolve(model.file_path), expected_sha256=model.sha256)
    except ModelFileError as error:
        ML_MODEL_LOADS_REFUSED.labels(model.name, model.version).inc()
        log.error("ml_model_refused", model=model.name, version=model.version, error=str(error))
        raise ConflictError(
            f"{model.name} {model.version}: its file is missing or its sha256 is not the "
            "registered one; refusing to serve it"
        ) from None


async def activate_model(
    session: AsyncSession, name: str, version: str, *, actor: Actor
) -> MLModel:
    """Make ``version`` the active version of ``name`` (its file checked first: 409 when
    it is not the registered one); audited in the platform stream. The caller tells the
    replicas after the commit (:meth:`astroshield.mlops.serving.ModelServer.announce`)."""
    await register_shipped(session)
    repository = ModelRepository(session)
    model = await repository.get(name, version)
    if model is None:
        raise NotFoundError(f"no model {name} version {version} is registered")
    check_file(model)
    previous = await repository.active(name)
    await repository.activate(model)
    await record(
        session,
        dataclasses.replace(actor, organisation_id=None).event(
            "ml_model.activated",
            object_type="ml_model",
            object_id=f"{name}/{version}",
            old=None if previous is None else previous.version,
            new=version,
            actor_organisation_id=None
            if actor.organisation_id is None
            else str(actor.organisation_id),
        ),
    )
    return model


# ------------------------------------------------------------------- prediction log


async def log_prediction(
    session: AsyncSession,
    principal: Principal,
    *,
    model: str,
    version: str,
    endpoint: str,
    input_sha256: str,
    summary: dict[str, Any],
) -> None:
    """One answer of an ML endpoint, in the request's transaction (counted once it
    commits)."""
    await PredictionRepository(session, principal.organisation_id).add(
        MLPrediction(
            user_id=principal.user_id,
            model_name=model,
            model_version=version,
            endpoint=endpoint,
            input_sha256=input_sha256,
            output_summary=summary,
        )
    )
    count_after_commit(session, ML_PREDICTIONS.labels(model, version))


async def list_predictions(
    session: AsyncSession, principal: Principal, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[MLPrediction]:
    """The caller's organisation's predictions, newest first."""
    repository = PredictionRepository(session, principal.organisation_id)
    return await repository.list(after_id=after_id, limit=limit)


def prediction_to_read(prediction: MLPrediction) -> PredictionRead:
    return PredictionRead.model_validate(prediction)
