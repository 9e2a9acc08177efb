"""Which runtime setting belongs to whom.

A platform-wide setting acts on every organisation at once (the service's log levels, its
own health alerts, its connection pool): only platform administrators change it, and the
change is audited in the platform stream. A per-organisation setting is stored for one
organisation and applied to that organisation's requests only: its own administrators
change it. Organisation administrators read their organisation's effective configuration
and the platform-wide values marked visible (the others describe the platform's insides,
e.g. where its alerts would fire).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from astroshield.config import Settings
from astroshield.security.scopes import Scope

SettingScope = Literal["platform", "organisation"]

PLATFORM_CONFIG_SCOPE = Scope.PLATFORM_CONFIG
ORGANISATION_CONFIG_SCOPE = Scope.CONFIG_ADMIN


@dataclass(frozen=True, slots=True)
class SettingSpec:
    scope: SettingScope
    # Platform settings only: organisation administrators may read the value.
    visible_to_organisations: bool = False


SETTINGS: Mapping[str, SettingSpec] = {
    "log_level": SettingSpec("platform"),
    "logger_levels": SettingSpec("platform"),
    "alert_error_rate_per_minute": SettingSpec("platform"),
    "alert_p95_latency_ms": SettingSpec("platform"),
    "alert_memory_percent": SettingSpec("platform"),
    "alert_cpu_percent": SettingSpec("platform"),
    "metrics_enabled": SettingSpec("platform"),
    "db_pool_size": SettingSpec("platform"),
    "db_max_overflow": SettingSpec("platform"),
    "retention_batch_size": SettingSpec("platform", visible_to_organisations=True),
    "page_size_default": SettingSpec("organisation"),
}
PLATFORM_SETTINGS = frozenset(k for k, v in SETTINGS.items() if v.scope == "platform")
ORGANISATION_SETTINGS = frozenset(k for k, v in SETTINGS.items() if v.scope == "organisation")
VISIBLE_PLATFORM_SETTINGS = frozenset(
    k for k in PLATFORM_SETTINGS if SETTINGS[k].visible_to_organisations
)


def organisation_value(settings: Settings, overrides: Mapping[str, Any], key: str) -> Any:
    """A per-organisation setting's effective value under the platform's ``settings``."""
    value = overrides.get(key, getattr(settings, key))
    if key == "page_size_default":
        # The maximum may have been lowered (environment) since the override was stored.
        value = min(int(value), settings.page_size_max)
    return value


class OrganisationConfig:
    """This replica's copy of every organisation's overrides: read on each request that
    needs one (no query), refreshed with the platform configuration."""

    def __init__(self) -> None:
        self._overrides: dict[uuid.UUID, dict[str, Any]] = {}

    def replace_all(self, overrides: Mapping[uuid.UUID, Mapping[str, Any]]) -> None:
        self._overrides = {org: dict(values) for org, values in overrides.items() if values}

    def set(self, organisation_id: uuid.UUID, overrides: Mapping[str, Any]) -> None:
        if overrides:
            self._overrides[organisation_id] = dict(overrides)
        else:
            self._overrides.pop(organisation_id, None)

    def of(self, organisation_id: uuid.UUID) -> Mapping[str, Any]:
        return self._overrides.get(organisation_id, {})

    def value(self, organisation_id: uuid.UUID, key: str, settings: Settings) -> Any:
        return organisation_value(settings, self.of(organisation_id), key)
