"""Key material for PII encryption: the KEK ring and the blind-index key.

Keys never come from the database (a database dump must not carry the means to read the
PII in it, ASVS 5.0 V11.1 / V13.3). They come from settings values or from a key file:

* settings: ``ASTROSHIELD_PII_KEYS="k1:BASE64URL,k2:BASE64URL"`` plus
  ``ASTROSHIELD_PII_ACTIVE_KEY=k2``;
* key file: JSON ``{"active": "k2", "keys": {"k1": "BASE64URL", "k2": "BASE64URL"}}``,
  mode 0600 or 0400 (anything group/world accessible is refused);
* the blind-index key (``ASTROSHIELD_PII_INDEX_KEY``) is a separate 32-byte key and must
  differ from every KEK.

Every key is 32 random bytes (AES-256), base64url encoded, padding optional. Errors name
the key version or the setting at fault, never the key material.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, Protocol

__all__ = [
    "KEY_BYTES",
    "KeyMaterialError",
    "KeyRing",
    "PiiKeyConfig",
    "PiiKeySettings",
    "SecretLike",
    "decode_key",
    "encode_key",
    "generate_key",
    "generate_keyring",
    "is_valid_key_id",
    "load_index_key",
    "load_keyring",
    "load_keyring_file",
    "parse_keyring",
]

KEY_BYTES: Final = 32  # AES-256 KEKs, and a full-strength HMAC-SHA256 key for the index
# Version ids go into tokens ("v1.<kid>.…") and settings ("kid:key,…"), so they may not
# contain ".", ":" or ","; short and ASCII-only keeps them unambiguous everywhere.
_KEY_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}", re.ASCII)
# A key file holds a handful of 44-character keys; anything much larger is not one.
_MAX_KEY_FILE_BYTES: Final = 64 * 1024


class KeyMaterialError(ValueError):
    """Key material is missing, malformed, of the wrong length or insecurely stored.

    Messages name the key version, setting or file at fault and never include key bytes.
    """


class SecretLike(Protocol):
    """Anything that hands out a secret string on request (e.g. pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def _reveal(value: str | SecretLike) -> str:
    return value if isinstance(value, str) else value.get_secret_value()


def is_valid_key_id(key_id: str) -> bool:
    return _KEY_ID_RE.fullmatch(key_id) is not None


def _check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not is_valid_key_id(key_id):
        # repr() of an invalid id is safe: ids are labels, not secrets.
        raise KeyMaterialError(
            f"invalid key version id {key_id!r}: use 1-32 characters from [A-Za-z0-9_-]"
        )
    return key_id


def decode_key(encoded: str, *, name: str = "key") -> bytes:
    """Decode one base64url key (padding optional) and check it is exactly 32 bytes.

    ``name`` says which key failed (e.g. ``"k2"``) so the error can be acted on without
    quoting the value.
    """
    text = encoded.strip()
    if not _B64URL_RE.fullmatch(text):
        raise KeyMaterialError(f"{name}: not base64url (alphabet A-Z a-z 0-9 - _)")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{name}: not valid base64url") from None
    if len(raw) != KEY_BYTES:
        raise KeyMaterialError(f"{name}: must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def encode_key(key: bytes) -> str:
    """Unpadded base64url, the form settings and key files expect."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def generate_key() -> bytes:
    """A fresh 32-byte key from the OS CSPRNG (``secrets`` wraps ``os.urandom``)."""
    return secrets.token_bytes(KEY_BYTES)


class KeyRing(Mapping[str, bytes]):
    """KEK versions → 32-byte keys, with one active version that new values are wrapped
    under. Older versions stay so that existing tokens decrypt until they are re-wrapped.

    Immutable. ``repr`` shows versions only, so a key ring that ends up in a log line or
    a traceback does not leak keys.
    """

    __slots__ = ("_active", "_keys")

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        checked: dict[str, bytes] = {}
        for key_id, key in keys.items():
            _check_key_id(key_id)
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyMaterialError(f"{key_id}: a KEK must be exactly {KEY_BYTES} bytes")
            checked[key_id] = key
        if not checked:
            raise KeyMaterialError("the key ring holds no keys")
        _check_key_id(active)
        if active not in checked:
            raise KeyMaterialError(f"active key version {active!r} is not in the key ring")
        self._keys: Mapping[str, bytes] = MappingProxyType(checked)
        self._active: str = active

    @property
    def active(self) -> str:
        return self._active

    @property
    def active_key(self) -> bytes:
        return self._keys[self._active]

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def __getitem__(self, key_id: str) -> bytes:
        return self._keys[key_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(active={self._active!r}, versions={self.versions!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Refuse pickling: a pickled key ring in a cache or task queue is key material
        # written somewhere nobody audits.
        raise TypeError("KeyRing holds key material and cannot be pickled")


def generate_keyring(version: str = "k1") -> KeyRing:
    """A one-key ring of fresh random key material (tests, or ephemeral dev setups where
    losing the data on restart is acceptable)."""
    return KeyRing({version: generate_key()}, active=version)


def parse_keyring(spec: str | SecretLike, *, active: str) -> KeyRing:
    """Parse ``"k1:BASE64URL,k2:BASE64URL"`` (whitespace around entries ignored)."""
    keys: dict[str, bytes] = {}
    text = _reveal(spec).strip()
    if not text:
        raise KeyMaterialError("the PII key setting is empty")
    for position, entry in enumerate(text.split(","), start=1):
        key_id, sep, encoded = entry.strip().partition(":")
        if not sep:
            raise KeyMaterialError(f"entry {position} is not of the form 'id:base64url'")
        key_id = _check_key_id(key_id.strip())
        if key_id in keys:
            raise KeyMaterialError(f"key version {key_id!r} appears more than once")
        keys[key_id] = decode_key(encoded, name=f"key {key_id!r}")
    return KeyRing(keys, active=active.strip())


def load_keyring_file(path: str | os.PathLike[str], *, kind: str = "PII key file") -> KeyRing:
    """Load ``{"active": "k2", "keys": {"k1": "…", "k2": "…"}}`` from a private file
    (``kind`` names it in errors: the audit chain's keys use the same format).

    The file is refused if it is not a regular file, or if group or others have any
    permission on it: a key file others can read has leaked, and one others can write
    lets them choose the key new PII is encrypted under.
    """
    file_path = Path(path)
    try:
        document = read_private_json(file_path, kind=kind, max_bytes=_MAX_KEY_FILE_BYTES)
    except FileNotFoundError as exc:
        raise KeyMaterialError(f"cannot open {kind} {file_path}: {exc.strerror or exc}") from None
    return _keyring_from_document(document, source=str(file_path))


def read_private_json(
    path: Path, *, kind: str, max_bytes: int, follow_links: bool = True
) -> object:
    """The JSON document of a private key file; ``kind`` names the file in errors.

    Refused (``KeyMaterialError``) unless it is a regular file no one but its owner may
    read or write, at most ``max_bytes`` long, and UTF-8 JSON. A missing file raises
    ``FileNotFoundError`` so a caller that creates the file on first use can tell.
    """
    # One descriptor for both the permission check and the read, so the file checked is
    # the file read (no swap between stat and open). O_NONBLOCK so that a FIFO planted at
    # the path is refused below instead of hanging start-up. Links are followed only where
    # the operator chose the path (mounted secrets are often links).
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyMaterialError(f"cannot open {kind} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyMaterialError(f"{kind} {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyMaterialError(
                f"{kind} {path} has mode {mode:04o}: it must not be readable or "
                f"writable by group or others (chmod 600 {path})"
            )
        raw = _read_limited(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise KeyMaterialError(f"{kind} {path} is larger than a key file can be")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # No chaining: JSONDecodeError carries the whole document (the keys) in ``.doc``.
        raise KeyMaterialError(f"{kind} {path} is not valid UTF-8 JSON") from None


def _read_limited(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, limit - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _keyring_from_document(document: object, *, source: str) -> KeyRing:
    if not isinstance(document, dict):
        raise KeyMaterialError(f"{source}: expected a JSON object with 'active' and 'keys'")
    unknown = sorted(set(document) - {"active", "keys"})
    if unknown:
        # Unknown fields are more likely a typo ("activ") than something safe to ignore.
        raise KeyMaterialError(f"{source}: unexpected fields {unknown!r}")
    active = document.get("active")
    entries = document.get("keys")
    if not isinstance(active, str):
        raise KeyMaterialError(f"{source}: 'active' must be a key version string")
    if not isinstance(entries, dict) or not entries:
        raise KeyMaterialError(f"{source}: 'keys' must be a non-empty object")
    keys: dict[str, bytes] = {}
    for key_id, encoded in entries.items():
        _check_key_id(key_id)
        if not isinstance(encoded, str):
            raise KeyMaterialError(f"{source}: key {key_id!r} must be a base64url string")
        keys[key_id] = decode_key(encoded, name=f"{source}: key {key_id!r}")
    return KeyRing(keys, active=active)


class PiiKeySettings(Protocol):
    """The settings fields key loading reads (``astroshield.config.Settings`` has them)."""

    @property
    def pii_keys(self) -> SecretLike | None: ...
    @property
    def pii_active_key(self) -> str | None: ...
    @property
    def pii_keys_file(self) -> Path | None: ...
    @property
    def pii_index_key(self) -> SecretLike | None: ...


@dataclass(frozen=True, slots=True)
class PiiKeyConfig:
    """Where PII keys come from: either ``keys`` + ``active_key`` or ``keys_file``.

    Secret fields are excluded from ``repr`` so the config can be logged safely.
    """

    keys: str | SecretLike | None = field(default=None, repr=False)
    active_key: str | None = None
    keys_file: Path | None = None
    index_key: str | SecretLike | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: PiiKeySettings) -> PiiKeyConfig:
        return cls(
            keys=settings.pii_keys,
            active_key=settings.pii_active_key,
            keys_file=settings.pii_keys_file,
            index_key=settings.pii_index_key,
        )


def load_keyring(config: PiiKeyConfig) -> KeyRing:
    """The KEK ring from exactly one source: the key file or the settings value."""
    has_inline = config.keys is not None and _reveal(config.keys).strip() != ""
    if config.keys_file is not None and has_inline:
        # Two sources would leave it unclear which one rotation has to update.
        raise KeyMaterialError("set either the PII keys value or the PII key file, not both")
    if config.keys_file is not None:
        if config.active_key is not None:
            raise KeyMaterialError(
                "the active PII key comes from the key file's 'active' field; "
                "do not also set the active key setting"
            )
        return load_keyring_file(config.keys_file)
    if config.keys is None or not has_inline:
        raise KeyMaterialError("no PII keys configured (keys value or key file)")
    if not config.active_key:
        raise KeyMaterialError("the PII keys value is set but the active key version is not")
    return parse_keyring(config.keys, active=config.active_key)


def load_index_key(config: PiiKeyConfig, *, keyring: KeyRing | None = None) -> bytes:
    """The blind-index HMAC key; refused if it equals one of ``keyring``'s KEKs.

    The index key is deliberately separate from the KEKs: KEKs rotate by re-wrapping,
    while rotating the index key means recomputing every stored index. Reusing a KEK as
    the index key would also put one key to two cryptographic uses.
    """
    if config.index_key is None or not _reveal(config.index_key).strip():
        raise KeyMaterialError("no PII blind-index key configured")
    key = decode_key(_reveal(config.index_key), name="PII blind-index key")
    if keyring is not None:
        for key_id in keyring:
            if hmac.compare_digest(key, keyring[key_id]):
                raise KeyMaterialError(
                    f"the PII blind-index key must differ from the KEKs (equals {key_id!r})"
                )
    return key
