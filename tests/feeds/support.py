"""Settings pointing the feeds at the local providers, and a follow-up that records."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.config import Settings
from tests.feeds.providers import SpaceTrack


def feed_settings(settings: Settings, base: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "celestrak_url": base,
        "spacetrack_url": base,
        "feeds_retry_base_s": 0.5,
        "feeds_retry_attempts": 3,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def spacetrack_settings(settings: Settings, base: str, provider: SpaceTrack) -> Settings:
    return feed_settings(
        settings,
        base,
        spacetrack_identity=SecretStr(provider.identity),
        spacetrack_password=SecretStr(provider.password),
        spacetrack_batch_size=10,
    )


@dataclass
class Recorder:
    """A post-import follow-up that records what it was given."""

    calls: list[tuple[Settings, list[str]]] = field(default_factory=list)
    in_transaction: list[bool] = field(default_factory=list)

    async def __call__(
        self, session: AsyncSession, settings: Settings, catalog_numbers: Collection[str]
    ) -> None:
        self.in_transaction.append(session.in_transaction() or session.is_active)
        self.calls.append((settings, sorted(catalog_numbers, key=int)))
