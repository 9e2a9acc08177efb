"""Sample batches checked against the parameter dictionary, without a database.

Batches are validated without a model per sample: the common batch (numbers of float and
int parameters) is checked whole with numpy into the columns the archive stores, anything
else in one loop over the decoded JSON that names every wrong sample.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from astroshield.errors import FieldError, InvalidInputError
from astroshield.telemetry.samples import (
    ParameterType,
    SampleColumns,
    microseconds_since_postgres_epoch,
)

MAX_LISTED_ERRORS = 1000
_LARGEST_DOUBLE = sys.float_info.max
# Samples are stored as doubles: larger integers would silently change.
_LARGEST_EXACT_INT = 2**53
# Earlier instants have no Python datetime in UTC to be read back as.
_EARLIEST_US = microseconds_since_postgres_epoch(datetime.min.replace(tzinfo=UTC))
_NOT_FINITE = "must be a finite number (NaN and infinities are refused)"
_TOO_LARGE = "is too large to be stored exactly"


class ParameterRow(Protocol):
    """What validation reads of a dictionary entry (a ``TelemetryParameter``)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def valid_min(self) -> float | None: ...
    @property
    def valid_max(self) -> float | None: ...
    @property
    def enum_labels(self) -> Mapping[str, str] | None: ...


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
    def of(cls, parameter: ParameterRow, *, limited: bool = False) -> ParameterInfo:
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


# -- one value ------------------------------------------------------------------------

Checked = tuple[float | None, str | None]


def _bool_value(info: ParameterInfo, value: Any) -> Checked:
    if type(value) is bool:
        return (1.0 if value else 0.0), None
    if type(value) is int and value in (0, 1):
        return float(value), None
    return None, "must be a boolean"


def _enum_value(info: ParameterInfo, value: Any) -> Checked:
    if type(value) is str:
        code = info.enum_codes.get(value)
        if code is None:
            return None, f"{value[:64]!r} is not a label of this enumeration"
        return float(code), None
    if type(value) is int:
        if abs(value) > _LARGEST_EXACT_INT:
            return None, _TOO_LARGE
        if info.enum_values and value not in info.enum_values:
            return None, f"{value} is not a code of this enumeration"
        return float(value), None
    return None, "must be an enumeration label or code"


def _string_value(info: ParameterInfo, value: Any) -> Checked:
    return None, "string parameters are not archived (the archive stores numbers)"


def _number_value(info: ParameterInfo, value: Any) -> Checked:
    """Float and int parameters: a finite number, whole for int, in the valid range."""
    if type(value) is float:
        if not math.isfinite(value):
            return None, _NOT_FINITE
        if info.type == ParameterType.INT and not value.is_integer():
            return None, "must be an integer"
    elif type(value) is int:
        if abs(value) > _LARGEST_EXACT_INT:
            return None, _TOO_LARGE
        value = float(value)
    elif type(value) is str and value.strip().lower() in ("nan", "inf", "-inf", "infinity"):
        return None, _NOT_FINITE
    else:
        return None, "must be an integer" if info.type == ParameterType.INT else "must be a number"
    if not info.valid_min <= value <= info.valid_max:
        return None, f"outside the valid range [{info.valid_min}, {info.valid_max}]"
    return value, None


_VALUE_CHECKS: Mapping[str, Callable[[ParameterInfo, Any], Checked]] = {
    ParameterType.BOOL: _bool_value,
    ParameterType.ENUM: _enum_value,
    ParameterType.STRING: _string_value,
}


def value_error(info: ParameterInfo, value: Any) -> Checked:
    """The value as stored (a float) or why it cannot be."""
    return _VALUE_CHECKS.get(info.type, _number_value)(info, value)


def time_error(raw_time: Any, horizon_us: int, max_future_s: float) -> str | int:
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


# -- the whole batch at once ----------------------------------------------------------

_PLAIN_KINDS = frozenset({ParameterType.FLOAT, ParameterType.INT})
_NUMBER_TYPES = frozenset({float, int})
_PARAMETER, _TIME, _VALUE = itemgetter("parameter"), itemgetter("time"), itemgetter("value")


@dataclass(frozen=True, slots=True)
class _PlainFields:
    names: list[Any]
    raw_times: list[Any]
    raw_values: list[Any]
    value_types: set[type]
    infos: list[ParameterInfo]  # of the distinct parameters


def _plain_fields(
    samples: list[Any], parameters: Mapping[str, ParameterInfo]
) -> _PlainFields | None:
    """The samples' fields as lists, if every sample is an object of a known float or
    int parameter with a number value."""
    try:
        names = list(map(_PARAMETER, samples))
        raw_times = list(map(_TIME, samples))
        raw_values = list(map(_VALUE, samples))
        infos = [parameters[name] for name in set(names)]
    except (TypeError, KeyError, IndexError):
        return None
    value_types = set(map(type, raw_values))
    if not value_types <= _NUMBER_TYPES or any(i.type not in _PLAIN_KINDS for i in infos):
        return None
    return _PlainFields(names, raw_times, raw_values, value_types, infos)


def _plain_values(fields: _PlainFields) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """The values as doubles and each sample's position in ``fields.infos``; raises
    ValueError for a value the per-sample checks would refuse."""
    count = len(fields.raw_values)
    try:
        values = np.fromiter(fields.raw_values, np.float64, count)
    except OverflowError:
        raise ValueError("an integer beyond a double") from None
    if int in fields.value_types and not np.all(np.abs(values) < _LARGEST_EXACT_INT):
        raise ValueError("an integer too large to store exactly")
    infos = fields.infos
    position_of = {info.name: position for position, info in enumerate(infos)}
    positions = np.fromiter(map(position_of.__getitem__, fields.names), np.intp, count)
    lows = np.array([info.valid_min for info in infos])[positions]
    highs = np.array([info.valid_max for info in infos])[positions]
    if not np.all((lows <= values) & (values <= highs)):  # NaN fails too
        raise ValueError("a value outside its range")
    whole = np.array([not info.float_type for info in infos])[positions]
    if whole.any() and not np.array_equal(values[whole], np.trunc(values[whole])):
        raise ValueError("a fraction for an integer parameter")
    return values, positions


def _plain_times(
    raw_times: list[Any], horizon_us: int, max_future_s: float
) -> npt.NDArray[np.int64] | None:
    """Each distinct time string parsed once (a batch has many parameters per time)."""
    try:
        times_of: dict[Any, int] = dict.fromkeys(raw_times, 0)
    except TypeError:  # an unhashable time
        return None
    for raw_time in times_of:
        time = time_error(raw_time, horizon_us, max_future_s)
        if isinstance(time, str):
            return None
        times_of[raw_time] = time
    return np.fromiter(map(times_of.__getitem__, raw_times), np.int64, len(raw_times))


def _plain_batch(
    samples: list[Any],
    parameters: Mapping[str, ParameterInfo],
    horizon_us: int,
    max_future_s: float,
) -> SampleColumns | None:
    """The whole batch checked at once, when it is the common one: numbers of float and
    int parameters at good times, each (parameter, time) once. None as soon as anything
    is different; the per-sample checks then find and name it."""
    if not samples:
        return None
    fields = _plain_fields(samples, parameters)
    if fields is None:
        return None
    try:
        values, positions = _plain_values(fields)
    except ValueError:
        return None
    times = _plain_times(fields.raw_times, horizon_us, max_future_s)
    if times is None:
        return None
    ids = np.array([info.id for info in fields.infos], np.int32)[positions]
    by_key = np.lexsort((ids, times))
    ids_sorted, times_sorted = ids[by_key], times[by_key]
    if np.any((times_sorted[1:] == times_sorted[:-1]) & (ids_sorted[1:] == ids_sorted[:-1])):
        return None
    return SampleColumns(ids, times, values)


# -- sample by sample -----------------------------------------------------------------


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
    time = time_error(raw_time, horizon_us, max_future_s)
    if isinstance(time, str):
        return FieldError(["body", "samples", index, "time"], time)
    good_times[raw_time] = time
    stored, problem = value_error(info, value)
    if stored is None:
        return FieldError(["body", "samples", index, "value"], problem or "invalid")
    return info, time, stored


def listed(errors: list[FieldError]) -> list[FieldError]:
    """The errors an answer lists: the first ``MAX_LISTED_ERRORS``."""
    return errors[:MAX_LISTED_ERRORS]


def refuse_bad_batch(errors: list[FieldError], total: int) -> InvalidInputError:
    shown = "" if len(errors) <= MAX_LISTED_ERRORS else f" (first {MAX_LISTED_ERRORS} listed)"
    return InvalidInputError(
        f"{len(errors)} of {total} samples are invalid{shown}; nothing was stored",
        errors=listed(errors),
    )
