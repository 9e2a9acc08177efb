"""The audit log under retention: the oldest entries go, and the pruning is recorded.

The record names the new first link of the chain (``anchor_hash``), which is what
``audit verify`` starts from, so that what remains is still proved untouched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.repository import AuditRepository
from astroshield.audit.service import PRUNE_ACTION, Actor, record


async def prune(
    session: AsyncSession, before: datetime, *, dry_run: bool, batch: int, actor: Actor
) -> int:
    """Delete (or, on a dry run, count) the entries older than ``before``, oldest first
    and ``batch`` at a time; returns how many."""
    repository = AuditRepository(session)
    boundary = await repository.prune_boundary(before)
    if boundary is None:
        return 0
    if dry_run:
        return await repository.count_below(boundary)
    pruned = 0
    while True:
        deleted = await repository.delete_below(boundary, batch)
        pruned += deleted
        if deleted < batch:
            break
    if pruned:
        await record(
            session,
            actor.event(
                PRUNE_ACTION,
                anchor_hash=await repository.first_link(),
                deleted=pruned,
                cutoff=before.isoformat(),
            ),
        )
    return pruned
