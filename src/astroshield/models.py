"""Every ORM model, imported in one place so Alembic sees the whole metadata."""

from astroshield.alerts.models import Alert, AlertEvent, AlertRule, DeadLetter
from astroshield.audit.models import AuditEntry
from astroshield.auth.models import BusCredential, RefreshToken, RevokedAccessToken
from astroshield.catalog.models import CatalogObject, ElementSetRecord
from astroshield.ccdm.models import IntentAssessmentRecord, ManeuverDetectionRecord
from astroshield.conjunction.models import (
    ConjunctionCdm,
    ConjunctionEvent,
    ConjunctionScreening,
)
from astroshield.db import Base
from astroshield.events.models import OutboxEvent
from astroshield.features.models import OrganisationFeatureFlag, PlatformFeatureFlag
from astroshield.feeds.models import FeedCdm, FeedQuery, FeedRun
from astroshield.invitations.models import Invitation
from astroshield.jobs.models import Job
from astroshield.mlops.models import MLModel, MLPrediction
from astroshield.organisations.models import Organisation
from astroshield.runtime_config.models import OrganisationSetting, RuntimeSetting
from astroshield.spacecraft.models import Spacecraft, SpacecraftStatusReport
from astroshield.telemetry.limits_models import TelemetryLimitSet, TelemetryLimitState
from astroshield.telemetry.models import (
    TelemetryAggregate,
    TelemetryBatch,
    TelemetryDefinition,
    TelemetryHourAggregate,
    TelemetryHourSummary,
    TelemetryParameter,
    TelemetrySample,
)
from astroshield.users.models import User
from astroshield.webhooks.models import WebhookDelivery, WebhookSubscription

metadata = Base.metadata

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "AuditEntry",
    "BusCredential",
    "CatalogObject",
    "ConjunctionCdm",
    "ConjunctionEvent",
    "ConjunctionScreening",
    "DeadLetter",
    "ElementSetRecord",
    "FeedCdm",
    "FeedQuery",
    "FeedRun",
    "IntentAssessmentRecord",
    "Invitation",
    "Job",
    "MLModel",
    "MLPrediction",
    "ManeuverDetectionRecord",
    "Organisation",
    "OrganisationFeatureFlag",
    "OrganisationSetting",
    "OutboxEvent",
    "PlatformFeatureFlag",
    "RefreshToken",
    "RevokedAccessToken",
    "RuntimeSetting",
    "Spacecraft",
    "SpacecraftStatusReport",
    "TelemetryAggregate",
    "TelemetryBatch",
    "TelemetryDefinition",
    "TelemetryHourAggregate",
    "TelemetryHourSummary",
    "TelemetryLimitSet",
    "TelemetryLimitState",
    "TelemetryParameter",
    "TelemetrySample",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
