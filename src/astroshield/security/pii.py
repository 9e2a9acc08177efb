"""Envelope encryption and blind indexes for PII fields (ASVS 5.0 V11.3, V14.2).

Each value gets its own random 256-bit data key (DEK). The value is encrypted under the
DEK with AES-256-GCM; the DEK is wrapped (AES-256-GCM too) under the active key-encryption
key (KEK) of a :class:`~astroshield.security.keys.KeyRing`. Rotating a KEK therefore only
re-wraps 32-byte DEKs (:func:`rewrap`); the value's ciphertext never changes.

Token (ASCII, fits a TEXT/VARCHAR column; base64url without padding)::

    v1.<kek_version>.<wrapped_dek>.<nonce>.<ciphertext>

    wrapped_dek = wrap_nonce(12) || AES-GCM(KEK, wrap_nonce, DEK, wrap_aad)  -> 60 bytes
    nonce       = 12 random bytes
    ciphertext  = AES-GCM(DEK, nonce, UTF-8 plaintext, data_aad)  (includes the 16-byte tag)

    data_aad = frame("astroshield/pii/v1/data", aad)
    wrap_aad = frame("astroshield/pii/v1/wrap", kek_version, aad)

``frame`` length-prefixes every part, so no two different inputs give the same bytes.
``aad`` is the caller's associated data, normally :func:`associated_data` of table, column
and row id: a token copied to another row or column fails authentication, and so does a
wrapped DEK spliced into another token. The KEK version is authenticated by the wrap
layer only, so re-wrapping leaves the data layer untouched.

Limits: random 96-bit nonces under one key are safe for 2**32 encryptions (NIST SP
800-38D §8.3). Every DEK encrypts exactly one value, and each KEK wraps one DEK per
encrypted value, so rotate the KEK well before 2**32 values have been written under it.

Nothing here logs, and no error message carries plaintext, DEKs or KEKs. Python cannot
wipe ``bytes`` from memory, so DEKs live until garbage collection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from astroshield.security.keys import KEY_BYTES, KeyRing, is_valid_key_id

__all__ = [
    "FORMAT_VERSION",
    "MAX_PLAINTEXT_BYTES",
    "KeyRing",
    "Normalizer",
    "PiiDecryptionError",
    "associated_data",
    "blind_index",
    "blind_index_matches",
    "decrypt",
    "encrypt",
    "kek_version",
    "max_token_length",
    "needs_rewrap",
    "normalize_email",
    "normalize_phone",
    "normalize_text",
    "rewrap",
]

FORMAT_VERSION: Final = "v1"
# PII fields are names, e-mail addresses and phone numbers; the cap keeps a hostile or
# buggy caller from pushing megabytes through the cipher (and the token into a column).
MAX_PLAINTEXT_BYTES: Final = 64 * 1024

_NONCE_BYTES: Final = 12  # 96-bit GCM nonce, the size GCM is specified and analysed for
_TAG_BYTES: Final = 16
_DEK_BYTES: Final = 32
_WRAPPED_DEK_BYTES: Final = _NONCE_BYTES + _DEK_BYTES + _TAG_BYTES
_DATA_LABEL: Final = b"astroshield/pii/v1/data"
_WRAP_LABEL: Final = b"astroshield/pii/v1/wrap"
_AAD_LABEL: Final = b"astroshield/pii/aad/v1"
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)

ErrorReason = Literal["malformed", "unknown_key_version", "authentication_failed"]
Normalizer = Callable[[str], str]


class PiiDecryptionError(Exception):
    """A PII token could not be decrypted or re-wrapped.

    ``reason`` is one of ``"malformed"``, ``"unknown_key_version"`` or
    ``"authentication_failed"`` (tampered token, wrong key, or associated data that does
    not match: e.g. the token was moved to another row or column). The message never
    contains plaintext or key material.
    """

    def __init__(self, reason: ErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: ErrorReason = reason


@dataclass(frozen=True, slots=True)
class _Token:
    kek_version: str
    wrapped_dek_b64: str
    nonce_b64: str
    ciphertext_b64: str
    wrap_nonce: bytes
    wrapped_dek: bytes  # AES-GCM ciphertext || tag of the DEK, without the wrap nonce
    nonce: bytes
    ciphertext: bytes


def _frame(*parts: bytes) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded base64url: only the canonical encoding of some bytes is accepted.

    Without the canonical check a flipped bit in the unused low bits of the last
    character would decode to the same bytes, i.e. a modified token would still decrypt.
    """
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise PiiDecryptionError("malformed", "PII token is malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise PiiDecryptionError("malformed", "PII token is malformed") from None
    if _b64encode(raw) != text:
        raise PiiDecryptionError("malformed", "PII token is malformed")
    return raw


def _b64len(n: int) -> int:
    return (4 * n + 2) // 3


def max_token_length(plaintext_bytes: int, *, kek_version_chars: int = 32) -> int:
    """Longest token for a UTF-8 plaintext of ``plaintext_bytes`` (column sizing).

    E.g. a 254-byte e-mail under a 2-character version id: ``max_token_length(254,
    kek_version_chars=2)`` = 468.
    """
    return (
        len(FORMAT_VERSION)
        + 1
        + kek_version_chars
        + 1
        + _b64len(_WRAPPED_DEK_BYTES)
        + 1
        + _b64len(_NONCE_BYTES)
        + 1
        + _b64len(plaintext_bytes + _TAG_BYTES)
    )


_MAX_TOKEN_CHARS: Final = max_token_length(MAX_PLAINTEXT_BYTES)


def _parse(token: str) -> _Token:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        raise PiiDecryptionError("malformed", "PII token is malformed")
    parts = token.split(".")
    if len(parts) != 5:
        raise PiiDecryptionError("malformed", "PII token is malformed")
    version, kek, wrapped_b64, nonce_b64, ciphertext_b64 = parts
    if version != FORMAT_VERSION:
        raise PiiDecryptionError("malformed", "PII token has an unsupported format version")
    if not is_valid_key_id(kek):
        raise PiiDecryptionError("malformed", "PII token is malformed")
    wrapped = _b64decode(wrapped_b64)
    nonce = _b64decode(nonce_b64)
    ciphertext = _b64decode(ciphertext_b64)
    if (
        len(wrapped) != _WRAPPED_DEK_BYTES
        or len(nonce) != _NONCE_BYTES
        or len(ciphertext) < _TAG_BYTES
    ):
        raise PiiDecryptionError("malformed", "PII token is malformed")
    return _Token(
        kek_version=kek,
        wrapped_dek_b64=wrapped_b64,
        nonce_b64=nonce_b64,
        ciphertext_b64=ciphertext_b64,
        wrap_nonce=wrapped[:_NONCE_BYTES],
        wrapped_dek=wrapped[_NONCE_BYTES:],
        nonce=nonce,
        ciphertext=ciphertext,
    )


def _check_aad(aad: bytes) -> bytes:
    if not isinstance(aad, bytes):
        raise TypeError("aad must be bytes (see associated_data())")
    if not aad:
        # Empty associated data would make tokens freely movable between rows/columns.
        raise ValueError("aad must not be empty: bind the value to its row and column")
    return aad


def _kek_for(keyring: KeyRing, version: str) -> bytes:
    try:
        return keyring[version]
    except KeyError:
        # The version id is a label, not a secret; naming it tells operators which key
        # is missing from the ring.
        raise PiiDecryptionError(
            "unknown_key_version", f"PII token uses unknown key version {version!r}"
        ) from None


def _wrap(dek: bytes, *, kek: bytes, version: str, aad: bytes) -> str:
    wrap_nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(kek).encrypt(wrap_nonce, dek, _frame(_WRAP_LABEL, version.encode(), aad))
    return _b64encode(wrap_nonce + sealed)


def _unwrap(token: _Token, *, keyring: KeyRing, aad: bytes) -> bytes:
    kek = _kek_for(keyring, token.kek_version)
    try:
        dek = AESGCM(kek).decrypt(
            token.wrap_nonce,
            token.wrapped_dek,
            _frame(_WRAP_LABEL, token.kek_version.encode(), aad),
        )
    except InvalidTag:
        raise PiiDecryptionError(
            "authentication_failed",
            "PII token failed authentication (tampered, wrong key, or wrong row/column)",
        ) from None
    return dek


def associated_data(table: str, column: str, row_id: str | int | uuid.UUID) -> bytes:
    """Associated data binding a value to ``table.column`` of one row.

    ``row_id`` must be known before encryption (client-generated UUID primary keys) and
    passed in the same form on decryption: ints and UUIDs are rendered canonically
    (``str``), strings are used as given.
    """
    if isinstance(row_id, bool) or not isinstance(row_id, str | int | uuid.UUID):
        raise TypeError("row_id must be a str, int or UUID")
    rendered = str(row_id)
    if not table or not column or not rendered:
        raise ValueError("table, column and row_id must be non-empty")
    return _frame(_AAD_LABEL, table.encode(), column.encode(), rendered.encode())


def encrypt(plaintext: str, *, aad: bytes, keyring: KeyRing) -> str:
    """Encrypt ``plaintext`` under a fresh DEK wrapped with ``keyring``'s active KEK."""
    if not isinstance(plaintext, str):
        raise TypeError("plaintext must be str")
    _check_aad(aad)
    data = plaintext.encode("utf-8")
    if len(data) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"PII value longer than {MAX_PLAINTEXT_BYTES} bytes")
    dek = AESGCM.generate_key(bit_length=_DEK_BYTES * 8)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(nonce, data, _frame(_DATA_LABEL, aad))
    version = keyring.active
    wrapped = _wrap(dek, kek=keyring.active_key, version=version, aad=aad)
    return ".".join((FORMAT_VERSION, version, wrapped, _b64encode(nonce), _b64encode(ciphertext)))


def decrypt(token: str, *, aad: bytes, keyring: KeyRing) -> str:
    """Decrypt a token from :func:`encrypt`; raises :class:`PiiDecryptionError`."""
    _check_aad(aad)
    parsed = _parse(token)
    dek = _unwrap(parsed, keyring=keyring, aad=aad)
    try:
        data = AESGCM(dek).decrypt(parsed.nonce, parsed.ciphertext, _frame(_DATA_LABEL, aad))
        return data.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise PiiDecryptionError(
            "authentication_failed",
            "PII token failed authentication (tampered, wrong key, or wrong row/column)",
        ) from None


def rewrap(token: str, *, aad: bytes, keyring: KeyRing, to_version: str | None = None) -> str:
    """Re-wrap the token's DEK under ``to_version`` (default: the active KEK).

    Only the DEK is unwrapped (authenticating the wrap layer, old KEK and ``aad``); the
    value's nonce and ciphertext are copied unchanged, and the plaintext is never
    produced. A token already under the target version is returned as it is, so a
    rotation job can run repeatedly without rewriting rows.
    """
    _check_aad(aad)
    target = keyring.active if to_version is None else to_version
    if target not in keyring:
        raise ValueError(f"target key version {target!r} is not in the key ring")
    parsed = _parse(token)
    dek = _unwrap(parsed, keyring=keyring, aad=aad)
    if parsed.kek_version == target:
        return token
    wrapped = _wrap(dek, kek=keyring[target], version=target, aad=aad)
    return ".".join((FORMAT_VERSION, target, wrapped, parsed.nonce_b64, parsed.ciphertext_b64))


def kek_version(token: str) -> str:
    """The KEK version a token's DEK is wrapped under (format checked, nothing decrypted)."""
    return _parse(token).kek_version


def needs_rewrap(token: str, keyring: KeyRing) -> bool:
    """Whether the token is wrapped under a KEK other than ``keyring``'s active one."""
    return kek_version(token) != keyring.active


# --- blind index -------------------------------------------------------------------------
#
# The index key is NOT a KEK and is not derived from one (see keys.load_index_key). KEKs
# rotate by re-wrapping; rotating the index key, or changing a normaliser, changes every
# index value, so all stored indexes must be recomputed from the decrypted values (e.g.
# dual-write a new index column, backfill, switch lookups, drop the old one). Use one
# index key per indexed column, or accept that equal values in two columns share an index.


def normalize_email(value: str) -> str:
    """Strip surrounding whitespace, NFC-normalise and case-fold.

    Case-folding the local part departs from RFC 5321 (which lets it be case-sensitive);
    no real mail system relies on that, and users type their address in varying case.
    """
    return unicodedata.normalize("NFC", value.strip().casefold())


def normalize_phone(value: str) -> str:
    """NFKC (full-width digits → ASCII), then drop spaces and ``-().`` separators."""
    folded = unicodedata.normalize("NFKC", value).strip()
    return re.sub(r"[\s\-().]", "", folded)


def normalize_text(value: str) -> str:
    """Names and similar: NFC, case-fold, collapse internal whitespace runs."""
    return " ".join(unicodedata.normalize("NFC", value.casefold()).split())


def blind_index(value: str, *, key: bytes, normalize: Normalizer = normalize_email) -> str:
    """HMAC-SHA256 of the normalised value under the index key, as 64 hex characters.

    Deterministic by design (that is what makes exact-match lookup possible), so it
    reveals which rows share a value; it is keyed so that, without the key, nobody can
    test guesses (e.g. a list of e-mail addresses) against the database.
    """
    if not isinstance(key, bytes) or len(key) < KEY_BYTES:
        raise ValueError(f"blind index key must be at least {KEY_BYTES} bytes")
    normalized = normalize(value)
    if not normalized:
        raise ValueError("cannot index an empty value")
    return hmac.new(key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()


def blind_index_matches(
    value: str, index: str, *, key: bytes, normalize: Normalizer = normalize_email
) -> bool:
    """Constant-time check of ``value`` against a stored index."""
    expected = blind_index(value, key=key, normalize=normalize)
    return hmac.compare_digest(expected.encode("ascii"), index.encode("ascii", "replace"))
