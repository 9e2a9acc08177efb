"""Every feature flag, the settings field that holds its platform default, and whether an
organisation may override it.

Precedence, most specific first: an organisation's override (organisational flags only),
then the platform value a platform administrator set, then the default from the
environment (``ASTROSHIELD_FEATURE_*`` in ``config.py``). A flag that is not organisational
protects something every organisation shares (the screening workers): only the platform
decides it, so no organisation can turn it on against the platform's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from astroshield.config import Settings

Source = Literal["default", "platform", "organisation"]


class Flag(StrEnum):
    # The telemetry WebSocket (/spacecraft/{id}/telemetry/live) and the alert event
    # stream (/alerts/stream).
    LIVE_STREAMS = "live-streams"
    # Starting screening jobs (POST /conjunctions/screenings); results of earlier jobs
    # stay readable.
    SCREENING_JOBS = "screening-jobs"
    # CCDM intent assessment (GET /ccdm/spacecraft/{id}/intent/{catalog_number}).
    CCDM_INTENT = "ccdm-intent"
    # The ML endpoints (/ml/...): the router declares
    # ``dependencies=[require_feature(Flag.ML_ENDPOINTS)]`` (features.gate). Off by default.
    ML_ENDPOINTS = "ml-endpoints"


@dataclass(frozen=True, slots=True)
class FlagSpec:
    setting: str  # the Settings field holding the platform default
    organisational: bool
    description: str

    def default(self, settings: Settings) -> bool:
        return bool(getattr(settings, self.setting))


FLAGS: Mapping[Flag, FlagSpec] = {
    Flag.LIVE_STREAMS: FlagSpec(
        "feature_live_streams", True, "live telemetry WebSocket and alert event stream"
    ),
    Flag.SCREENING_JOBS: FlagSpec(
        "feature_screening_jobs", False, "starting conjunction screening jobs (shared workers)"
    ),
    Flag.CCDM_INTENT: FlagSpec("feature_ccdm_intent", True, "CCDM intent assessment"),
    Flag.ML_ENDPOINTS: FlagSpec("feature_ml_endpoints", True, "machine-learning endpoints"),
}
