"""Raw samples of chosen parameters streamed as CSV or Parquet, chunk by chunk, so an
export of any size holds one chunk in memory."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.db import session_scope
from astroshield.errors import FieldError, InvalidInputError
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.repository.archive import TelemetryRepository

EXPORT_CHUNK_ROWS = 50_000


async def export_parameters(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID, names: Sequence[str]
) -> dict[int, str]:
    """The ids of the named parameters (id -> name, in the order given)."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
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
    output: str,
    spacecraft_id: uuid.UUID | None,
) -> AsyncIterator[Sequence[tuple[int, datetime, float]]]:
    # Its own session: the response streams after the request's unit of work finished.
    # The span lasts as long as the stream, inside the request's (which ends with it).
    rows = 0
    with span(
        "telemetry.export",
        spacecraft_id=str(spacecraft_id) if spacecraft_id else None,
        format=output,
        parameters=len(parameters),
    ):
        async with session_scope(sessionmaker) as session:
            async for chunk in TelemetryRepository(session).stream_samples(
                list(parameters), start, stop, chunk_rows=EXPORT_CHUNK_ROWS
            ):
                rows += len(chunk)
                yield chunk
        annotate(rows=rows)


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    parameters: Mapping[int, str],
    start: datetime,
    stop: datetime,
    spacecraft_id: uuid.UUID | None = None,
) -> AsyncIterator[bytes]:
    yield b"parameter,time,value\r\n"
    async for chunk in _export_chunks(sessionmaker, parameters, start, stop, "csv", spacecraft_id):
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
    spacecraft_id: uuid.UUID | None = None,
) -> AsyncIterator[bytes]:
    """One row group per database chunk, each sent as soon as it is encoded."""
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, EXPORT_SCHEMA, compression="zstd")
    chunks = _export_chunks(sessionmaker, parameters, start, stop, "parquet", spacecraft_id)
    try:
        async for chunk in chunks:
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
