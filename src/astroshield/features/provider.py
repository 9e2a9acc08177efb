"""The in-process OpenFeature provider: flag values from the settings (defaults) and from
the runtime values stored in the database, held in memory so an evaluation costs no query.

The reason and variant of each resolution say where the value came from: variant
``default`` / ``platform`` / ``organisation`` (reasons ``DEFAULT``, ``STATIC``,
``TARGETING_MATCH``). The evaluation context's targeting key is the caller's organisation id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from astroshield.config import Settings
from astroshield.features.catalogue import FLAGS, Flag, Source

PROVIDER_NAME = "astroshield-settings-and-database"
_REASONS: Mapping[Source, Reason] = {
    "default": Reason.DEFAULT,
    "platform": Reason.STATIC,
    "organisation": Reason.TARGETING_MATCH,
}


class FlagStore:
    """This replica's copy of the stored flag values: written through by the replica that
    takes a change, replaced whole by the refresh that picks up the others' changes."""

    def __init__(self) -> None:
        self.platform: dict[str, bool] = {}
        self.organisations: dict[uuid.UUID, dict[str, bool]] = {}

    def replace_all(
        self, platform: Mapping[str, bool], organisations: Mapping[uuid.UUID, Mapping[str, bool]]
    ) -> None:
        self.platform = dict(platform)
        self.organisations = {org: dict(values) for org, values in organisations.items() if values}

    def set_organisation(self, organisation_id: uuid.UUID, values: Mapping[str, bool]) -> None:
        if values:
            self.organisations[organisation_id] = dict(values)
        else:
            self.organisations.pop(organisation_id, None)


def organisation_of(context: EvaluationContext | None) -> uuid.UUID | None:
    if context is None or context.targeting_key is None:
        return None
    try:
        return uuid.UUID(context.targeting_key)
    except ValueError:
        return None


def effective(
    flag: Flag,
    settings: Settings,
    platform: Mapping[str, bool],
    organisation_overrides: Mapping[str, bool],
) -> tuple[bool, Source]:
    """The precedence (``catalogue``): the organisation's override of an organisational
    flag, else the platform value, else the default from the settings."""
    spec = FLAGS[flag]
    override = organisation_overrides.get(flag) if spec.organisational else None
    if override is not None:
        return override, "organisation"
    value = platform.get(flag)
    if value is not None:
        return value, "platform"
    return spec.default(settings), "default"


class SettingsAndDatabaseProvider(AbstractProvider):
    """Resolves the flags of :data:`catalogue.FLAGS`; every other key is FLAG_NOT_FOUND."""

    def __init__(self, settings: Callable[[], Settings], store: FlagStore) -> None:
        super().__init__()
        self._settings = settings
        self.store = store

    def get_metadata(self) -> Metadata:
        return Metadata(name=PROVIDER_NAME)

    def resolve(self, flag: Flag, organisation_id: uuid.UUID | None) -> tuple[bool, Source]:
        """The effective value of ``flag`` for ``organisation_id`` and where it comes from."""
        overrides = {} if organisation_id is None else self.store.organisations.get(organisation_id)
        return effective(flag, self._settings(), self.store.platform, overrides or {})

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        try:
            flag = Flag(flag_key)
        except ValueError:
            return FlagResolutionDetails(
                default_value,
                error_code=ErrorCode.FLAG_NOT_FOUND,
                error_message=f"unknown flag {flag_key!r}",
                reason=Reason.ERROR,
            )
        value, source = self.resolve(flag, organisation_of(evaluation_context))
        return FlagResolutionDetails(value, reason=_REASONS[source], variant=source)

    # Every flag is boolean: a request for another type is the caller's mistake.
    def _mismatch(self, flag_key: str, default_value: Any) -> FlagResolutionDetails[Any]:
        return FlagResolutionDetails(
            default_value,
            error_code=ErrorCode.TYPE_MISMATCH,
            error_message=f"{flag_key!r} is a boolean flag",
            reason=Reason.ERROR,
        )

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._mismatch(flag_key, default_value)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._mismatch(flag_key, default_value)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._mismatch(flag_key, default_value)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._mismatch(flag_key, default_value)
