"""The models this replica serves, and the hot swap.

Each name's active version is loaded on first use, from the registry's row: the file is
checked against the sha256 the registry holds (a file whose bytes changed on disk is
refused with a 503, logged and counted, and never served). The loaded model is served
until the registry is re-read, which happens

- at once on every replica when a version is activated: the activating replica drops its
  own entry after the commit and publishes the name on the Redis channel
  ``<rate_limit_namespace>-ml-models`` (with ``ASTROSHIELD_REDIS_URL``);
- and in any case ``ml_registry_check_s`` after the last read, so a replica that missed
  the message (pub/sub delivers at most once; a replica that re-subscribes re-reads every
  name) or a change made from the command line converges within that bound.

A re-read that finds the same version keeps the loaded model (the file is not hashed
again); another version is loaded, checked, then swapped in; requests already running
finish with the model they started with.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.config import Settings
from astroshield.errors import ConflictError, NotFoundError, ServiceUnavailableError
from astroshield.ml.onnx_model import ModelFileError
from astroshield.mlops import service
from astroshield.mlops.loaders import LOADERS
from astroshield.observability.domain_metrics import ML_MODEL_LOADS_REFUSED
from astroshield.pubsub import RedisChannel

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ServedModel:
    name: str
    version: str
    sha256: str
    model: Any


class ModelServer:
    """The app's served models (an app-state component)."""

    def __init__(
        self, check_s: Callable[[], float], *, redis_url: str | None, channel: str
    ) -> None:
        self._check_s = check_s
        self._served: dict[str, ServedModel] = {}
        self._checked_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._channel = (
            RedisChannel(
                redis_url,
                channel,
                name="ml_model_swaps",
                on_message=self._received,
                on_subscribed=self.recheck_all,
            )
            if redis_url
            else None
        )

    @classmethod
    def for_settings(cls, settings: Settings, check_s: Callable[[], float]) -> ModelServer:
        """The server of an app (or a command) on ``settings``: the Redis channel every
        replica of one deployment shares."""
        return cls(
            check_s,
            redis_url=settings.redis_url,
            channel=f"{settings.rate_limit_namespace}-ml-models",
        )

    async def start(self) -> None:
        if self._channel is not None:
            await self._channel.start()

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.stop()

    def recheck(self, name: str) -> None:
        """Re-read the registry for ``name`` on its next use."""
        self._checked_at.pop(name, None)

    def recheck_all(self) -> None:
        self._checked_at.clear()

    async def announce(self, name: str) -> None:
        """After an activation is committed: re-read here, and tell the other replicas."""
        self.recheck(name)
        if self._channel is None or not self._channel.started:
            return
        try:
            await self._channel.publish(name)
        except Exception as exc:  # the others converge within ml_registry_check_s
            log.warning("ml_model_swap_not_published", model=name, error=type(exc).__name__)

    def _received(self, raw: str | bytes) -> None:
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if name in self._served or name in self._checked_at:
            self.recheck(name)
        else:  # not one it serves, or not understood: re-reading everything is safe
            self.recheck_all()

    def _fresh(self, name: str) -> ServedModel | None:
        served = self._served.get(name)
        checked = self._checked_at.get(name, -math.inf)
        if served is not None and time.monotonic() - checked < self._check_s():
            return served
        return None

    async def model(self, session: AsyncSession, name: str) -> ServedModel:
        """The active version of ``name`` as this replica serves it."""
        served = self._fresh(name)
        if served is not None:
            return served
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:  # one registry read and one load per name at a time
            served = self._fresh(name)
            if served is None:
                served = await self._refresh(session, name)
        return served

    async def _refresh(self, session: AsyncSession, name: str) -> ServedModel:
        checked_at = time.monotonic()
        row = await service.active_model(session, name)
        if row is None:
            raise NotFoundError(f"no version of the model '{name}' is active")
        served = self._served.get(name)
        if served is None or (served.version, served.sha256) != (row.version, row.sha256):
            served = await self._load(name, row.version, row.sha256, row.file_path)
            if name in self._served:
                log.info("ml_model_swapped", model=name, version=row.version)
            self._served[name] = served
        self._checked_at[name] = checked_at
        return served

    async def _load(self, name: str, version: str, sha256: str, file_path: str) -> ServedModel:
        loader = LOADERS.get(name)
        if loader is None:
            raise ConflictError(f"the model '{name}' has no loader in this service version")
        try:
            model = await asyncio.to_thread(loader, service.resolve(file_path), sha256)
        except ModelFileError as error:
            ML_MODEL_LOADS_REFUSED.labels(name, version).inc()
            log.error("ml_model_refused", model=name, version=version, error=str(error))
            raise ServiceUnavailableError(
                f"{name} {version} is not served: its file is missing or its sha256 is not "
                "the registered one"
            ) from None
        log.info("ml_model_loaded", model=name, version=version)
        return ServedModel(name, version, sha256, model)
