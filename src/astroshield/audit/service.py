"""Append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so editing an
entry breaks its own hash and deleting one breaks the link of the next: ``verify_chain``
finds both. Retention may cut the oldest entries; it then appends an entry naming the new
first link (``anchor_hash``), which is what verification starts from.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.audit.models import AuditEntry
from astroshield.audit.repository import AuditRepository
from astroshield.db import session_scope

GENESIS_HASH = "0" * 64
PRUNE_ACTION = "retention.audit_pruned"


# audit_log.object_id is String(64).
OBJECT_ID_MAX = 64


@dataclass(frozen=True)
class AuditEvent:
    action: str
    actor: str | None = None
    organisation_id: uuid.UUID | None = None
    object_type: str | None = None
    object_id: str | None = None
    client_address: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, from where: the part of every audit entry a request supplies."""

    user_id: str | None
    organisation_id: uuid.UUID | None
    request_id: str | None = None
    client_address: str | None = None

    def event(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: object = None,
        organisation_id: uuid.UUID | None = None,
        **details: Any,
    ) -> AuditEvent:
        object_text = None if object_id is None else str(object_id)
        if object_text is not None and len(object_text) > OBJECT_ID_MAX:
            # A long identifier (a request path, say) is kept whole in the details; the
            # indexed column holds its start, so the record is written rather than refused.
            details = {**details, "object_id": object_text}
            object_text = object_text[: OBJECT_ID_MAX - 1] + "…"
        return AuditEvent(
            action=action,
            actor=self.user_id,
            organisation_id=organisation_id or self.organisation_id,
            object_type=object_type,
            object_id=object_text,
            client_address=self.client_address,
            request_id=self.request_id,
            details=details,
        )


SYSTEM = Actor(user_id="system", organisation_id=None)


def _canonical(entry: AuditEntry) -> bytes:
    fields = {
        "occurred_at": entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "organisation_id": str(entry.organisation_id) if entry.organisation_id else None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "client_address": entry.client_address,
        "request_id": entry.request_id,
        "details": entry.details,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(entry.previous_hash.encode() + b"\n" + _canonical(entry)).hexdigest()


async def record(session: AsyncSession, event: AuditEvent) -> AuditEntry:
    """Append an entry in the caller's transaction: it commits or rolls back with the
    change it describes."""
    repository = AuditRepository(session)
    previous = await repository.lock_chain_head() or GENESIS_HASH
    entry = AuditEntry(
        occurred_at=datetime.now(UTC),
        actor=event.actor,
        organisation_id=event.organisation_id,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        client_address=event.client_address,
        request_id=event.request_id,
        details=event.details,
        previous_hash=previous,
    )
    entry.entry_hash = entry_hash(entry)
    return await repository.append(entry)


async def record_detached(
    sessionmaker: async_sessionmaker[AsyncSession], event: AuditEvent
) -> None:
    """Append in a transaction of its own: security events (a failed login, a refused
    token) must be kept although the request that caused them fails.

    Call it before the request's own session has written anything (or after rolling it
    back): on SQLite a second writer waits for the first one's lock.
    """
    async with session_scope(sessionmaker) as session:
        await record(session, event)


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None


async def verify_chain(session: AsyncSession) -> ChainReport:
    repository = AuditRepository(session)
    previous: str | None = None
    first_previous: str | None = None
    anchors: set[str] = set()
    checked = 0
    async for entry in repository.iterate():
        checked += 1
        if entry_hash(entry) != entry.entry_hash:
            return ChainReport(checked, False, entry.id, "entry was modified (hash mismatch)")
        if previous is None:
            first_previous = entry.previous_hash
        elif entry.previous_hash != previous:
            return ChainReport(
                checked, False, entry.id, "link broken: an earlier entry was deleted or replaced"
            )
        if entry.action == PRUNE_ACTION and isinstance(entry.details.get("anchor_hash"), str):
            anchors.add(entry.details["anchor_hash"])
        previous = entry.entry_hash
    if first_previous not in (None, GENESIS_HASH) and first_previous not in anchors:
        return ChainReport(
            checked, False, None, "the oldest entries were deleted without a retention record"
        )
    return ChainReport(checked, True)
