"""Security material of one running app, built once from settings."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from limits import RateLimitItem, parse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from astroshield.cache import TTLCache
from astroshield.config import PLACEHOLDER_SECRETS, Settings
from astroshield.security.grants import AccountState, Grant
from astroshield.security.invalidation import AuthInvalidations
from astroshield.security.keys import KeyRing as PiiKeyRing
from astroshield.security.keys import PiiKeyConfig, load_index_key, load_keyring
from astroshield.security.local_keys import local_secret
from astroshield.security.principal import Principal
from astroshield.security.ratelimit import RateLimiter
from astroshield.security.scopes import Scope
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


# (session, user id, token id, login id) -> the account as stored, None when unknown.
AccountStateLoader = Callable[
    [AsyncSession, uuid.UUID, str, str | None], Awaitable[AccountState | None]
]
# Told of every refusal for a missing scope (the audit log keeps them).
PermissionDeniedHook = Callable[[HTTPConnection, Principal, Scope], Awaitable[None]]


async def _no_account_state(
    session: AsyncSession, user_id: uuid.UUID, token_id: str, login_id: str | None
) -> AccountState | None:
    raise SecurityConfigError("no account state loader wired (see app.create_app)")


async def _no_denial_hook(connection: HTTPConnection, principal: Principal, scope: Scope) -> None:
    # A refusal that cannot be audited is a configuration error, not a silent gap.
    raise SecurityConfigError("no permission-denied hook wired (see app.create_app)")


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
    invitation_limit: RateLimitItem
    secure_cookies: bool
    # Signature checks are the costly part of authentication; a token verified once is
    # remembered (never past its expiry). What it may do now (security.grants: account
    # active and in its organisation, token and login not revoked, current role) is
    # remembered for ``auth_cache_ttl_s`` at most: revocations drop it at once here and,
    # through ``invalidations``, on the other replicas.
    verified_tokens: TTLCache[str, VerifiedToken]
    usable_tokens: TTLCache[str, Grant]
    invalidations: AuthInvalidations
    # Wired by the composition root: the stores belong to domains above this layer.
    load_account_state: AccountStateLoader = _no_account_state
    permission_denied: PermissionDeniedHook = _no_denial_hook

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


def _configured_secret(settings: Settings) -> str | None:
    """The secret key when one was really set: the placeholder is public, so nothing may
    be derived from it."""
    value = settings.secret_key.get_secret_value()
    return None if value.strip().lower() in PLACEHOLDER_SECRETS else value


def _derive(secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose derived from a configured secret key (HKDF)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"astroshield-dev", info=purpose.encode()
    ).derive(secret.encode())


def generated_key_purposes(settings: Settings) -> tuple[str, ...]:
    """The keys this configuration takes from the local key file (random keys generated
    on first start) because none is configured; empty when every key is configured."""
    purposes: list[str] = []
    if settings.jwt_keys_file is None:
        purposes.append("jwt-signing")
    config = PiiKeyConfig.from_settings(settings)
    if config.keys is None and config.keys_file is None:
        purposes += ["pii-kek", "pii-index"]
    if _configured_secret(settings) is None:
        purposes.append("csrf")
    if settings.audit_key_file is None:
        purposes.append("audit-chain")
    return tuple(purposes)


def _jwt_ring(settings: Settings) -> JwtKeyRing:
    if settings.jwt_keys_file is not None:
        return load_key_ring(settings.jwt_keys_file)
    if settings.profile == "prod":
        raise SecurityConfigError("ASTROSHIELD_JWT_KEYS_FILE is required in prod")
    private = Ed25519PrivateKey.from_private_bytes(local_secret(settings, "jwt-signing"))
    public = private.public_key()
    # The key id names this key: a token signed by any other key is refused by its kid.
    fingerprint = hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
    kid = f"local-{fingerprint[:12]}"
    return JwtKeyRing({kid: SigningKey(kid, public, private)}, kid)


def _pii(settings: Settings) -> tuple[PiiKeyRing, bytes]:
    config = PiiKeyConfig.from_settings(settings)
    if config.keys is None and config.keys_file is None:
        if settings.profile == "prod":
            raise SecurityConfigError(
                "PII keys are required in prod (ASTROSHIELD_PII_KEYS_FILE or _PII_KEYS)"
            )
        return (
            PiiKeyRing({"local": local_secret(settings, "pii-kek")}, "local"),
            local_secret(settings, "pii-index"),
        )
    ring = load_keyring(config)
    return ring, load_index_key(config, keyring=ring)


def _csrf_secret(settings: Settings) -> bytes:
    secret = _configured_secret(settings)
    if secret is not None:
        return _derive(secret, "csrf")
    # Unreachable in prod: its settings refuse a placeholder secret key.
    return local_secret(settings, "csrf")


def build_security(
    settings: Settings,
    *,
    load_account_state: AccountStateLoader = _no_account_state,
    permission_denied: PermissionDeniedHook = _no_denial_hook,
) -> SecurityContext:
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
        csrf_secret=_csrf_secret(settings),
        limiter=RateLimiter.from_settings(settings),
        user_limit=parse(settings.rate_limit_user),
        login_limit=parse(settings.rate_limit_login),
        invitation_limit=parse(settings.rate_limit_invitations),
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
        load_account_state=load_account_state,
        permission_denied=permission_denied,
    )
