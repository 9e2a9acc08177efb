"""SQL of the sample partitions (PostgreSQL): ``telemetry_samples`` is partitioned by RANGE
on time, one partition per UTC day named ``telemetry_partitions.samples_YYYYMMDD``, plus
``telemetry_partitions.samples_default`` for samples no day partition covers (see the
``part00000001`` migration).

DDL names are built from dates only, never from input.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.db import hold_transaction_lock

SCHEMA = "telemetry_partitions"
PARENT = "telemetry_samples"
DEFAULT = f"{SCHEMA}.samples_default"
_DAY_NAME = re.compile(r"^samples_(\d{8})$")
# One key for "partitions are being changed": replicas starting together, or a startup
# beside a retention run, take turns instead of creating the same table twice.
_LOCK_KEY = 0x7E1E_9A47


def day_table(day: date) -> str:
    return f"{SCHEMA}.samples_{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


class PartitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def partitioned(self) -> bool:
        """Whether samples are partitioned here (PostgreSQL after ``part00000001``)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return False
        kind = await self.session.scalar(
            text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": PARENT},
        )
        return bool(kind == "p")

    async def lock(self) -> None:
        """Held until the transaction ends."""
        await hold_transaction_lock(self.session, _LOCK_KEY)

    async def days(self) -> list[date]:
        """The days that have a partition, oldest first."""
        rows = await self.session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:parent)"
            ),
            {"parent": PARENT},
        )
        found = []
        for (name,) in rows:
            match = _DAY_NAME.match(name)
            if match:
                digits = match.group(1)
                found.append(date(int(digits[:4]), int(digits[4:6]), int(digits[6:])))
        return sorted(found)

    async def create_day(self, day: date) -> int:
        """Create ``day``'s partition. Samples of that day that landed in the default
        partition meanwhile move into it (an attach refuses a range the default partition
        holds rows of). Returns the samples moved."""
        start, stop = day_bounds(day)
        table = day_table(day)
        bounds = {"start": start, "stop": stop}
        await self.session.execute(
            text(f"CREATE TABLE {table} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        move = (
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE time >= :start AND time < :stop "  # noqa: S608
            "RETURNING parameter_id, time, value) "
            f"INSERT INTO {table} (parameter_id, time, value) SELECT * FROM moved"
        )
        result = await self.session.execute(text(move), bounds)
        # The bounds are literals in DDL (no parameters there); they come from a date.
        await self.session.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {table} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{stop.isoformat()}')"
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count_day(self, day: date) -> int:
        statement = text(f"SELECT count(*) FROM {day_table(day)}")  # noqa: S608
        return int((await self.session.execute(statement)).scalar_one())

    async def drop_day(self, day: date) -> None:
        await self.session.execute(text(f"DROP TABLE {day_table(day)}"))
