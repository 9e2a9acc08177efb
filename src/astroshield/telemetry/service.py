"""Telemetry logic: the parameter dictionary, batch validation and ingest, and queries.

Batches are validated without a model per sample: the common batch (numbers of float and
int parameters) is checked whole with numpy into the columns the archive stores, anything
else in one loop over the decoded JSON that names every wrong sample. A batch is
all-or-nothing unless the caller asks for ``partial``.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import math
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.notifiers import Notification
from astroshield.api.schemas import INT63_MAX
from astroshield.audit.service import Actor
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.errors import (
    ConflictError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
)
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.limits_service import (
    adopt_default_limits,
    apply_limits,
    limit_states_for,
)
from astroshield.telemetry.models import (
    ParameterType,
    TelemetryBatch,
    TelemetryDefinition,
    TelemetryParameter,
)
from astroshield.telemetry.repository import (
    BatchKey,
    SampleColumns,
    TelemetryRepository,
    microseconds_since_postgres_epoch,
)
from astroshield.telemetry.schemas import (
    RESERVED_PARAMETER_NAMES,
    Bucket,
    BucketSeries,
    IngestResult,
    LatestValue,
    ParameterRead,
    ParameterWrite,
    SampleRead,
)
from astroshield.tm import xtce

MAX_LISTED_ERRORS = 1000
_LARGEST_DOUBLE = sys.float_info.max
MAX_BUCKETS = 10_000
EXPORT_CHUNK_ROWS = 50_000


async def spacecraft_of(
    session: AsyncSession, organisation_id: uuid.UUID, spacecraft_id: uuid.UUID
) -> Spacecraft:
    """The caller's organisation's spacecraft; another organisation's is simply not found."""
    return await get_spacecraft(session, organisation_id, spacecraft_id)


# -- dictionary ---------------------------------------------------------------------------


def _labels_for_storage(labels: Mapping[int, str] | None) -> dict[str, str] | None:
    return None if labels is None else {str(code): label for code, label in labels.items()}


async def upsert_parameters(
    session: AsyncSession, spacecraft_id: uuid.UUID, items: Sequence[ParameterWrite]
) -> list[ParameterRead]:
    """Create or update the listed parameters by name. Parameters not listed are kept:
    dropping one would drop its archive, which a dictionary upload must never do."""
    names = [item.name for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInputError(
            "parameter names must be unique",
            errors=[FieldError(["body", names.index(n), "name"], "duplicate") for n in duplicates],
        )
    repository = TelemetryRepository(session)
    existing = {p.name: p for p in await repository.parameters(spacecraft_id)}
    created: list[TelemetryParameter] = []
    for item in items:
        values = item.model_dump()
        values["type"] = item.type.value
        values["enum_labels"] = _labels_for_storage(item.enum_labels)
        parameter = existing.get(item.name)
        if parameter is None:
            created.append(TelemetryParameter(spacecraft_id=spacecraft_id, **values))
        else:
            for key, value in values.items():
                setattr(parameter, key, value)
    await repository.add_parameters(created)
    return [ParameterRead.model_validate(p) for p in await repository.parameters(spacecraft_id)]


async def list_parameters(session: AsyncSession, spacecraft_id: uuid.UUID) -> list[ParameterRead]:
    parameters = await TelemetryRepository(session).parameters(spacecraft_id)
    return [ParameterRead.model_validate(p) for p in parameters]


def _spec_to_write(spec: xtce.ParameterSpec) -> ParameterWrite:
    try:
        return ParameterWrite(
            name=spec.name,
            type=ParameterType(spec.type),
            unit=spec.unit,
            description=spec.description,
            valid_min=spec.valid_min,
            valid_max=spec.valid_max,
            enum_labels=spec.enum_labels if spec.type == ParameterType.ENUM else None,
        )
    except ValueError as exc:
        raise InvalidInputError(
            f"XTCE parameter {spec.name!r} cannot be archived: {exc}",
            errors=[FieldError(["body", "Parameter", spec.name], str(exc).splitlines()[0])],
        ) from None


async def import_definition(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    document: bytes,
    now: datetime,
    *,
    actor: Actor,
) -> list[ParameterRead]:
    """Store the XTCE definition, add its parameters to the dictionary and give those
    with default alarm ranges and no limit set yet a limit set from them."""
    try:
        text = document.decode("utf-8")
        definition = xtce.load_definition(text)
        specs = xtce.parameter_specs(definition)
    except UnicodeDecodeError:
        raise InvalidInputError(
            "the XTCE document is not UTF-8",
            errors=[FieldError(["body"], "not UTF-8")],
        ) from None
    except xtce.XtceError as exc:
        raise InvalidInputError(
            f"invalid XTCE document: {exc}", errors=[FieldError(["body"], str(exc))]
        ) from None
    parameters = await upsert_parameters(
        session, spacecraft_id, [_spec_to_write(spec) for spec in specs]
    )
    repository = TelemetryRepository(session)
    await repository.save_definition(
        TelemetryDefinition(spacecraft_id=spacecraft_id, xtce=text, uploaded_at=now)
    )
    await adopt_default_limits(
        session,
        spacecraft_id,
        await repository.parameters(spacecraft_id),
        definition.alarm_ranges,
        actor=actor,
    )
    _definitions.pop(spacecraft_id, None)
    return parameters


# Parsed definitions per spacecraft, valid while the stored upload time is unchanged:
# parsing XTCE costs far more than decoding a batch of packets.
_definitions: dict[uuid.UUID, tuple[datetime, xtce.PacketDefinition]] = {}
_DEFINITION_CACHE_SIZE = 64


async def packet_definition(
    session: AsyncSession, spacecraft_id: uuid.UUID
) -> xtce.PacketDefinition:
    repository = TelemetryRepository(session)
    uploaded_at = await repository.definition_uploaded_at(spacecraft_id)
    cached = _definitions.get(spacecraft_id)
    if uploaded_at is not None and cached is not None and cached[0] == uploaded_at:
        return cached[1]
    stored = await repository.definition(spacecraft_id)
    if stored is None:
        raise ConflictError(
            "this spacecraft has no XTCE definition; PUT one to .../telemetry/dictionary first"
        )
    definition = xtce.load_definition(stored.xtce)
    if len(_definitions) >= _DEFINITION_CACHE_SIZE:
        _definitions.pop(next(iter(_definitions)))
    _definitions[spacecraft_id] = (stored.uploaded_at, definition)
    return definition


def decode_packets(definition: xtce.PacketDefinition, data: bytes) -> list[xtce.DecodedSample]:
    try:
        return xtce.decode_packets(definition, data)
    except xtce.PacketDecodeError as exc:
        where = f"packet {exc.packet_index} at byte offset {exc.byte_offset}"
        raise InvalidInputError(
            f"{where}: {exc.reason}",
            errors=[FieldError(["body", "packets", exc.packet_index], f"{where}: {exc.reason}")],
        ) from None


# -- validation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    id: int
    name: str
    type: str
    valid_min: float
    valid_max: float
    enum_codes: Mapping[str, int]  # label -> code
    enum_values: frozenset[int]
    float_type: bool
    limited: bool = False  # an enabled limit set watches it

    @classmethod
    def of(cls, parameter: TelemetryParameter, *, limited: bool = False) -> ParameterInfo:
        labels = {int(code): label for code, label in (parameter.enum_labels or {}).items()}
        return cls(
            id=parameter.id,
            name=parameter.name,
            type=parameter.type,
            # Finite bounds even when open: one range check also refuses infinities.
            valid_min=-_LARGEST_DOUBLE if parameter.valid_min is None else parameter.valid_min,
            valid_max=_LARGEST_DOUBLE if parameter.valid_max is None else parameter.valid_max,
            enum_codes={label: code for code, label in labels.items()},
            enum_values=frozenset(labels),
            float_type=parameter.type == ParameterType.FLOAT,
            limited=limited,
        )


@dataclass
class Validated:
    samples: SampleColumns  # the good ones, in the batch's order
    errors: list[FieldError]
    names: dict[int, str]  # parameter id -> name, for the live feed


# Samples are stored as doubles: larger integers would silently change.
_LARGEST_EXACT_INT = 2**53


def _value_error(info: ParameterInfo, value: Any) -> tuple[float | None, str | None]:
    """The value as stored (a float) or why it cannot be."""
    kind = info.type
    if kind == ParameterType.BOOL:
        if type(value) is bool:
            return (1.0 if value else 0.0), None
        if type(value) is int and value in (0, 1):
            return float(value), None
        return None, "must be a boolean"
    if kind == ParameterType.ENUM:
        if type(value) is str:
            code = info.enum_codes.get(value)
            if code is None:
                return None, f"{value[:64]!r} is not a label of this enumeration"
            return float(code), None
        if type(value) is int:
            if abs(value) > _LARGEST_EXACT_INT:
                return None, "is too large to be stored exactly"
            if info.enum_values and value not in info.enum_values:
                return None, f"{value} is not a code of this enumeration"
            return float(value), None
        return None, "must be an enumeration label or code"
    if kind == ParameterType.STRING:
        return None, "string parameters are not archived (the archive stores numbers)"
    if type(value) is float:
        if not math.isfinite(value):
            return None, "must be a finite number (NaN and infinities are refused)"
        if kind == ParameterType.INT and not value.is_integer():
            return None, "must be an integer"
    elif type(value) is int:
        if abs(value) > _LARGEST_EXACT_INT:
            return None, "is too large to be stored exactly"
        value = float(value)
    elif type(value) is str and value.strip().lower() in ("nan", "inf", "-inf", "infinity"):
        return None, "must be a finite number (NaN and infinities are refused)"
    else:
        return None, "must be an integer" if kind == ParameterType.INT else "must be a number"
    if not info.valid_min <= value <= info.valid_max:
        return None, f"outside the valid range [{info.valid_min}, {info.valid_max}]"
    return value, None


# Earlier instants have no Python datetime in UTC to be read back as.
_EARLIEST_US = microseconds_since_postgres_epoch(datetime.min.replace(tzinfo=UTC))


def _time_error(raw_time: Any, horizon_us: int, max_future_s: float) -> str | int:
    """The sample time (microseconds since ``POSTGRES_EPOCH``), or why it is not
    acceptable."""
    if isinstance(raw_time, datetime):
        time = raw_time
    elif type(raw_time) is str:
        try:
            time = datetime.fromisoformat(raw_time)
        except ValueError:
            return "not an ISO 8601 timestamp"
    else:
        return "must be an ISO 8601 string"
    if time.tzinfo is None:
        return "needs a UTC offset, e.g. 'Z'"
    microseconds = microseconds_since_postgres_epoch(time)
    if microseconds > horizon_us:
        return f"more than {max_future_s:g} s in the future"
    if microseconds < _EARLIEST_US:
        return "before 0001-01-01T00:00:00Z"
    return microseconds


_PLAIN_KINDS = frozenset({ParameterType.FLOAT, ParameterType.INT})
_NUMBER_TYPES = frozenset({float, int})
_PARAMETER, _TIME, _VALUE = itemgetter("parameter"), itemgetter("time"), itemgetter("value")


def _plain_batch(
    samples: list[Any],
    parameters: Mapping[str, ParameterInfo],
    horizon_us: int,
    max_future_s: float,
) -> SampleColumns | None:
    """The whole batch checked at once, when it is the common one: numbers of float and
    int parameters at good times, each (parameter, time) once. None as soon as anything
    is different; the per-sample checks then find and name it. Each distinct time
    string is parsed once (a batch has many parameters per time)."""
    if not samples:
        return None
    try:
        names = list(map(_PARAMETER, samples))
        raw_times = list(map(_TIME, samples))
        raw_values = list(map(_VALUE, samples))
        infos = [parameters[name] for name in set(names)]
        times_of: dict[Any, int] = dict.fromkeys(raw_times, 0)
    except (TypeError, KeyError, IndexError):
        return None
    value_types = set(map(type, raw_values))
    if not value_types <= _NUMBER_TYPES or any(i.type not in _PLAIN_KINDS for i in infos):
        return None
    count = len(samples)
    try:
        values = np.fromiter(raw_values, np.float64, count)
    except OverflowError:
        return None
    if int in value_types and not np.all(np.abs(values) < _LARGEST_EXACT_INT):
        return None
    position_of = {info.name: position for position, info in enumerate(infos)}
    positions = np.fromiter(map(position_of.__getitem__, names), np.intp, count)
    lows = np.array([info.valid_min for info in infos])[positions]
    highs = np.array([info.valid_max for info in infos])[positions]
    if not np.all((lows <= values) & (values <= highs)):  # NaN fails too
        return None
    whole = np.array([not info.float_type for info in infos])[positions]
    if whole.any() and not np.array_equal(values[whole], np.trunc(values[whole])):
        return None
    for raw_time in times_of:
        time = _time_error(raw_time, horizon_us, max_future_s)
        if isinstance(time, str):
            return None
        times_of[raw_time] = time
    times = np.fromiter(map(times_of.__getitem__, raw_times), np.int64, count)
    ids = np.array([info.id for info in infos], np.int32)[positions]
    by_key = np.lexsort((ids, times))
    ids_sorted, times_sorted = ids[by_key], times[by_key]
    if np.any((times_sorted[1:] == times_sorted[:-1]) & (ids_sorted[1:] == ids_sorted[:-1])):
        return None
    return SampleColumns(ids, times, values)


def validate_samples(
    samples: Any,
    parameters: Mapping[str, ParameterInfo],
    *,
    now: datetime,
    max_future_s: float,
) -> Validated:
    """Check every sample; the good ones as columns and one error per bad one.

    Past the whole-batch check, a good sample of a float parameter takes a handful of
    dictionary lookups; anything else (and every error message) is left to the slow path.
    """
    if not isinstance(samples, list):
        raise InvalidInputError(
            "samples must be a list",
            errors=[FieldError(["body", "samples"], "must be a list of samples")],
        )
    horizon_us = microseconds_since_postgres_epoch(now + timedelta(seconds=max_future_s))
    names = {info.id: info.name for info in parameters.values()}
    plain = _plain_batch(samples, parameters, horizon_us, max_future_s)
    if plain is not None:
        return Validated(plain, [], names)
    records: list[tuple[int, int, float]] = []
    errors: list[FieldError] = []
    seen: set[tuple[int, int]] = set()
    # Batches carry many parameters per timestamp: each time string is checked once.
    good_times: dict[Any, int] = {}
    append = records.append
    for index, sample in enumerate(samples):
        try:
            info = parameters[sample["parameter"]]
            time = good_times[sample["time"]]
            value = sample["value"]
            if type(value) is not float or not info.float_type:
                raise KeyError
            if not info.valid_min <= value <= info.valid_max:  # NaN fails too
                raise KeyError
        except (KeyError, TypeError, IndexError):
            outcome = _checked_sample(
                index, sample, parameters, good_times, horizon_us, max_future_s
            )
            if isinstance(outcome, FieldError):
                errors.append(outcome)
                continue
            info, time, value = outcome
        key = (info.id, time)
        if key in seen:
            errors.append(
                FieldError(
                    ["body", "samples", index, "time"],
                    "another sample of this batch has this parameter and time",
                )
            )
            continue
        seen.add(key)
        append((info.id, time, value))
    return Validated(SampleColumns.of(records), errors, names)


def _checked_sample(
    index: int,
    sample: Any,
    parameters: Mapping[str, ParameterInfo],
    good_times: dict[Any, int],
    horizon_us: int,
    max_future_s: float,
) -> tuple[ParameterInfo, int, float] | FieldError:
    try:
        name = sample["parameter"]
        raw_time = sample["time"]
        value = sample["value"]
    except (TypeError, KeyError, IndexError):
        return FieldError(
            ["body", "samples", index], "must be an object with parameter, time and value"
        )
    info = parameters.get(name) if type(name) is str else None
    if info is None:
        return FieldError(
            ["body", "samples", index, "parameter"], f"unknown parameter {str(name)[:128]!r}"
        )
    time = _time_error(raw_time, horizon_us, max_future_s)
    if isinstance(time, str):
        return FieldError(["body", "samples", index, "time"], time)
    good_times[raw_time] = time
    stored, problem = _value_error(info, value)
    if stored is None:
        return FieldError(["body", "samples", index, "value"], problem or "invalid")
    return info, time, stored


def decoded_as_samples(decoded: Iterable[xtce.DecodedSample]) -> list[dict[str, Any]]:
    return [{"parameter": s.parameter, "time": s.time, "value": s.value} for s in decoded]


def _listed(errors: list[FieldError]) -> list[FieldError]:
    return errors[:MAX_LISTED_ERRORS]


def refuse_bad_batch(errors: list[FieldError], total: int) -> InvalidInputError:
    shown = "" if len(errors) <= MAX_LISTED_ERRORS else f" (first {MAX_LISTED_ERRORS} listed)"
    return InvalidInputError(
        f"{len(errors)} of {total} samples are invalid{shown}; nothing was stored",
        errors=_listed(errors),
    )


# -- ingest -------------------------------------------------------------------------------


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


async def ingest(
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
        rejected=[dict(error) for error in _listed(checked.errors)],
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
        await _apply_limits(session, spacecraft.id, parameters.values(), good, outcome, now)
        await repository.advance_last_contact(spacecraft.id, good.time_at(-1))
    return outcome


async def _apply_limits(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
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
    limits = await apply_limits(session, spacecraft_id, samples.records(positions), now)
    outcome.notifications = list(limits.notifications)
    outcome.alarm_messages = [{"type": "alarm", **change} for change in limits.alarm_changes]
    outcome.limited_positions, outcome.limited_states = positions, limits.states


# -- queries ------------------------------------------------------------------------------


async def parameter_of(
    session: AsyncSession, spacecraft_id: uuid.UUID, name: str
) -> TelemetryParameter:
    parameter = await TelemetryRepository(session).parameter(spacecraft_id, name)
    if parameter is None or name in RESERVED_PARAMETER_NAMES:
        raise NotFoundError(f"parameter {name!r} not found for this spacecraft")
    return parameter


def check_window(start: datetime | None, stop: datetime | None) -> None:
    if start is not None and stop is not None and start >= stop:
        raise InvalidInputError(
            "start must be before stop",
            errors=[FieldError(["query", "stop"], "must be after start")],
        )


async def raw_samples(
    session: AsyncSession,
    spacecraft_id: uuid.UUID,
    parameter: TelemetryParameter,
    *,
    start: datetime | None,
    stop: datetime | None,
    after: datetime | None,
    descending: bool,
    limit: int,
) -> list[SampleRead]:
    rows = await TelemetryRepository(session).samples(
        parameter.id, start=start, stop=stop, after=after, descending=descending, limit=limit
    )
    states = await limit_states_for(session, spacecraft_id, parameter.id, [v for _, v in rows])
    return [
        SampleRead(time=time, value=value, limit=state)
        for (time, value), state in zip(rows, states, strict=True)
    ]


async def buckets(
    session: AsyncSession,
    parameter: TelemetryParameter,
    *,
    start: datetime,
    stop: datetime,
    count: int,
) -> BucketSeries:
    width = (stop - start) / count
    width_s = width.total_seconds()
    rows = await TelemetryRepository(session).buckets(parameter.id, start, stop, count)
    merged = {row.index: (row.count, row.min, row.max, row.total) for row in rows}
    series = []
    for index in range(count):
        bucket_start = start + width * index
        bucket_stop = stop if index == count - 1 else start + width * (index + 1)
        totals = merged.get(index)
        if totals is None:
            series.append(
                Bucket(start=bucket_start, stop=bucket_stop, count=0, min=None, max=None, avg=None)
            )
        else:
            n, low, high, total = totals
            series.append(
                Bucket(
                    start=bucket_start,
                    stop=bucket_stop,
                    count=int(n),
                    min=low,
                    max=high,
                    avg=total / n,
                )
            )
    return BucketSeries(
        parameter=parameter.name, start=start, stop=stop, width_s=width_s, buckets=series
    )


async def latest(session: AsyncSession, spacecraft_id: uuid.UUID) -> list[LatestValue]:
    rows = await TelemetryRepository(session).latest(spacecraft_id)
    return [
        LatestValue(
            parameter=row.name,
            type=ParameterType(row.type),
            unit=row.unit,
            time=row.time,
            value=row.value,
        )
        for row in rows
    ]


async def export_parameters(
    session: AsyncSession, spacecraft_id: uuid.UUID, names: Sequence[str]
) -> dict[int, str]:
    known = {p.name: p.id for p in await TelemetryRepository(session).parameters(spacecraft_id)}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown parameter(s): {', '.join(unknown[:20])}",
            errors=[FieldError(["query", "parameters"], f"unknown: {n}") for n in unknown[:20]],
        )
    return {known[name]: name for name in names}


async def _export_chunks(
    sessionmaker: async_sessionmaker[AsyncSession],
    parameters: Mapping[int, str],
    start: datetime,
    stop: datetime,
) -> AsyncIterator[Sequence[tuple[int, datetime, float]]]:
    # Its own session: the response streams after the request's unit of work finished.
    async with session_scope(sessionmaker) as session:
        async for chunk in TelemetryRepository(session).stream_samples(
            list(parameters), start, stop, chunk_rows=EXPORT_CHUNK_ROWS
        ):
            yield chunk


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    parameters: Mapping[int, str],
    start: datetime,
    stop: datetime,
) -> AsyncIterator[bytes]:
    yield b"parameter,time,value\r\n"
    async for chunk in _export_chunks(sessionmaker, parameters, start, stop):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows(
            (parameters[parameter_id], time.isoformat(), repr(value))
            for parameter_id, time, value in chunk
        )
        yield buffer.getvalue().encode()


EXPORT_SCHEMA = pa.schema(
    [
        pa.field("parameter", pa.string(), nullable=False),
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)


class _ChunkSink(io.RawIOBase):
    """A write-only file that hands what was written since the last call to ``take``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        parts, self._parts = self._parts, []
        return b"".join(parts)


async def export_parquet(
    sessionmaker: async_sessionmaker[AsyncSession],
    parameters: Mapping[int, str],
    start: datetime,
    stop: datetime,
) -> AsyncIterator[bytes]:
    """One row group per database chunk, each sent as soon as it is encoded."""
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, EXPORT_SCHEMA, compression="zstd")
    try:
        async for chunk in _export_chunks(sessionmaker, parameters, start, stop):
            table = pa.table(
                {
                    "parameter": [parameters[row[0]] for row in chunk],
                    "time": [row[1] for row in chunk],
                    "value": [row[2] for row in chunk],
                },
                schema=EXPORT_SCHEMA,
            )
            # Encoding a row group is CPU work; keep the event loop serving others.
            await asyncio.to_thread(writer.write_table, table)
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


# -- retention ----------------------------------------------------------------------------

REDUCTION_WINDOW = timedelta(hours=6)


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


async def reduce_raw_samples(session: AsyncSession, cutoff: datetime, *, dry_run: bool) -> int:
    """Fold raw samples older than ``cutoff`` (rounded down to a whole minute) into minute
    aggregates and delete them, a few hours of data per statement so that each one's
    locks and memory stay bounded. Returns the samples reduced (or that would be)."""
    repository = TelemetryRepository(session)
    cutoff = _floor_minute(cutoff)
    if dry_run:
        return await repository.count_samples_before(cutoff)
    reduced = 0
    while (oldest := await repository.oldest_sample_before(cutoff)) is not None:
        window_start = _floor_minute(oldest)
        window_stop = min(cutoff, window_start + REDUCTION_WINDOW)
        reduced += await repository.reduce_to_minutes(window_start, window_stop)
    return reduced


# Minute aggregates are 60x sparser than 1 Hz samples: a week of them per statement
# holds about as many rows as the raw reduction's window.
HOUR_REDUCTION_WINDOW = timedelta(days=7)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def reduce_minute_aggregates(
    session: AsyncSession, cutoff: datetime, *, dry_run: bool
) -> int:
    """Fold minute aggregates older than ``cutoff`` (rounded down to a whole hour) into hour
    aggregates and delete them, a window at a time like ``reduce_raw_samples``. Returns the
    minute aggregates reduced (or that would be)."""
    repository = TelemetryRepository(session)
    cutoff = _floor_hour(cutoff)
    if dry_run:
        return await repository.count_minute_aggregates_before(cutoff)
    reduced = 0
    while (oldest := await repository.oldest_minute_aggregate_before(cutoff)) is not None:
        window_start = _floor_hour(oldest)
        window_stop = min(cutoff, window_start + HOUR_REDUCTION_WINDOW)
        reduced += await repository.reduce_to_hours(window_start, window_stop)
    return reduced
