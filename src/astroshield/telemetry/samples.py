"""Samples in memory, without a database: the dictionary's parameter types, and a batch as
the three columns the archive stores (times as PostgreSQL counts them, in microseconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt


class ParameterType(StrEnum):
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    ENUM = "enum"
    STRING = "string"


SampleRecord = tuple[int, datetime, float]  # (parameter_id, time, value)

# PostgreSQL stores a timestamp as a count of microseconds since this moment.
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds_since_postgres_epoch(moment: datetime) -> int:
    """Exact (integer arithmetic) for any aware datetime."""
    return (moment - POSTGRES_EPOCH) // _MICROSECOND


def from_postgres_microseconds(microseconds: int) -> datetime:
    return POSTGRES_EPOCH + timedelta(microseconds=microseconds)


@dataclass(frozen=True, slots=True)
class SampleColumns:
    """Samples as three parallel arrays: what a COPY sends, without a Python object per
    sample. Times are microseconds since ``POSTGRES_EPOCH`` (UTC)."""

    parameter_ids: npt.NDArray[np.int32]
    times_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, records: Sequence[tuple[int, int, float]]) -> SampleColumns:
        """From ``(parameter_id, microseconds, value)`` tuples."""
        count = len(records)
        return cls(
            np.fromiter((r[0] for r in records), np.int32, count),
            np.fromiter((r[1] for r in records), np.int64, count),
            np.fromiter((r[2] for r in records), np.float64, count),
        )

    def __len__(self) -> int:
        return len(self.times_us)

    def in_time_order(self) -> SampleColumns:
        """Stable: samples at one time keep the batch's order."""
        order = np.argsort(self.times_us, kind="stable")
        return SampleColumns(self.parameter_ids[order], self.times_us[order], self.values[order])

    def time_at(self, position: int) -> datetime:
        return from_postgres_microseconds(int(self.times_us[position]))

    def records(self, positions: npt.NDArray[np.intp] | None = None) -> list[SampleRecord]:
        """``(parameter_id, UTC time, value)`` tuples, of every sample or of those at
        ``positions``; one datetime is built per distinct time."""
        ids, times, values = self.parameter_ids, self.times_us, self.values
        if positions is not None:
            ids, times, values = ids[positions], times[positions], values[positions]
        distinct, inverse = np.unique(times, return_inverse=True)
        moments = [from_postgres_microseconds(us) for us in distinct.tolist()]
        return [
            (parameter_id, moments[i], value)
            for parameter_id, i, value in zip(
                ids.tolist(), inverse.tolist(), values.tolist(), strict=True
            )
        ]
