"""Feature flags: evaluation through the OpenFeature client, and the audited changes.

Each app owns one provider, registered under a domain of its own, so that several apps
in one process (tests, a CLI beside a server) never read each other's flags. Values set
here reach this replica's provider after the commit; other replicas pick them up on
their next refresh (``ASTROSHIELD_RUNTIME_CONFIG_REFRESH_S``), as runtime configuration.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

import structlog
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.config import Settings
from astroshield.errors import FieldError, InvalidInputError
from astroshield.features.catalogue import FLAGS, Flag, Source
from astroshield.features.provider import FlagStore, SettingsAndDatabaseProvider
from astroshield.features.repository import OrganisationFlagRepository, PlatformFlagRepository
from astroshield.security.principal import Principal

log = structlog.get_logger(__name__)
_SOURCES: frozenset[str] = frozenset(get_args(Source))


@dataclass(frozen=True, slots=True)
class Evaluation:
    flag: Flag
    enabled: bool
    source: Source


class FeatureFlags:
    """The app's flag client (an app-state component)."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self.store = FlagStore()
        self.provider = SettingsAndDatabaseProvider(settings, self.store)
        self.domain = f"astroshield-{uuid.uuid4()}"
        api.set_provider_and_wait(self.provider, self.domain)
        self.client = api.get_client(self.domain)

    def evaluate(self, flag: Flag, organisation_id: uuid.UUID | None) -> Evaluation:
        """``flag`` for ``organisation_id`` (the targeting key); ``None``: the platform's
        value. A failed evaluation answers off: an optional module stays closed."""
        context = EvaluationContext(
            targeting_key=None if organisation_id is None else str(organisation_id)
        )
        details = self.client.get_boolean_details(flag, False, context)
        if details.error_code is not None or details.variant not in _SOURCES:
            log.error("feature_flag_evaluation_failed", flag=flag, error=details.error_message)
            return Evaluation(flag, False, "default")
        source: Source = details.variant  # type: ignore[assignment]  # checked just above
        return Evaluation(flag, details.value, source)

    def evaluate_all(self, organisation_id: uuid.UUID | None) -> list[Evaluation]:
        return [self.evaluate(flag, organisation_id) for flag in Flag]


def view(flags: FeatureFlags, principal: Principal) -> list[Evaluation]:
    """Every flag as the caller's organisation sees it."""
    return flags.evaluate_all(principal.organisation_id)


async def stored_values(
    session: AsyncSession,
) -> tuple[dict[str, bool], dict[uuid.UUID, dict[str, bool]]]:
    """The stored platform values and every organisation's overrides (the refresh)."""
    repository = PlatformFlagRepository(session)
    return await repository.all(), await repository.every_organisation()


async def set_platform_flag(
    session: AsyncSession, flag: Flag, enabled: bool | None, *, actor: Actor
) -> dict[str, bool]:
    """Set (``None``: remove) the platform value of ``flag``, audited in the platform
    stream; returns every platform value. The caller has checked the platform scope."""
    repository = PlatformFlagRepository(session)
    old = (await repository.all()).get(flag)
    await repository.put(flag, enabled, by=actor.user_id)
    await record(
        session,
        dataclasses.replace(actor, organisation_id=None).event(
            "feature_flag.updated",
            object_type="feature_flag",
            object_id=flag,
            scope="platform",
            old=old,
            new=enabled,
            actor_organisation_id=str(actor.organisation_id),
        ),
    )
    return await repository.all()


def check_organisational(flag: Flag) -> None:
    if not FLAGS[flag].organisational:
        raise InvalidInputError(
            f"'{flag}' is decided by the platform only: organisations cannot override it",
            errors=[FieldError(["path", "key"], "not an organisational flag")],
        )


async def set_organisation_flag(
    session: AsyncSession, principal: Principal, flag: Flag, enabled: bool | None, *, actor: Actor
) -> dict[str, bool]:
    """Set (``None``: remove) the caller's organisation's override of ``flag``, audited in
    its stream; returns that organisation's overrides."""
    check_organisational(flag)
    repository = OrganisationFlagRepository(session, principal.organisation_id)
    old = (await repository.all()).get(flag)
    await repository.put(flag, enabled, by=actor.user_id)
    await record(
        session,
        actor.event(
            "feature_flag.updated",
            object_type="feature_flag",
            object_id=flag,
            organisation_id=principal.organisation_id,
            scope="organisation",
            old=old,
            new=enabled,
        ),
    )
    return await repository.all()
