"""Verify the audit chain, and the chain against its checkpoints.

What each check finds:

* an entry whose hash is not its HMAC under the chain key: **modified** (or **re-hashed**
  when the hash is the unkeyed SHA-256 of the old scheme, or a legacy-format entry follows
  keyed ones: someone recomputed the chain without the key);
* a missing sequence number or a broken link: **deleted** (oldest entries count only when
  no retention record names the new first link);
* a checkpointed entry whose hash changed although its HMAC is valid: **re-hashed** with
  the chain key after the checkpoint was written;
* a checkpoint beyond the newest entry, or whose sequence now belongs to an entry written
  after it: **truncated** (newest entries deleted, and maybe new ones appended since);
* a checkpoint line that does not parse or whose signature does not match: **checkpoint**.

Consecutive entries with the same finding are reported as one range.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.checkpoints import Checkpoint, CheckpointLine, read_checkpoint_file
from astroshield.audit.keys import chain_keys_for
from astroshield.audit.models import AuditEntry
from astroshield.audit.repository import AuditRepository
from astroshield.audit.service import (
    GENESIS_HASH,
    KEYED_HASH,
    LEGACY_HASH,
    PRUNE_ACTION,
    keyed_hash,
    legacy_hash,
)
from astroshield.security.keys import KeyRing

MODIFIED = "modified"
REHASHED = "rehashed"
DELETED = "deleted"
TRUNCATED = "truncated"
CHECKPOINT = "checkpoint"
UNKNOWN_KEY = "unknown_key"


@dataclass
class Finding:
    kind: str
    detail: str
    entry_id: int | None = None
    sequence: int | None = None
    # The end of a range of consecutive entries with the same finding.
    last_entry_id: int | None = None
    last_sequence: int | None = None

    def describe(self) -> str:
        where = ""
        if self.entry_id is not None:
            if self.last_entry_id is not None and self.last_entry_id != self.entry_id:
                where = (
                    f"entries {self.entry_id}-{self.last_entry_id} "
                    f"(sequence {self.sequence}-{self.last_sequence}): "
                )
            else:
                where = f"entry {self.entry_id} (sequence {self.sequence}): "
        return f"{self.kind.upper()}: {where}{self.detail}"


@dataclass
class ChainReport:
    entries_checked: int
    findings: list[Finding] = field(default_factory=list)
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_id(self) -> int | None:
        return next((f.entry_id for f in self.findings if f.entry_id is not None), None)

    @property
    def problem(self) -> str | None:
        return self.findings[0].detail if self.findings else None

    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}


class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, kind: str, detail: str, entry: AuditEntry | None = None) -> None:
        last = self.items[-1] if self.items else None
        if (
            entry is not None
            and last is not None
            and last.kind == kind
            and last.detail == detail
            and last.last_sequence is not None
            and last.last_sequence + 1 == entry.sequence
        ):
            last.last_entry_id, last.last_sequence = entry.id, entry.sequence
            return
        if entry is None:
            self.items.append(Finding(kind, detail))
        else:
            self.items.append(
                Finding(kind, detail, entry.id, entry.sequence, entry.id, entry.sequence)
            )


def _check_own_hash(entry: AuditEntry, keys: KeyRing, seen_keyed: bool) -> tuple[str, str] | None:
    """(kind, detail) if the entry's own hash is wrong, else None."""
    if entry.hash_version == KEYED_HASH:
        key = keys.get(entry.key_id or "")
        if key is None:
            return UNKNOWN_KEY, (
                f"made with chain key {entry.key_id!r}, which the audit key file does not "
                "hold: it cannot be verified"
            )
        if hmac.compare_digest(keyed_hash(entry, key), entry.entry_hash):
            return None
        if hmac.compare_digest(legacy_hash(entry), entry.entry_hash):
            return REHASHED, "hash is the unkeyed SHA-256, not the chain key's HMAC: recomputed"
        return MODIFIED, "entry was modified (hash mismatch)"
    if entry.hash_version == LEGACY_HASH:
        if seen_keyed:
            return REHASHED, "unkeyed entry after keyed ones: inserted or downgraded"
        if hmac.compare_digest(legacy_hash(entry), entry.entry_hash):
            return None
        return MODIFIED, "entry was modified (hash mismatch)"
    return MODIFIED, f"unknown hash version {entry.hash_version}"


def _when(checkpoint: Checkpoint, source: str) -> str:
    return f"checkpoint of {checkpoint.at.isoformat(timespec='seconds')} ({source})"


class _ChainWalk:
    """One pass over the chain, oldest first, keeping only the two entries a link needs."""

    def __init__(self, keys: KeyRing, checkpoints: Iterable[CheckpointLine]) -> None:
        self.keys = keys
        self.findings = _Findings()
        self.pending: dict[int, list[tuple[Checkpoint, str]]] = defaultdict(list)
        self.checkpoints_checked = 0
        self.checked = 0
        self.previous: AuditEntry | None = None
        self.first: AuditEntry | None = None
        self.first_previous_hash: str | None = None
        self.anchors: set[str] = set()
        self.seen_keyed = False
        for line in checkpoints:
            if line.checkpoint is None:
                self.findings.add(CHECKPOINT, f"{line.source}: {line.problem}")
            else:
                self.pending[line.checkpoint.sequence].append((line.checkpoint, line.source))

    def visit(self, entry: AuditEntry) -> None:
        self.checked += 1
        problem = _check_own_hash(entry, self.keys, self.seen_keyed)
        if problem is not None:
            self.findings.add(*problem, entry)
        self.seen_keyed = self.seen_keyed or entry.hash_version == KEYED_HASH
        if self.previous is None:
            self.first, self.first_previous_hash = entry, entry.previous_hash
        else:
            self._check_link(self.previous, entry)
        for checkpoint, source in self.pending.pop(entry.sequence, ()):
            self.checkpoints_checked += 1
            # An entry whose own hash is already wrong is reported; a valid HMAC that
            # differs from the checkpointed hash was recomputed with the key.
            if problem is None and entry.entry_hash != checkpoint.head_hash:
                self._checkpoint_differs(entry, checkpoint, source)
        if entry.action == PRUNE_ACTION and isinstance(entry.details.get("anchor_hash"), str):
            self.anchors.add(entry.details["anchor_hash"])
        self.previous = entry

    def _check_link(self, previous: AuditEntry, entry: AuditEntry) -> None:
        missing = entry.sequence - previous.sequence - 1
        if missing > 0:
            self.findings.add(
                DELETED,
                f"{missing} entr{'y' if missing == 1 else 'ies'} deleted before it "
                f"(sequence {previous.sequence + 1}-{entry.sequence - 1} missing)",
                entry,
            )
        elif missing < 0:
            self.findings.add(MODIFIED, "sequence number out of order", entry)
        elif entry.previous_hash != previous.entry_hash:
            self.findings.add(
                DELETED, "link broken: an earlier entry was deleted or replaced", entry
            )

    def _checkpoint_differs(self, entry: AuditEntry, checkpoint: Checkpoint, source: str) -> None:
        if entry.occurred_at > checkpoint.at:
            # Written after the checkpoint, so not the entry it saw: the newest entries
            # were deleted and the service has been appending since.
            self.findings.add(
                TRUNCATED,
                f"the newest entries were deleted after the {_when(checkpoint, source)}"
                ": its sequence now belongs to an entry written later",
                entry,
            )
        else:
            self.findings.add(
                REHASHED,
                f"hash differs from the {_when(checkpoint, source)}: the chain was "
                "recomputed with the chain key after it was checkpointed",
                entry,
            )

    def finish(self) -> ChainReport:
        anchored = self.first_previous_hash in self.anchors
        if self.first is not None and self.first_previous_hash != GENESIS_HASH and not anchored:
            self.findings.add(
                DELETED, "the oldest entries were deleted without a retention record", self.first
            )
        head_sequence = 0 if self.previous is None else self.previous.sequence
        beyond: list[tuple[Checkpoint, str]] = []
        for sequence, entries in self.pending.items():
            # Checkpoints at or below the head that matched no entry are accounted for:
            # before the first entry they were removed by retention (when the first link
            # is anchored; otherwise reported above) or saw the empty chain; inside a
            # sequence gap they are part of a deletion already reported.
            self.checkpoints_checked += len(entries)
            if sequence > head_sequence:
                beyond.extend(entries)
        if beyond:
            newest, source = max(beyond, key=lambda item: item[0].sequence)
            self.findings.add(
                TRUNCATED,
                f"the newest entries were deleted: the {_when(newest, source)} recorded "
                f"sequence {newest.sequence}, the log now ends at sequence {head_sequence} "
                f"({newest.sequence - head_sequence} missing)",
            )
        return ChainReport(self.checked, self.findings.items, self.checkpoints_checked)


async def verify_chain(
    session: AsyncSession, checkpoints: Iterable[CheckpointLine] = ()
) -> ChainReport:
    """Check every entry, every link, and the chain against ``checkpoints``."""
    walk = _ChainWalk(chain_keys_for(session), checkpoints)
    # Bounded memory: the repository lets the session forget entries after each batch.
    async for entry in AuditRepository(session).iterate():
        walk.visit(entry)
    return walk.finish()


async def verify_against_files(session: AsyncSession, paths: Iterable[Path]) -> ChainReport:
    """``verify_chain`` with the checkpoints of every file in ``paths`` (a missing file is
    a note: without checkpoints deleted newest entries cannot be found)."""
    keys = chain_keys_for(session)
    lines: list[CheckpointLine] = []
    notes: list[str] = []
    for path in paths:
        read = await asyncio.to_thread(read_checkpoint_file, path, keys)
        if read is None:
            notes.append(f"no checkpoint file at {path}")
        else:
            lines.extend(read)
    report = await verify_chain(session, lines)
    if not lines:
        notes.append("no checkpoints: deletion of the newest entries cannot be detected")
    report.notes.extend(notes)
    return report
