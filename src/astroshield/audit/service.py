"""Append-only, hash-chained audit log.

Each entry's hash is an HMAC-SHA256, under a key kept outside the database, of its own
fields, its gapless ``sequence`` and the previous entry's hash: editing an entry breaks its
own hash, deleting one leaves a missing sequence number and breaks the next link, and
without the key neither can be recomputed. Signed checkpoints written outside the database
(``astroshield.audit.checkpoints``) pin the head, so that deleting the newest entries, or
recomputing the chain with the key, is found too (``astroshield.audit.verify``).

Retention may cut the oldest entries; it then appends an entry naming the new first link
(``anchor_hash``), which is what verification starts from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.audit.keys import chain_keys_for
from astroshield.audit.models import AuditEntry
from astroshield.audit.repository import AuditRepository
from astroshield.audit.schemas import AuditFilter, AuditStream
from astroshield.db import session_scope
from astroshield.security.actor import Actor as Actor
from astroshield.security.actor import AuditEvent as AuditEvent
from astroshield.security.principal import Principal

GENESIS_HASH = "0" * 64
# hash_version: 1 is the unkeyed SHA-256 of entries written before the chain was keyed
# (verified as written, never re-hashed); 2 is HMAC-SHA256 under the chain key key_id.
LEGACY_HASH = 1
KEYED_HASH = 2
# Domain separation: an entry HMAC can never be replayed as a checkpoint signature.
_KEYED_CONTEXT = b"astroshield-audit-entry/v2\n"
PRUNE_ACTION = "retention.audit_pruned"


SYSTEM = Actor(user_id="system", organisation_id=None)


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
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


def _json(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def legacy_hash(entry: AuditEntry) -> str:
    """The unkeyed SHA-256 of hash version 1 (anyone can recompute it)."""
    return hashlib.sha256(entry.previous_hash.encode() + b"\n" + _json(_fields(entry))).hexdigest()


def keyed_hash(entry: AuditEntry, key: bytes) -> str:
    """HMAC-SHA256 of hash version 2: also covers the sequence, version and key id, so none
    of them can be changed without the key either."""
    fields = {
        **_fields(entry),
        "sequence": entry.sequence,
        "hash_version": entry.hash_version,
        "key_id": entry.key_id,
    }
    message = _KEYED_CONTEXT + entry.previous_hash.encode() + b"\n" + _json(fields)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def record(session: AsyncSession, event: AuditEvent) -> AuditEntry:
    """Append an entry in the caller's transaction: it commits or rolls back with the
    change it describes."""
    keys = chain_keys_for(session)
    repository = AuditRepository(session)
    head = await repository.lock_chain_head()
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
        sequence=1 if head is None else head.sequence + 1,
        previous_hash=GENESIS_HASH if head is None else head.entry_hash,
        hash_version=KEYED_HASH,
        key_id=keys.active,
    )
    entry.entry_hash = keyed_hash(entry, keys.active_key)
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


async def list_entries(
    session: AsyncSession,
    principal: Principal,
    stream: AuditStream,
    filters: AuditFilter,
    *,
    before_id: int | None,
    limit: int,
) -> Sequence[AuditEntry]:
    """The entries of ``stream`` that ``filters`` select, newest first: the organisation
    stream is the caller's organisation's, the platform stream that of no organisation.
    The caller must hold the stream's scope."""
    scoped = replace(
        filters,
        organisation_id=principal.organisation_id if stream == "organisation" else None,
        platform_stream=stream == "platform",
    )
    return await AuditRepository(session).list(scoped, before_id=before_id, limit=limit)
