"""What each identical query last got: when it was made, and the validators for a
conditional request. The clients skip a query made within the refresh interval; the
refresh loads this from the database before fetching and stores it after, so the rule
holds across processes (the CLI, replicas)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class QueryRecord:
    requested_at: float  # seconds since the epoch (the clients' clock)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class QueryMemory:
    records: dict[str, QueryRecord] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)

    def get(self, key: str) -> QueryRecord | None:
        return self.records.get(key)

    def put(self, key: str, record: QueryRecord) -> None:
        self.records[key] = record
        self.changed.add(key)

    def recent(self, key: str, now: float, interval_s: float) -> bool:
        """Whether ``key`` was queried less than ``interval_s`` ago."""
        known = self.records.get(key)
        return known is not None and interval_s > 0 and now - known.requested_at < interval_s
