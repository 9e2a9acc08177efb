"""Random keys for a dev/test install that configured none, kept in one private local file.

A default install must not sign or encrypt with anything derived from a value published
in this repository: anyone could then mint a platform-admin token or decrypt its PII. So
when a key is not configured (dev and test only; prod refuses to start), a random key is
made for its purpose on first use and kept in ``ASTROSHIELD_LOCAL_KEYS_FILE`` (default
``.astroshield/keys.json``, mode 0600), so that a local database stays readable across
restarts. The file is JSON ``{"keys": {"<purpose>": "<base64url>", ...}}``; purposes are
free-form strings, each gets its own independent key.

Creation and additions are safe when several processes start at once (uvicorn workers,
test replicas): writers serialise on an exclusive lock of a sibling ``.lock`` file, re-read
under the lock, and replace the file atomically (private temporary file + rename), so a
reader sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

import structlog

from astroshield.security.keys import KeyMaterialError, read_private_json

__all__ = ["LocalKeyError", "LocalKeySettings", "local_secret", "write_private_file"]

log = structlog.get_logger(__name__)

_MAX_FILE_BYTES: Final = 64 * 1024
_MAX_PURPOSE_CHARS: Final = 64
_MIN_KEY_BYTES: Final = 16
_MAX_KEY_BYTES: Final = 1024


class LocalKeyError(RuntimeError):
    """The local key file cannot be used (insecure mode, not a file, corrupt). Messages name
    the file and the purpose, never key material."""


class LocalKeySettings(Protocol):
    @property
    def local_keys_file(self) -> Path: ...


def local_secret(settings: LocalKeySettings, purpose: str, length: int = 32) -> bytes:
    """The random key for ``purpose`` from the local key file, created on first use."""
    if not purpose or len(purpose) > _MAX_PURPOSE_CHARS or not purpose.isprintable():
        raise ValueError(f"a key purpose is 1-{_MAX_PURPOSE_CHARS} printable characters")
    if not _MIN_KEY_BYTES <= length <= _MAX_KEY_BYTES:
        raise ValueError(f"a local key is {_MIN_KEY_BYTES}-{_MAX_KEY_BYTES} bytes")
    path = Path(settings.local_keys_file)
    keys = _read(path)
    if keys is None or purpose not in keys:
        with _locked(path):
            # Another process may have written the key while this one waited.
            keys = _read(path)
            created = keys is None
            keys = dict(keys or {})
            if purpose not in keys:
                keys[purpose] = _encode(secrets.token_bytes(length))
                _write(path, keys)
                if created:
                    log.warning(
                        "local_keys_created",
                        path=str(path.resolve()),
                        hint="random development keys; keep this file private and out of "
                        "version control, configure real keys for production",
                    )
                else:
                    log.debug("local_key_added", purpose=purpose)
    key = _decode(keys[purpose], path=path, purpose=purpose)
    if len(key) != length:
        raise LocalKeyError(f"{path}: the {purpose!r} key is {len(key)} bytes, {length} are needed")
    return key


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: object, *, path: Path, purpose: str) -> bytes:
    if not isinstance(text, str):
        raise LocalKeyError(f"{path}: the {purpose!r} key is not a base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LocalKeyError(f"{path}: the {purpose!r} key is not valid base64url") from None


def _read(path: Path) -> dict[str, str] | None:
    """The file's keys, or None when there is no file yet. The file is refused if it is not
    a regular file or if group or others have any permission on it."""
    try:
        document = read_private_json(
            path, kind="the local key file", max_bytes=_MAX_FILE_BYTES, follow_links=False
        )
    except FileNotFoundError:
        return None
    except KeyMaterialError as exc:
        raise LocalKeyError(str(exc)) from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, dict):
        raise LocalKeyError(f"the local key file {path} has no 'keys' object")
    return keys


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, keys: dict[str, str]) -> None:
    write_private_file(path, json.dumps({"keys": keys}, indent=2, sort_keys=True).encode() + b"\n")


def write_private_file(path: Path, body: bytes) -> None:
    """Replace ``path`` with ``body`` atomically, readable by its owner only (0600) from
    the first byte: written to a fresh temporary file beside it, then renamed."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: a file planted at the temporary name is never written through.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
