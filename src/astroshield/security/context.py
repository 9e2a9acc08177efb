"""Security material of one running app, built once from settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from limits import RateLimitItem, parse

from astroshield.cache import TTLCache
from astroshield.config import Settings
from astroshield.security.grants import Grant
from astroshield.security.invalidation import AuthInvalidations
from astroshield.security.keys import KeyRing as PiiKeyRing
from astroshield.security.keys import PiiKeyConfig, load_index_key, load_keyring
from astroshield.security.ratelimit import RateLimiter
from astroshield.security.tokens import KeyRing as JwtKeyRing
from astroshield.security.tokens import (
    SigningKey,
    TokenClaims,
    TokenError,
    TokenService,
    load_key_ring,
)


class SecurityConfigError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A verified access token with its identifiers parsed once, not on every request."""

    claims: TokenClaims
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    scopes: frozenset[str]
    # What every request binds to its log context.
    log_context: dict[str, str]

    @classmethod
    def of(cls, claims: TokenClaims) -> VerifiedToken:
        try:
            user_id = uuid.UUID(claims.subject)
            organisation_id = uuid.UUID(claims.organisation_id)
        except ValueError:
            raise TokenError("subject or organisation is not an id") from None
        return cls(
            claims,
            user_id,
            organisation_id,
            frozenset(claims.scopes),
            {"user_id": str(user_id), "organisation_id": str(organisation_id)},
        )


@dataclass(frozen=True)
class SecurityContext:
    tokens: TokenService
    pii_keys: PiiKeyRing
    email_index_key: bytes
    csrf_secret: bytes
    limiter: RateLimiter
    user_limit: RateLimitItem
    login_limit: RateLimitItem
    secure_cookies: bool
    # Signature checks are the costly part of authentication; a token verified once is
    # remembered (never past its expiry). What it may do now (security.grants: account
    # active and in its organisation, token and login not revoked, current role) is
    # remembered for ``auth_cache_ttl_s`` at most: revocations drop it at once here and,
    # through ``invalidations``, on the other replicas.
    verified_tokens: TTLCache[str, VerifiedToken]
    usable_tokens: TTLCache[str, Grant]
    invalidations: AuthInvalidations

    @property
    def access_cookie(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and
        # host-only, so a sibling subdomain cannot plant one.
        return "__Host-astroshield-access" if self.secure_cookies else "astroshield-access"

    @property
    def refresh_cookie(self) -> str:
        return "__Secure-astroshield-refresh" if self.secure_cookies else "astroshield-refresh"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-astroshield-csrf" if self.secure_cookies else "astroshield-csrf"


def _derive(secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose derived from the secret key (HKDF). The CSRF key always is;
    JWT and PII keys only in dev/test, so a local database stays readable across
    restarts. Prod refuses to run on derived JWT or PII keys."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"astroshield-dev", info=purpose.encode()
    ).derive(secret.encode())


def _jwt_ring(settings: Settings) -> JwtKeyRing:
    if settings.jwt_keys_file is not None:
        return load_key_ring(settings.jwt_keys_file)
    if settings.profile == "prod":
        raise SecurityConfigError("ASTROSHIELD_JWT_KEYS_FILE is required in prod")
    private = Ed25519PrivateKey.from_private_bytes(
        _derive(settings.secret_key.get_secret_value(), "jwt-signing")
    )
    return JwtKeyRing({"dev": SigningKey("dev", private.public_key(), private)}, "dev")


def _pii(settings: Settings) -> tuple[PiiKeyRing, bytes]:
    config = PiiKeyConfig.from_settings(settings)
    if config.keys is None and config.keys_file is None:
        if settings.profile == "prod":
            raise SecurityConfigError(
                "PII keys are required in prod (ASTROSHIELD_PII_KEYS_FILE or _PII_KEYS)"
            )
        secret = settings.secret_key.get_secret_value()
        return PiiKeyRing({"dev": _derive(secret, "pii-kek")}, "dev"), _derive(secret, "pii-index")
    ring = load_keyring(config)
    return ring, load_index_key(config, keyring=ring)


def build_security(settings: Settings) -> SecurityContext:
    ring, index_key = _pii(settings)
    grants: TTLCache[str, Grant] = TTLCache(ttl_s=settings.auth_cache_ttl_s, max_entries=20_000)
    return SecurityContext(
        tokens=TokenService(
            ring=_jwt_ring(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl=timedelta(seconds=settings.access_token_ttl_s),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_s),
            leeway=timedelta(seconds=settings.jwt_leeway_s),
        ),
        pii_keys=ring,
        email_index_key=index_key,
        csrf_secret=_derive(settings.secret_key.get_secret_value(), "csrf", 32),
        limiter=RateLimiter.from_settings(settings),
        user_limit=parse(settings.rate_limit_user),
        login_limit=parse(settings.rate_limit_login),
        secure_cookies=settings.session_cookie_secure,
        verified_tokens=TTLCache(
            ttl_s=60.0 if settings.auth_cache_ttl_s > 0 else 0, max_entries=20_000
        ),
        usable_tokens=grants,
        invalidations=AuthInvalidations(
            grants,
            redis_url=settings.redis_url,
            channel=f"{settings.rate_limit_namespace}-auth-invalidations",
        ),
    )
