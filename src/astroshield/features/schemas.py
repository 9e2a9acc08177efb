from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import ConfigDict, StrictBool

from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.features.catalogue import Flag, Source

FlagPath = Annotated[Flag, Path(description="the flag's key, as GET /features lists them")]


class FeatureRead(ResponseModel):
    key: Flag
    enabled: bool
    # Where the value comes from: the environment's default, the platform's value, or
    # the caller's organisation's override.
    source: Source
    # Whether an organisation administrator may override it for their organisation.
    organisational: bool
    description: str


class FeatureList(ResponseModel):
    items: list[FeatureRead]


class FlagValue(RequestModel):
    """``true`` or ``false``, nothing else (``"yes"`` or ``1`` are refused)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": False}]})

    enabled: StrictBool
