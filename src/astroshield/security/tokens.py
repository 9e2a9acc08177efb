"""JWT access and refresh tokens (RFC 8725 best current practice, RFC 9068 access tokens).

What a token must pass, in order, before its claims are believed:

* header ``alg`` on an explicit allow-list (EdDSA only: no ``none``, no HMAC that a public
  key could be abused as the secret of);
* header ``typ`` exactly the expected kind, so an access token is never accepted where a
  refresh token is required and the reverse;
* ``kid`` well formed and in our key ring (``jku``, ``x5u``, ``jwk`` and ``x5c`` headers
  are never followed: keys only ever come from our own configuration);
* a retired key only until its ``verify_until`` (rotation with overlap);
* signature, then ``exp``/``nbf``/``iat`` with a small leeway, and ``iss``/``aud`` compared
  for equality (not substring), ``sub`` and ``jti`` present.
"""

from __future__ import annotations

import json
import re
import secrets
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from astroshield.security.local_keys import write_private_file

ALLOWED_ALGORITHMS = ("EdDSA",)
TokenKind = Literal["access", "refresh"]
TOKEN_TYPES: dict[TokenKind, str] = {"access": "at+jwt", "refresh": "rt+jwt"}
_KID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class TokenError(Exception):
    """A token that must not be accepted. The message is safe to log, never to return."""


class KeyFileError(ValueError):
    pass


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None = None
    # A retired key verifies tokens until this moment, then nothing it signed is accepted.
    verify_until: datetime | None = None


@dataclass(frozen=True)
class KeyRing:
    keys: Mapping[str, SigningKey]
    active_kid: str

    def __post_init__(self) -> None:
        active = self.keys.get(self.active_kid)
        if active is None or active.private_key is None:
            raise KeyFileError(f"active key {self.active_kid!r} has no private key")

    @property
    def active(self) -> SigningKey:
        return self.keys[self.active_kid]

    @classmethod
    def generate(cls, kid: str | None = None) -> KeyRing:
        """A fresh one-key ring (dev, tests): tokens do not survive the process."""
        private = Ed25519PrivateKey.generate()
        kid = kid or f"ephemeral-{secrets.token_hex(4)}"
        return cls({kid: SigningKey(kid, private.public_key(), private)}, kid)

    def rotated(self, new_kid: str, *, overlap: timedelta, now: datetime) -> KeyRing:
        """A ring signing with a new key; the old active key verifies for ``overlap`` more."""
        private = Ed25519PrivateKey.generate()
        keys = dict(self.keys)
        old = keys[self.active_kid]
        keys[old.kid] = SigningKey(old.kid, old.public_key, None, now + overlap)
        keys[new_kid] = SigningKey(new_kid, private.public_key(), private)
        return KeyRing(keys, new_kid)


def _pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    if isinstance(key, Ed25519PrivateKey):
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def dump_key_ring(ring: KeyRing) -> str:
    entries: list[dict[str, Any]] = []
    for key in ring.keys.values():
        entry: dict[str, Any] = {"kid": key.kid, "public_key_pem": _pem(key.public_key)}
        if key.private_key is not None:
            entry["private_key_pem"] = _pem(key.private_key)
        if key.verify_until is not None:
            entry["verify_until"] = key.verify_until.isoformat()
        entries.append(entry)
    return json.dumps({"active": ring.active_kid, "keys": entries}, indent=2)


def write_key_ring(ring: KeyRing, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Never readable by others, not even for a moment, nor half-written on a crash.
    write_private_file(path, dump_key_ring(ring).encode())


def load_key_ring(path: Path) -> KeyRing:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by group or others; chmod 600 it")
    try:
        document = json.loads(path.read_text())
        keys: dict[str, SigningKey] = {}
        for entry in document["keys"]:
            kid = entry["kid"]
            if not _KID_RE.match(kid):
                raise KeyFileError(f"key id {kid!r} must match {_KID_RE.pattern}")
            private = None
            if "private_key_pem" in entry:
                loaded = serialization.load_pem_private_key(entry["private_key_pem"].encode(), None)
                if not isinstance(loaded, Ed25519PrivateKey):
                    raise KeyFileError(f"key {kid!r} is not an Ed25519 key")
                private = loaded
            public = serialization.load_pem_public_key(entry["public_key_pem"].encode())
            if not isinstance(public, Ed25519PublicKey):
                raise KeyFileError(f"key {kid!r} is not an Ed25519 key")
            until = entry.get("verify_until")
            keys[kid] = SigningKey(
                kid, public, private, datetime.fromisoformat(until) if until else None
            )
        return KeyRing(keys, document["active"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KeyFileError):
            raise
        raise KeyFileError(f"{path} is not a valid key file: {type(exc).__name__}") from None


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    token_id: str
    kind: TokenKind
    issued_at: datetime
    expires_at: datetime
    organisation_id: str
    role: str
    scopes: tuple[str, ...] = ()
    family_id: str | None = None
    # The account's token generation when the token was issued: raising it (password
    # change, deactivation) ends every access token issued before.
    generation: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenService:
    ring: KeyRing
    issuer: str
    audience: str
    access_ttl: timedelta
    refresh_ttl: timedelta
    leeway: timedelta = timedelta(seconds=30)

    def issue(
        self,
        kind: TokenKind,
        *,
        subject: str,
        organisation_id: str,
        role: str,
        scopes: Sequence[str] = (),
        family_id: str | None = None,
        generation: int = 0,
        now: datetime | None = None,
    ) -> tuple[str, TokenClaims]:
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        claims = TokenClaims(
            subject=subject,
            token_id=str(uuid.uuid4()),
            kind=kind,
            issued_at=now,
            expires_at=now + ttl,
            organisation_id=organisation_id,
            role=role,
            scopes=tuple(scopes),
            family_id=family_id,
            generation=generation,
        )
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "jti": claims.token_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "org": organisation_id,
            "role": role,
        }
        if kind == "access":
            payload["scope"] = " ".join(scopes)
            payload["gen"] = generation
        if family_id is not None:
            payload["fam"] = family_id
        key = self.ring.active
        assert key.private_key is not None  # guaranteed by KeyRing
        token = jwt.encode(
            payload,
            key.private_key,
            algorithm="EdDSA",
            headers={"kid": key.kid, "typ": TOKEN_TYPES[kind]},
        )
        return token, claims

    # A flat list of refusals (RFC 8725 checks, one per claim) read in the order of the
    # standard; each branch raises, none nests.
    def verify(  # noqa: C901
        self, token: str, kind: TokenKind, *, now: datetime | None = None
    ) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, TypeError, ValueError):
            raise TokenError("malformed token") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenError(f"algorithm {header.get('alg')!r} not allowed")
        if header.get("typ") != TOKEN_TYPES[kind]:
            raise TokenError(f"token type {header.get('typ')!r} is not {TOKEN_TYPES[kind]!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID_RE.match(kid):
            raise TokenError("missing or malformed key id")
        key = self.ring.keys.get(kid)
        if key is None:
            raise TokenError("unknown key id")
        current = now or datetime.now(UTC)
        if key.verify_until is not None and current > key.verify_until:
            raise TokenError("signing key retired")
        try:
            payload = jwt.decode(
                token,
                key.public_key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]},
            )
        except (jwt.PyJWTError, TypeError, ValueError, KeyError) as exc:
            # Malformed claims can surface as plain Python errors; all of them are refusals.
            raise TokenError(f"rejected: {type(exc).__name__}") from None
        # Belt and braces over the library: exact equality, whatever its version does.
        audience = payload["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if payload["iss"] != self.issuer or self.audience not in audiences:
            raise TokenError("issuer or audience mismatch")
        if not all(isinstance(payload.get(c), str) for c in ("sub", "jti", "org", "role")):
            raise TokenError("missing subject, id, organisation or role")
        generation = payload.get("gen", 0)
        if type(generation) is not int:  # bool is an int subclass, and no generation
            raise TokenError("malformed token generation")
        family = payload.get("fam")
        if family is not None and not isinstance(family, str):
            raise TokenError("malformed login id")
        scope = payload.get("scope", "")
        return TokenClaims(
            subject=payload["sub"],
            token_id=payload["jti"],
            kind=kind,
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            organisation_id=payload["org"],
            role=payload["role"],
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
            family_id=family,
            generation=generation,
        )
