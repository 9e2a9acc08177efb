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
# Twelve consecutive Sentinel-3A element sets (Space-Track, 2021-07): the model scores the
# sets after its first window.
EXAMPLE_HISTORY = (
    "1 41335U 16011A   21197.34891511 -.00000014  00000-0  12309-4 0  9992\n"
    "2 41335  98.6236 264.4766 0001521  98.8860 261.2492 14.26738373281848\n"
    "1 41335U 16011A   21198.12034291 -.00000012  00000-0  13157-4 0  9993\n"
    "2 41335  98.6235 265.2369 0001524  98.5211 261.6142 14.26738430281957\n"
    "1 41335U 16011A   21199.10216006 -.00000025  00000-0  77090-5 0  9999\n"
    "2 41335  98.6235 266.2044 0001521  98.1429 261.9924 14.26738450282091\n"
    "1 41335U 16011A   21200.08397712 -.00000021  00000-0  92565-5 0  9993\n"
    "2 41335  98.6234 267.1720 0001515  97.7629 262.3724 14.26738541282231\n"
    "1 41335U 16011A   21201.41644319 -.00000007  00000-0  15252-4 0  9990\n"
    "2 41335  98.6234 268.4851 0001532  96.7694 263.3660 14.26738668282421\n"
    "1 41335U 16011A   21202.11774112 -.00000015  00000-0  11728-4 0  9996\n"
    "2 41335  98.6233 269.1762 0001535  96.3177 263.8178 14.26738669282525\n"
    "1 41335U 16011A   21203.09955809 -.00000006  00000-0  15356-4 0  9999\n"
    "2 41335  98.6233 270.1438 0001529  95.8703 264.2652 14.26738763282661\n"
    "1 41335U 16011A   21204.50215366  .00000013  00000-0  23573-4 0  9990\n"
    "2 41335  98.6233 271.5260 0001525  95.1011 265.0343 14.26738954282860\n"
    "1 41335U 16011A   21205.41384075  .00000014  00000-0  23632-4 0  9992\n"
    "2 41335  98.6233 272.4244 0001525  94.4502 265.6853 14.26739020282990\n"
    "1 41335U 16011A   21206.46578728  .00000018  00000-0  25295-4 0  9999\n"
    "2 41335  98.6232 273.4610 0001525  93.8579 266.2776 14.26739122283146\n"
    "1 41335U 16011A   21207.09695513  .00000009  00000-0  21916-4 0  9997\n"
    "2 41335  98.6232 274.0830 0001518  93.5777 266.5577 14.26739171283232\n"
    "1 41335U 16011A   21208.07877171  .00000008  00000-0  21390-4 0  9993\n"
    "2 41335  98.6231 275.0505 0001510  93.0501 267.0852 14.26739285283376\n"
)
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

    model_config = ConfigDict(json_schema_extra={"examples": [{"tle": EXAMPLE_HISTORY}]})

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


class ThreatQuery(RequestModel):
    """An object to classify relative to one of your spacecraft (the protected one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"spacecraft_id": "01936f4e-8f6b-7c3a-9d2e-5a1b2c3d4e5f", "catalog_number": "43013"}
            ]
        }
    )

    spacecraft_id: uuid.UUID
    catalog_number: str = Field(
        min_length=1, max_length=9, description="NORAD catalog number: 1-9 digits or Alpha-5"
    )
    days: int | None = Field(
        default=None,
        description="assessment window in days before the newer of the two newest element "
        "sets (default and limit: the CCDM settings, as for the intent assessment)",
    )


class ThreatPrediction(ResponseModel):
    model: str
    version: str
    spacecraft_id: uuid.UUID
    protected_catalog_number: str
    catalog_number: str
    window_start: datetime
    window_stop: datetime
    # The most probable class and every class's calibrated probability (they sum to 1).
    predicted_class: str
    probabilities: dict[str, float]
    # The rule-based intent assessment on the same inputs, and its class.
    rule_category: str
    rule_class: str


class StrategyQuery(RequestModel):
    """An event of yours and what the manoeuvre may be. Burn times are counted before the
    TCA of the event's latest CDM."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conjunction_id": "01936f4e-8f6b-7c3a-9d2e-5a1b2c3d4e5f",
                    "earliest_burn_before_tca_s": 43200,
                    "latest_burn_before_tca_s": 1800,
                    "max_delta_v_m_s": 1.0,
                }
            ]
        }
    )

    conjunction_id: uuid.UUID
    earliest_burn_before_tca_s: float | None = Field(
        default=None, gt=0, le=7 * 86_400, description="default: now"
    )
    latest_burn_before_tca_s: float = Field(default=600.0, gt=0, le=7 * 86_400)
    max_delta_v_m_s: float = Field(default=1.0, gt=0, le=100)
    red_pc: float = Field(default=1e-4, gt=0, lt=1, description="Pc to get under")


class ProposalRead(ResponseModel):
    burn_time: datetime
    burn_before_tca_s: float
    # Δv in the primary's radial, transverse, normal frame at the burn.
    dv_rtn_m_s: list[float]
    delta_v_m_s: float
    # Recomputed by the physics (two-body around TCA, 2-D Pc), not the network's estimate.
    pc_after: float
    miss_after_km: float
    # Which candidate family the burn came from (see docs/ml.md).
    source: str


class BurnRead(ResponseModel):
    time: datetime
    dv_rtn_m_s: list[float]


class RolloutRead(ResponseModel):
    actor_critic: str
    burns: list[BurnRead]
    total_delta_v_m_s: float
    # Pc at TCA and the final slot error recomputed by the physics.
    pc_at_tca: float
    miss_at_tca_km: float
    slot_error_km: float
    # Pc under the threshold at TCA and back in slot after the return.
    success: bool


class StrategyRead(ResponseModel):
    conjunction_id: uuid.UUID
    cdm_id: uuid.UUID
    tca: datetime
    pc_before: float
    red_pc: float
    strategy_generator: str
    # Feasible proposals, cheapest first (at most five); ``feasible`` counts them all and
    # ``dropped`` the candidates the physics found infeasible.
    proposals: list[ProposalRead]
    feasible: int
    dropped: int
    # The ActorCritic's avoidance and return plan; null when TCA is less than an orbit away.
    rollout: RolloutRead | None
