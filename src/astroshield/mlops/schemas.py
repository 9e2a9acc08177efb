from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import ConfigDict, Field, model_validator

from astroshield.api.schemas import RequestModel, ResponseModel

NamePath = Annotated[
    str,
    Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="the model's name, e.g. adversary_encoder"),
]
VersionPath = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$", description="the version, e.g. 0.1.0")
]
# An element-set history: a few years of daily sets of one object.
MAX_HISTORY_TEXT = 2_000_000
MAX_HISTORY_RECORDS = 10_000


class ModelRead(ResponseModel):
    name: str
    version: str
    # Relative to the package's models directory for shipped models, else absolute.
    file_path: str
    sha256: str
    dataset_sha256: str | None
    metrics: dict[str, Any]
    training_config: dict[str, Any]
    active: bool
    registered_at: datetime
    registered_by: str


class ModelRegistration(RequestModel):
    """An ONNX file on the server with its metadata JSON beside it (same stem); name,
    version, data-set hash, metrics and training configuration are read from the JSON."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "file_path": "/srv/models/adversary_encoder-0.2.0.onnx",
                    "sha256": "ebb754e55126e91c605e1d1ecd4dbfcccb299b1946062ce39728a16a1d053ca4",
                }
            ]
        }
    )

    file_path: str = Field(min_length=1, max_length=1024)
    # What you expect the file's sha256 to be: a different file is refused (422).
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ElementSetHistory(RequestModel):
    """The element-set history of one object: ``tle`` (two- or three-line sets, or KVN
    OMM text) or ``omm`` (CelesTrak GP / OMM JSON records), exactly one of them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tle": "1 25544U 98067A   24001.50000000  .00016717  00000-0  30571-3 0  9993\n"
                    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.50377579432122\n"
                }
            ]
        }
    )

    tle: str | None = Field(default=None, min_length=1, max_length=MAX_HISTORY_TEXT)
    omm: list[dict[str, Any]] | None = Field(
        default=None, min_length=1, max_length=MAX_HISTORY_RECORDS
    )

    @model_validator(mode="after")
    def exactly_one(self) -> ElementSetHistory:
        if (self.tle is None) == (self.omm is None):
            raise ValueError("give exactly one of 'tle' (text) and 'omm' (JSON records)")
        return self


class ScoredSetRead(ResponseModel):
    epoch: datetime
    score: float
    # The score is above the model's calibrated threshold.
    anomalous: bool


class AnomalyScores(ResponseModel):
    model: str
    version: str
    threshold: float
    items: list[ScoredSetRead]


class PredictionRead(ResponseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    model_name: str
    model_version: str
    endpoint: str
    input_sha256: str
    output_summary: dict[str, Any]
    created_at: datetime
