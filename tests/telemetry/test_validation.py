"""Sample validation on its own: which samples are refused, and the field and message each
refusal names. No database, no application."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from astroshield.errors import FieldError, InvalidInputError
from astroshield.telemetry.samples import microseconds_since_postgres_epoch
from astroshield.telemetry.validation import (
    MAX_LISTED_ERRORS,
    ParameterInfo,
    refuse_bad_batch,
    validate_samples,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
TIME = "2026-11-01T11:00:00Z"
TIME_US = microseconds_since_postgres_epoch(datetime(2026, 11, 1, 11, tzinfo=UTC))


@dataclass
class Row:
    id: int
    name: str
    type: str
    valid_min: float | None = None
    valid_max: float | None = None
    enum_labels: dict[str, str] | None = None


PARAMETERS = {
    row.name: ParameterInfo.of(row)
    for row in [
        Row(1, "volts", "float", valid_min=0.0, valid_max=40.0),
        Row(2, "temp", "float"),
        Row(3, "reboots", "int"),
        Row(4, "heater", "bool"),
        Row(5, "mode", "enum", enum_labels={"0": "safe", "1": "nominal"}),
        Row(6, "label", "string"),
    ]
}


def check(*samples: Any) -> tuple[list[tuple[int, int, float]], list[FieldError]]:
    validated = validate_samples(list(samples), PARAMETERS, now=NOW, max_future_s=300)
    columns = validated.samples
    stored = list(
        zip(
            columns.parameter_ids.tolist(),
            columns.times_us.tolist(),
            columns.values.tolist(),
            strict=True,
        )
    )
    return stored, validated.errors


def refusal(parameter: Any, value: Any, time: Any = TIME) -> tuple[list[Any], str]:
    """The one error a sample gets: (loc, msg)."""
    stored, errors = check({"parameter": parameter, "time": time, "value": value})
    assert stored == []
    assert len(errors) == 1
    return errors[0]["loc"], errors[0]["msg"]


def test_a_batch_of_good_samples_becomes_columns_in_its_order() -> None:
    stored, errors = check(
        {"parameter": "temp", "time": TIME, "value": -3.5},
        {"parameter": "volts", "time": TIME, "value": 28},
        {"parameter": "reboots", "time": TIME, "value": 4.0},
    )

    assert errors == []
    assert stored == [(2, TIME_US, -3.5), (1, TIME_US, 28.0), (3, TIME_US, 4.0)]


@pytest.mark.parametrize(
    ("parameter", "value", "stored"),
    [
        ("heater", True, 1.0),
        ("heater", 0, 0.0),
        ("mode", "nominal", 1.0),
        ("mode", 0, 0.0),
        ("reboots", 2**53, float(2**53)),
        ("volts", 40.0, 40.0),
    ],
)
def test_values_other_than_floats_are_stored_as_doubles(
    parameter: str, value: Any, stored: float
) -> None:
    assert check({"parameter": parameter, "time": TIME, "value": value}) == (
        [(PARAMETERS[parameter].id, TIME_US, stored)],
        [],
    )


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("heater", "yes", "must be a boolean"),
        ("heater", 2, "must be a boolean"),
        ("mode", "standby", "'standby' is not a label of this enumeration"),
        ("mode", 7, "7 is not a code of this enumeration"),
        ("mode", 2**60, "is too large to be stored exactly"),
        ("mode", 1.0, "must be an enumeration label or code"),
        ("label", "hello", "string parameters are not archived (the archive stores numbers)"),
        ("temp", math.nan, "must be a finite number (NaN and infinities are refused)"),
        ("temp", -math.inf, "must be a finite number (NaN and infinities are refused)"),
        ("temp", "NaN", "must be a finite number (NaN and infinities are refused)"),
        ("temp", "12.5", "must be a number"),
        ("temp", None, "must be a number"),
        ("reboots", 1.5, "must be an integer"),
        ("reboots", "3", "must be an integer"),
        ("reboots", 2**53 + 1, "is too large to be stored exactly"),
        ("volts", 40.5, "outside the valid range [0.0, 40.0]"),
        ("volts", -1, "outside the valid range [0.0, 40.0]"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_value(
    parameter: str, value: Any, message: str
) -> None:
    assert refusal(parameter, value) == (["body", "samples", 0, "value"], message)


@pytest.mark.parametrize(
    ("time", "message"),
    [
        ("yesterday", "not an ISO 8601 timestamp"),
        (1_700_000_000, "must be an ISO 8601 string"),
        ("2026-11-01T11:00:00", "needs a UTC offset, e.g. 'Z'"),
        ((NOW + timedelta(seconds=301)).isoformat(), "more than 300 s in the future"),
        ("0001-01-01T00:30:00+01:00", "before 0001-01-01T00:00:00Z"),
    ],
)
def test_a_wrong_time_is_refused_naming_the_time(time: Any, message: str) -> None:
    assert refusal("temp", 1.0, time) == (["body", "samples", 0, "time"], message)


def test_a_time_just_within_the_future_horizon_is_accepted() -> None:
    time = NOW + timedelta(seconds=300)

    stored, errors = check({"parameter": "temp", "time": time.isoformat(), "value": 1.0})

    assert errors == []
    assert stored == [(2, microseconds_since_postgres_epoch(time), 1.0)]


def test_an_unknown_parameter_is_refused_naming_the_parameter() -> None:
    assert refusal("nope", 1.0) == (["body", "samples", 0, "parameter"], "unknown parameter 'nope'")
    assert refusal(["temp"], 1.0) == (
        ["body", "samples", 0, "parameter"],
        "unknown parameter \"['temp']\"",
    )


@pytest.mark.parametrize("sample", [None, "temp", [1, 2, 3], {"parameter": "temp", "time": TIME}])
def test_a_sample_that_is_not_a_whole_object_is_refused_naming_the_sample(sample: Any) -> None:
    stored, errors = check(sample)

    assert stored == []
    assert errors == [
        FieldError(["body", "samples", 0], "must be an object with parameter, time and value")
    ]


def test_a_second_sample_of_a_parameter_at_one_time_is_refused() -> None:
    stored, errors = check(
        {"parameter": "temp", "time": TIME, "value": 1.0},
        {"parameter": "temp", "time": "2026-11-01T12:00:00+01:00", "value": 2.0},
    )

    assert stored == [(2, TIME_US, 1.0)]
    assert errors == [
        FieldError(
            ["body", "samples", 1, "time"],
            "another sample of this batch has this parameter and time",
        )
    ]


def test_every_bad_sample_is_named_and_the_good_ones_kept() -> None:
    stored, errors = check(
        {"parameter": "temp", "time": TIME, "value": 1.0},
        {"parameter": "volts", "time": TIME, "value": 99.0},
        {"parameter": "heater", "time": TIME, "value": True},
        {"parameter": "temp", "time": "soon", "value": 2.0},
    )

    assert stored == [(2, TIME_US, 1.0), (4, TIME_US, 1.0)]
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (["body", "samples", 1, "value"], "outside the valid range [0.0, 40.0]"),
        (["body", "samples", 3, "time"], "not an ISO 8601 timestamp"),
    ]


def test_samples_that_are_not_a_list_are_refused_whole() -> None:
    with pytest.raises(InvalidInputError) as refused:
        validate_samples({"temp": 1.0}, PARAMETERS, now=NOW, max_future_s=300)

    assert refused.value.errors == [FieldError(["body", "samples"], "must be a list of samples")]


def test_a_refused_batch_lists_at_most_the_first_errors() -> None:
    errors = [FieldError(["body", "samples", i, "value"], "bad") for i in range(1500)]

    refused = refuse_bad_batch(errors, 2000)

    assert refused.detail == (
        f"1500 of 2000 samples are invalid (first {MAX_LISTED_ERRORS} listed); nothing was stored"
    )
    assert refused.errors == errors[:MAX_LISTED_ERRORS]
    assert (
        refuse_bad_batch(errors[:2], 3).detail == "2 of 3 samples are invalid; nothing was stored"
    )
