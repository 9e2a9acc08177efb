"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint says "at time T the chain's newest entry was sequence S with hash H (N
entries)", HMAC-signed with the chain key. It is appended as one JSON line to a file
(opened O_APPEND, fsynced) and, when configured, sent to syslog, so that a copy can leave
the machine. ``audit verify`` then finds what the chain alone cannot show: newest entries
deleted (the head is behind a checkpoint) and a chain recomputed by someone holding the
key (a checkpointed entry's hash changed).

HMAC rather than a public-key signature: the verifier needs the chain key anyway to check
the entries' HMACs, and one key to protect is simpler than two.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.audit.keys import chain_keys_for
from astroshield.audit.repository import AuditRepository, ChainHead
from astroshield.audit.service import GENESIS_HASH
from astroshield.config import Settings
from astroshield.db import session_scope

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointLine",
    "CheckpointWriter",
    "FileSink",
    "SyslogSink",
    "encode_checkpoint",
    "parse_checkpoint",
    "read_checkpoint_file",
    "write_scheduled_checkpoint",
]

log = structlog.get_logger(__name__)

FORMAT_VERSION: Final = 1
_SIGNING_CONTEXT: Final = b"astroshield-audit-checkpoint/v1\n"
# A checkpoint line is ~300 bytes; anything far longer is not one (and is not read whole).
_MAX_LINE_BYTES: Final = 4096
SYSLOG_IDENT: Final = "astroshield-audit-checkpoint: "


class CheckpointError(RuntimeError):
    """A checkpoint could not be written to every sink."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    sequence: int  # of the newest entry; 0 for an empty chain
    entry_id: int | None
    head_hash: str
    entries: int
    at: datetime
    key_id: str
    reason: str

    def payload(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "sequence": self.sequence,
            "entry_id": self.entry_id,
            "head_hash": self.head_hash,
            "entries": self.entries,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id,
            "reason": self.reason,
        }


def _signature(payload: Mapping[str, Any], key: bytes) -> str:
    message = _SIGNING_CONTEXT + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def encode_checkpoint(checkpoint: Checkpoint, keys: Mapping[str, bytes]) -> str:
    """One JSON line (no newline), signed with the key ``checkpoint.key_id``."""
    payload = checkpoint.payload()
    signed = {**payload, "sig": _signature(payload, keys[checkpoint.key_id])}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class CheckpointLine:
    """One line read from a checkpoint source: a verified checkpoint, or why it is not."""

    source: str  # "file:line"
    checkpoint: Checkpoint | None
    problem: str | None = None


def _field(document: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = document.get(name)
    # bool is an int subclass; a sequence of true is not a sequence.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {name!r} is missing or of the wrong type")
    return value


def parse_checkpoint(text: str, keys: Mapping[str, bytes], *, source: str) -> CheckpointLine:
    """Parse and verify one line. Anything before the first ``{`` is ignored, so lines
    exported from a syslog collector (with their timestamp and ident) are read as well."""
    start = text.find("{")
    if start < 0:
        return CheckpointLine(source, None, "not a checkpoint (no JSON object)")
    try:
        # Syslog exports may keep a message's trailing NUL.
        document = json.loads(text[start:].rstrip("\x00\r\n "))
    except json.JSONDecodeError:
        return CheckpointLine(source, None, "not valid JSON (line damaged or edited)")
    if not isinstance(document, dict):
        return CheckpointLine(source, None, "not a checkpoint (not a JSON object)")
    try:
        if document.get("v") != FORMAT_VERSION:
            raise ValueError(f"unknown checkpoint format {document.get('v')!r}")
        signature = _field(document, "sig", str)
        key_id = _field(document, "key_id", str)
        sequence = _field(document, "sequence", int)
        entry_id = document.get("entry_id")
        if entry_id is not None and (not isinstance(entry_id, int) or isinstance(entry_id, bool)):
            raise ValueError("field 'entry_id' is of the wrong type")
        checkpoint = Checkpoint(
            sequence=sequence,
            entry_id=entry_id,
            head_hash=_field(document, "head_hash", str),
            entries=_field(document, "entries", int),
            at=datetime.fromisoformat(_field(document, "at", str)),
            key_id=key_id,
            reason=_field(document, "reason", str),
        )
        if sequence < 0 or checkpoint.at.tzinfo is None:
            raise ValueError("sequence or time out of range")
    except ValueError as exc:
        return CheckpointLine(source, None, f"not a valid checkpoint: {exc}")
    key = keys.get(key_id)
    if key is None:
        return CheckpointLine(
            source, None, f"signed with key id {key_id!r}, which the audit key file does not hold"
        )
    if not hmac.compare_digest(signature, _signature(checkpoint.payload(), key)):
        return CheckpointLine(source, None, "signature does not match: the line was altered")
    return CheckpointLine(source, checkpoint)


def read_checkpoint_file(path: Path, keys: Mapping[str, bytes]) -> list[CheckpointLine] | None:
    """Every checkpoint line of ``path`` (blank lines skipped); None if there is no file."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    lines: list[CheckpointLine] = []
    with handle:
        for number, raw in enumerate(_bounded_lines(handle), start=1):
            source = f"{path}:{number}"
            if raw is None:
                lines.append(CheckpointLine(source, None, "line too long to be a checkpoint"))
                continue
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                lines.append(parse_checkpoint(text, keys, source=source))
    return lines


def _bounded_lines(handle: Any) -> Iterator[bytes | None]:
    """Lines of at most _MAX_LINE_BYTES; a longer one yields None and is skipped whole."""
    while True:
        raw: bytes = handle.readline(_MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > _MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(_MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield raw


class CheckpointSink(Protocol):
    @property
    def name(self) -> str: ...

    def write(self, line: str) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """Appends to a private file: O_APPEND (each line one write, whole even with several
    writer processes), fsynced before the checkpoint counts as written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return str(self.path)

    def write(self, line: str) -> None:
        data = (line + "\n").encode()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        pass


class _RaisingSysLogHandler(logging.handlers.SysLogHandler):
    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        raise  # the error emit() is handling: the caller must know the line was not sent


class SyslogSink:
    """Sends each checkpoint as one syslog message (facility auth): to a local socket
    path such as /dev/log, or to "host:port" over UDP."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._handler: logging.handlers.SysLogHandler | None = None

    @property
    def name(self) -> str:
        return f"syslog {self.address}"

    def _open(self) -> logging.handlers.SysLogHandler:
        host, sep, port = self.address.rpartition(":")
        if sep and port.isdigit() and not self.address.startswith("/"):
            handler: logging.handlers.SysLogHandler = _RaisingSysLogHandler(
                address=(host, int(port)),
                facility=logging.handlers.SysLogHandler.LOG_AUTH,
                socktype=socket.SOCK_DGRAM,
            )
        else:
            handler = _RaisingSysLogHandler(
                address=self.address, facility=logging.handlers.SysLogHandler.LOG_AUTH
            )
        handler.ident = SYSLOG_IDENT
        handler.append_nul = False  # one JSON object per message, as in the file
        handler.setFormatter(logging.Formatter("%(message)s"))
        return handler

    def write(self, line: str) -> None:
        if self._handler is None:
            self._handler = self._open()
        record = logging.LogRecord(__name__, logging.INFO, __file__, 0, "%s", (line,), None)
        try:
            self._handler.emit(record)
        except OSError:
            # A closed or restarted syslog daemon: reconnect on the next checkpoint.
            self.close()
            raise

    def close(self) -> None:
        if self._handler is not None:
            handler, self._handler = self._handler, None
            handler.close()


class CheckpointWriter:
    """Signs the chain's current head and writes it to every sink."""

    def __init__(self, sinks: Sequence[CheckpointSink]) -> None:
        self.sinks = tuple(sinks)

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointWriter:
        sinks: list[CheckpointSink] = [FileSink(settings.audit_checkpoint_file)]
        if settings.audit_checkpoint_syslog:
            sinks.append(SyslogSink(settings.audit_checkpoint_syslog_address))
        return cls(sinks)

    async def write(
        self, session: AsyncSession, reason: str, *, head: ChainHead | None = None
    ) -> Checkpoint:
        """Checkpoint the head that ``session`` sees. Call it only where that head is
        committed (never after this session appended entries it has not committed yet):
        a checkpoint of an entry that is then rolled back would read as a truncation."""
        keys = chain_keys_for(session)
        repository = AuditRepository(session)
        head = head or await repository.head()
        checkpoint = Checkpoint(
            sequence=0 if head is None else head.sequence,
            entry_id=None if head is None else head.id,
            head_hash=GENESIS_HASH if head is None else head.entry_hash,
            entries=await repository.count(),
            at=datetime.now(UTC),
            key_id=keys.active,
            reason=reason,
        )
        line = encode_checkpoint(checkpoint, keys)
        failures: list[str] = []
        for sink in self.sinks:
            try:
                await asyncio.to_thread(sink.write, line)
            except OSError as exc:
                failures.append(f"{sink.name}: {exc.strerror or exc}")
        if failures:
            raise CheckpointError("audit checkpoint not written to " + "; ".join(failures))
        log.info(
            "audit_checkpoint_written",
            sequence=checkpoint.sequence,
            entries=checkpoint.entries,
            reason=reason,
        )
        return checkpoint

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


async def write_scheduled_checkpoint(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer: CheckpointWriter,
    last: ChainHead | None,
) -> ChainHead | None:
    """One scheduled cycle: checkpoint the head if it moved since ``last`` (what this
    process checkpointed before), on one replica at a time. Returns the new ``last``."""
    async with session_scope(sessionmaker) as session:
        repository = AuditRepository(session)
        if not await repository.try_checkpoint_lock():
            return last  # another replica checkpoints this cycle
        head = await repository.head()
        if head == last:
            return last
        if last is not None and (head is None or head.sequence < last.sequence):
            # The chain went backwards since this process last saw it: newest entries
            # were deleted. The earlier checkpoint keeps the evidence; say so now too.
            log.error(
                "audit_chain_regressed",
                checkpointed_sequence=last.sequence,
                head_sequence=None if head is None else head.sequence,
            )
        await writer.write(session, "interval", head=head)
        return head
