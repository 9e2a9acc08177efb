"""The audit chain's keys: where they come from, and how code holding a session finds them.

Entries are HMAC-chained and checkpoints HMAC-signed with a key that is never stored in the
database, so someone who can only write the database cannot recompute a valid chain. The
key file has the PII key file's format (``{"active": "a2", "keys": {"a1": "…", "a2":
"…"}}``, mode 600): new entries use the active key, and every entry and checkpoint names
the key id it was made with, so older keys stay in the file to verify what they signed.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.config import Settings
from astroshield.db import settings_of
from astroshield.security.context import SecurityConfigError
from astroshield.security.keys import (
    KeyRing,
    encode_key,
    generate_key,
    load_keyring_file,
)
from astroshield.security.local_keys import local_secret

__all__ = [
    "audit_chain_key",
    "audit_chain_keys",
    "chain_keys_for",
    "new_key_id",
    "rotated",
    "write_chain_key_file",
]

# Key id of the dev/test key made when no key file is configured.
LOCAL_KEY_ID = "local"


def audit_chain_key(settings: Settings) -> tuple[str, bytes]:
    """The key new entries and checkpoints are made with: (key id, 32 bytes)."""
    keys = audit_chain_keys(settings)
    return keys.active, keys.active_key


def audit_chain_keys(settings: Settings) -> KeyRing:
    """Every chain key (the active one and retired ones that still verify)."""
    if settings.audit_key_file is not None:
        return load_keyring_file(settings.audit_key_file, kind="audit key file")
    if settings.profile == "prod":
        raise SecurityConfigError("ASTROSHIELD_AUDIT_KEY_FILE is required in prod")
    key = local_secret(settings, "audit-chain")
    return KeyRing({LOCAL_KEY_ID: key}, active=LOCAL_KEY_ID)


# Loaded once per engine: every session of one engine shares the deployment's key file.
_loaded: WeakKeyDictionary[Engine, KeyRing] = WeakKeyDictionary()


def chain_keys_for(session: AsyncSession) -> KeyRing:
    """The chain keys of the deployment whose database ``session`` is bound to."""
    engine = session.get_bind().engine
    keys = _loaded.get(engine)
    if keys is None:
        keys = _loaded[engine] = audit_chain_keys(settings_of(engine))
    return keys


def new_key_id(now: datetime | None = None) -> str:
    return f"a-{(now or datetime.now(UTC)):%Y%m%d%H%M%S}"


def rotated(keys: KeyRing, key_id: str | None = None) -> KeyRing:
    """``keys`` plus a fresh active key; the others stay to verify what they made."""
    key_id = key_id or new_key_id()
    if key_id in keys:
        raise ValueError(f"key id {key_id!r} is already in the key file")
    return KeyRing({**keys, key_id: generate_key()}, active=key_id)


def write_chain_key_file(path: Path, keys: KeyRing) -> None:
    """Write the key file (mode 600) by atomic replacement: a crash leaves the old file or
    the new one, never a file without the keys older entries need."""
    document = {"active": keys.active, "keys": {kid: encode_key(keys[kid]) for kid in keys}}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
