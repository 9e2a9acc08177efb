"""Batches stored exactly once: a batch key makes a retry land on the first attempt's
row, and a batch is all-or-nothing unless the caller asks for ``partial``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.notifiers import Notification
from astroshield.api.schemas import INT63_MAX
from astroshield.config import Settings
from astroshield.errors import (
    ConflictError,
    FieldError,
    InvalidInputError,
    ServiceUnavailableError,
)
from astroshield.observability.domain_metrics import (
    TELEMETRY_BATCHES_INGESTED,
    TELEMETRY_PACKETS_DECODED,
    TELEMETRY_SAMPLES_INGESTED,
    count_after_commit,
)
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.definitions import decode_packets, decoded_as_samples, packet_definition
from astroshield.telemetry.limits_service import apply_limits
from astroshield.telemetry.models import TelemetryBatch
from astroshield.telemetry.repository.archive import BatchKey, TelemetryRepository
from astroshield.telemetry.samples import SampleColumns
from astroshield.telemetry.schemas import IngestResult
from astroshield.telemetry.validation import (
    ParameterInfo,
    listed,
    refuse_bad_batch,
    validate_samples,
)
from astroshield.tm.xtce import count_packets


class IngestGate:
    """Bounds the batches one process stores at once; a full gate answers 503 at once
    rather than queueing work (and memory) it cannot finish soon."""

    def __init__(self, capacity: int) -> None:
        self._free = capacity

    def enter(self) -> None:
        if self._free <= 0:
            raise ServiceUnavailableError(
                "telemetry ingest is saturated; retry the batch shortly",
                headers={"Retry-After": "1"},
            )
        self._free -= 1

    def leave(self) -> None:
        self._free += 1


@dataclass
class IngestOutcome:
    result: IngestResult
    created: bool
    notifications: list[Notification] = field(default_factory=list)
    alarm_messages: list[dict[str, object]] = field(default_factory=list)
    # What the live feed needs to build its sample messages, only if anyone listens: the
    # stored samples in time order, and the limit states of those at limited_positions.
    samples: SampleColumns | None = None
    names: Mapping[int, str] = field(default_factory=dict)
    limited_positions: npt.NDArray[np.intp] | None = None
    limited_states: Sequence[str | None] = ()

    def sample_messages(self) -> list[dict[str, object]]:
        """One live message per parameter: its samples of this batch with limit states."""
        if self.samples is None:
            return []
        records = self.samples.records()
        states: list[str | None] = [None] * len(records)
        if self.limited_positions is not None:
            positions = self.limited_positions.tolist()
            for position, state in zip(positions, self.limited_states, strict=True):
                states[position] = state
        grouped: dict[int, list[dict[str, object]]] = {}
        for (parameter_id, time, value), state in zip(records, states, strict=True):
            grouped.setdefault(parameter_id, []).append(
                {"time": time.isoformat(), "value": value, "limit": state}
            )
        return [
            {"type": "samples", "parameter": self.names[parameter_id], "samples": samples}
            for parameter_id, samples in grouped.items()
        ]


_BATCH_FIELDS = frozenset({"source_id", "sequence", "samples"})


def check_batch_body(body: Any) -> dict[str, Any]:
    """A decoded JSON batch as the HTTP route and the bus both accept it: an object with
    samples and no field beyond source_id and sequence."""
    if not isinstance(body, dict):
        raise InvalidInputError(
            "the body must be a JSON object",
            errors=[FieldError(["body"], "must be an object with samples")],
        )
    unknown = sorted(set(body) - _BATCH_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"unknown field(s): {', '.join(unknown[:10])}",
            errors=[FieldError(["body", name], "unknown field") for name in unknown[:10]],
        )
    if "samples" not in body:
        raise InvalidInputError(
            "samples is required", errors=[FieldError(["body", "samples"], "field required")]
        )
    return body


def batch_key(
    *,
    source_id: Any,
    sequence: Any,
    idempotency_key: str | None,
    locations: tuple[list[str], list[str]],
) -> BatchKey:
    """The key a retry of this batch will carry: the Idempotency-Key header, else the
    source and sequence (at ``locations`` in the request, for the error message). Source
    and sequence are checked whenever given: both are stored with the batch."""
    errors = []
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not 1 <= len(key) <= 255:
            errors.append(FieldError(["header", "Idempotency-Key"], "1-255 characters"))
    if (source_id is not None or idempotency_key is None) and (
        not isinstance(source_id, str) or not 1 <= len(source_id) <= 128
    ):
        errors.append(FieldError(locations[0], "required: a string of 1-128 characters"))
    if (sequence is not None or idempotency_key is None) and (
        type(sequence) is not int or not 0 <= sequence <= INT63_MAX
    ):
        errors.append(FieldError(locations[1], "required: a non-negative integer"))
    if errors:
        raise InvalidInputError(
            "a batch needs source_id and sequence, or an Idempotency-Key header, so that a "
            "retry is stored once",
            errors=errors,
        )
    if idempotency_key is not None:
        return BatchKey(source_id, sequence, idempotency_key.strip())
    return BatchKey(source_id, sequence, None)


def _replay(batch: TelemetryBatch, sha256: str) -> IngestOutcome:
    if batch.payload_sha256 != sha256:
        raise ConflictError(
            "this batch key was already used for a different batch; use a new sequence or "
            "Idempotency-Key"
        )
    result = IngestResult.model_validate({**batch.result, "batch_id": batch.id, "replayed": True})
    return IngestOutcome(result=result, created=False)


def _count_stored(
    session: AsyncSession, outcome: IngestOutcome, encoding: str, packets: int = 0
) -> None:
    """Counted once the batch is committed; a replayed batch was counted the first time."""
    annotate(created=outcome.created, samples=outcome.result.accepted)
    if not outcome.created:
        return
    count_after_commit(session, TELEMETRY_SAMPLES_INGESTED, outcome.result.accepted)
    count_after_commit(session, TELEMETRY_BATCHES_INGESTED.labels(encoding))
    count_after_commit(session, TELEMETRY_PACKETS_DECODED, packets)


@span("telemetry.ingest", encoding="json")
async def ingest_samples(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    key: BatchKey,
    payload: bytes,
    samples: Any,
    *,
    partial: bool,
    settings: Settings,
    now: datetime,
) -> IngestOutcome:
    """Store a batch of decoded JSON samples once (see :func:`ingest`)."""
    spacecraft = await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    outcome = await _store_batch(
        session, spacecraft, key, payload, samples, partial=partial, settings=settings, now=now
    )
    _count_stored(session, outcome, "json")
    return outcome


@span("telemetry.ingest", encoding="packets")
async def ingest_packets(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    key: BatchKey,
    payload: bytes,
    *,
    partial: bool,
    settings: Settings,
    now: datetime,
) -> IngestOutcome:
    """Store concatenated CCSDS packets once, decoded with the spacecraft's XTCE
    definition; parameters the archive cannot hold (strings) are skipped."""
    spacecraft = await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    definition = await packet_definition(session, spacecraft_id)
    samples = decoded_as_samples(decode_packets(definition, payload))
    outcome = await _store_batch(
        session, spacecraft, key, payload, samples, partial=partial, settings=settings, now=now
    )
    _count_stored(session, outcome, "packets", count_packets(payload))
    return outcome


async def _store_batch(
    session: AsyncSession,
    spacecraft: Spacecraft,
    key: BatchKey,
    payload: bytes,
    samples: Any,
    *,
    partial: bool,
    settings: Settings,
    now: datetime,
) -> IngestOutcome:
    """Store one batch exactly once: its row and its samples in one transaction."""
    repository = TelemetryRepository(session)
    sha256 = hashlib.sha256(payload).hexdigest()
    existing = await repository.find_batch(spacecraft.id, key)
    if existing is not None:
        return _replay(existing, sha256)
    if isinstance(samples, list) and len(samples) > settings.telemetry_max_batch:
        raise InvalidInputError(
            f"a batch holds at most {settings.telemetry_max_batch} samples, not {len(samples)}",
            errors=[
                FieldError(["body", "samples"], f"at most {settings.telemetry_max_batch} samples")
            ],
        )
    parameters = {
        parameter.name: ParameterInfo.of(parameter, limited=limited)
        for parameter, limited in await repository.parameters_with_limits(spacecraft.id)
    }
    checked = validate_samples(
        samples, parameters, now=now, max_future_s=settings.telemetry_max_future_s
    )
    if checked.errors and not partial:
        raise refuse_bad_batch(checked.errors, len(samples))
    good = checked.samples.in_time_order()  # as limits expect
    # The answer a retry gets is stored with the batch; it is written assuming no sample
    # was archived before and corrected in the rare case that some were.
    result = IngestResult(
        batch_id=0,
        accepted=len(good),
        duplicates=0,
        rejected=[dict(error) for error in listed(checked.errors)],
        first_time=good.time_at(0) if len(good) else None,
        last_time=good.time_at(-1) if len(good) else None,
    )
    stored_result = result.model_dump(mode="json", exclude={"batch_id", "replayed"})
    batch_id = await repository.claim_batch(
        spacecraft.id, key, payload_sha256=sha256, result=stored_result, received_at=now
    )
    if batch_id is None:  # a concurrent attempt of this batch committed first
        existing = await repository.find_batch(spacecraft.id, key)
        if existing is None:
            raise ConflictError("another batch holds this source and sequence")
        return _replay(existing, sha256)
    result.batch_id = batch_id
    stored = await repository.store_samples(good)
    if stored != len(good):
        result.accepted, result.duplicates = stored, len(good) - stored
        await repository.set_batch_result(
            batch_id, result.model_dump(mode="json", exclude={"batch_id", "replayed"})
        )
    outcome = IngestOutcome(result=result, created=True)
    if len(good):
        outcome.samples, outcome.names = good, checked.names
        await _apply_limits(session, spacecraft, parameters.values(), good, outcome, now)
        await repository.advance_last_contact(spacecraft.id, good.time_at(-1))
    return outcome


async def _apply_limits(
    session: AsyncSession,
    spacecraft: Spacecraft,
    parameters: Iterable[ParameterInfo],
    samples: SampleColumns,
    outcome: IngestOutcome,
    now: datetime,
) -> None:
    """Limit states and alarms of the samples of parameters with limits; the others
    cost nothing (no datetime per sample, no query)."""
    limited_ids = [info.id for info in parameters if info.limited]
    if not limited_ids:
        return
    positions = np.flatnonzero(np.isin(samples.parameter_ids, limited_ids))
    if not len(positions):
        return
    limits = await apply_limits(session, spacecraft, samples.records(positions), now)
    outcome.notifications = list(limits.notifications)
    outcome.alarm_messages = [{"type": "alarm", **change} for change in limits.alarm_changes]
    outcome.limited_positions, outcome.limited_states = positions, limits.states
