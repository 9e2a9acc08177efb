"""Counters of the work the domains do: samples, CDMs, screenings, Pc, manoeuvres, alerts.

Defined here, once per process, so that every domain uses the same names and labels.
A domain counts with :func:`count_after_commit`: the increment is made once the unit of
work holding the session has committed, so a batch that was rolled back (a refused
request, a failed commit) is never counted. Labels take a handful of values each (a tier,
a method, an encoding): never an organisation, a spacecraft or an object id.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import after_commit_of

# --- Telemetry -------------------------------------------------------------------------
TELEMETRY_SAMPLES_INGESTED = Counter(
    "astroshield_telemetry_samples_ingested_total",
    "Telemetry samples stored (a replayed batch is not counted again).",
)
TELEMETRY_BATCHES_INGESTED = Counter(
    "astroshield_telemetry_batches_ingested_total",
    "Telemetry batches stored, by encoding (json samples or CCSDS packets).",
    ("encoding",),
)
TELEMETRY_PACKETS_DECODED = Counter(
    "astroshield_telemetry_packets_decoded_total",
    "CCSDS space packets decoded with the spacecraft's XTCE definition and stored.",
)
TELEMETRY_LIVE_RELAYED = Counter(
    "astroshield_telemetry_live_relayed_total",
    "Live telemetry messages through the replicas' shared Redis channel: published to the "
    "other replicas, received from them, or dropped (Redis unreachable, publish queue full).",
    ("outcome",),
)

# --- Conjunctions ----------------------------------------------------------------------
CDMS_INGESTED = Counter(
    "astroshield_cdms_ingested_total",
    "Conjunction data messages stored, by the risk tier of their event once stored.",
    ("tier",),
)
PC_COMPUTATIONS = Counter(
    "astroshield_pc_computations_total",
    "Collision probabilities computed, by method.",
    ("method",),
)
SCREENING_RUNS = Counter(
    "astroshield_screening_runs_total",
    "Conjunction screening runs finished, by outcome (succeeded, failed).",
    ("outcome",),
)
CONJUNCTION_EVENTS = Counter(
    "astroshield_conjunction_events_total",
    "Close approaches found by screening runs, by risk tier.",
    ("tier",),
)

# --- CCDM, catalog, alerts -------------------------------------------------------------
MANEUVERS_DETECTED = Counter(
    "astroshield_maneuvers_detected_total",
    "Manoeuvres detected in element-set histories.",
)
CATALOG_ELEMENT_SETS_IMPORTED = Counter(
    "astroshield_catalog_element_sets_imported_total",
    "Element sets newly stored in the catalog, public or an organisation's overlay.",
    ("catalog",),
)
ALERT_CHANGES = Counter(
    "astroshield_alert_changes_total",
    "Alert state changes, by change (pending, fired, escalated, acknowledged, resolved...).",
    ("change",),
)

# --- Machine learning (mlops) ----------------------------------------------------------
ML_PREDICTIONS = Counter(
    "astroshield_ml_predictions_total",
    "Answers of the ML endpoints, by model name and version (counted once committed).",
    ("model", "version"),
)
ML_PREDICTION_SECONDS = Histogram(
    "astroshield_ml_prediction_seconds",
    "Inference time of one ML request (features and model), by model name and version.",
    ("model", "version"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ML_MODEL_LOADS_REFUSED = Counter(
    "astroshield_ml_model_loads_refused_total",
    "Model files refused at load or activation (missing, or sha256 not the registry's).",
    ("model", "version"),
)

# The methods of a CDM's Pc report (``astro.conjunction.report.pc_report``).
PC_REPORT_METHODS = ("foster_2d", "chan_2d", "alfano_max", "coppola_3d", "monte_carlo")
SCREENING_OUTCOMES = ("succeeded", "failed")
# Known label values show as 0 before the first increment, so a rate() has a start.
for _method in PC_REPORT_METHODS:
    PC_COMPUTATIONS.labels(_method)
for _outcome in SCREENING_OUTCOMES:
    SCREENING_RUNS.labels(_outcome)
LIVE_RELAY_OUTCOMES = ("published", "received", "dropped")
for _outcome in LIVE_RELAY_OUTCOMES:
    TELEMETRY_LIVE_RELAYED.labels(_outcome)


def count_after_commit(session: AsyncSession, counter: Counter, amount: float = 1.0) -> None:
    """Add ``amount`` to ``counter`` once the unit of work owning ``session`` has
    committed; nothing if it rolls back. Zero amounts cost nothing."""
    if amount <= 0:
        return

    async def add() -> None:
        counter.inc(amount)

    after_commit_of(session, add)


def count_pc_report_after_commit(session: AsyncSession) -> None:
    """One Pc computation per method of a CDM's report."""
    for method in PC_REPORT_METHODS:
        count_after_commit(session, PC_COMPUTATIONS.labels(method))


__all__ = [
    "ALERT_CHANGES",
    "CATALOG_ELEMENT_SETS_IMPORTED",
    "CDMS_INGESTED",
    "CONJUNCTION_EVENTS",
    "LIVE_RELAY_OUTCOMES",
    "MANEUVERS_DETECTED",
    "ML_MODEL_LOADS_REFUSED",
    "ML_PREDICTIONS",
    "ML_PREDICTION_SECONDS",
    "PC_COMPUTATIONS",
    "PC_REPORT_METHODS",
    "SCREENING_RUNS",
    "TELEMETRY_BATCHES_INGESTED",
    "TELEMETRY_LIVE_RELAYED",
    "TELEMETRY_PACKETS_DECODED",
    "TELEMETRY_SAMPLES_INGESTED",
    "count_after_commit",
    "count_pc_report_after_commit",
]
