"""``astroshield keys``: create and rotate the JWT, audit-chain and PII keys."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from astroshield.cli.output import console, fail, next_step, writing
from astroshield.cli.session import run_in_session
from astroshield.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from astroshield.security.context import SecurityContext
    from astroshield.security.tokens import KeyRing

T = TypeVar("T")

app = typer.Typer(help="Signing and encryption keys.", no_args_is_help=True)


def key_file(path: Path, load: Callable[[], T], *, kind: str = "") -> T:
    """``load()`` of a key file; a missing, odd or malformed one is the one-line error
    (``kind``: how the loader names the file before its path, dropped with the path)."""
    import stat

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            fail(f"{path}: is not a regular file")
        return load()
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    except ValueError as exc:  # says what is wrong, often after the path
        message = str(exc).removeprefix(f"{kind} " if kind else "")
        message = message.removeprefix(f"{path}: ").removeprefix(f"{path} ")
        fail(f"{path}: {message}")


def security_context() -> SecurityContext:
    """The keys the settings name (JWT and PII key files); a bad one is the one-line error."""
    from astroshield.security.context import SecurityConfigError, build_security

    try:
        return build_security(get_settings())
    except OSError as exc:
        fail(f"{exc.filename or 'keys'}: {exc.strerror or exc}")
    except (ValueError, SecurityConfigError) as exc:
        fail(f"configuration: {exc}")


@app.command("jwt-generate")
def keys_jwt_generate(path: Annotated[Path, typer.Argument(help="key file to create")]) -> None:
    """Create a JWT signing key file (Ed25519, mode 600).

    \b
    Example:
      astroshield keys jwt-generate /etc/astroshield/jwt-keys.json
    """
    from astroshield.security.tokens import KeyRing, write_key_ring

    if path.exists():
        fail(f"{path}: exists; use `astroshield keys jwt-rotate {path}` to add a key")
    ring = KeyRing.generate(kid=f"k-{datetime.now(UTC):%Y%m%d%H%M%S}")
    writing(path, lambda: write_key_ring(ring, path))
    console.print(f"wrote {path}: 1 key (active {ring.active_kid})", highlight=False)
    next_step(f"export ASTROSHIELD_JWT_KEYS_FILE={shlex.quote(str(path))}")


@app.command("jwt-rotate")
def keys_jwt_rotate(path: Annotated[Path, typer.Argument(help="key file to rotate")]) -> None:
    """Sign with a new key; the old one keeps verifying until its tokens can have expired.

    \b
    Example:
      astroshield keys jwt-rotate /etc/astroshield/jwt-keys.json
    """
    from astroshield.audit.service import SYSTEM, record
    from astroshield.security.tokens import load_key_ring, write_key_ring

    settings = get_settings()
    now = datetime.now(UTC)
    overlap = timedelta(seconds=max(settings.access_token_ttl_s, settings.refresh_token_ttl_s))
    ring = key_file(path, lambda: load_key_ring(path))
    new_kid = f"k-{now:%Y%m%d%H%M%S}"
    if new_kid in ring.keys:  # would replace that key: its tokens would stop verifying
        fail(f"{path}: key id {new_kid!r} is already in the key file; rotate again in a second")
    rotated = _without_expired(ring.rotated(new_kid, overlap=overlap, now=now), now)
    writing(path, lambda: write_key_ring(rotated, path))

    async def work(session: AsyncSession) -> None:
        await record(
            session,
            SYSTEM.event(
                "keys.jwt_rotated", new_kid=rotated.active_kid, retired_kid=ring.active_kid
            ),
        )

    run_in_session(work)
    console.print(
        f"wrote {path}: {len(rotated.keys)} keys; "
        f"signing with {rotated.active_kid}; {ring.active_kid} verifies until "
        f"{(now + overlap).isoformat()} — restart or reload the service to pick it up"
    )


def _without_expired(ring: KeyRing, now: datetime) -> KeyRing:
    """Keys whose overlap is over verify nothing any more: drop them from the file."""
    return type(ring)(
        {
            kid: key
            for kid, key in ring.keys.items()
            if key.verify_until is None or key.verify_until > now
        },
        ring.active_kid,
    )


@app.command("audit-generate")
def keys_audit_generate(path: Annotated[Path, typer.Argument(help="key file to create")]) -> None:
    """Create the audit chain's key file (mode 600); set ASTROSHIELD_AUDIT_KEY_FILE to it.

    \b
    Example:
      astroshield keys audit-generate /etc/astroshield/audit-key.json
    """
    from astroshield.audit.keys import new_key_id, write_chain_key_file
    from astroshield.security.keys import KeyRing, generate_key

    if path.exists():
        console.print(f"[red]{path} exists[/]; use `keys audit-rotate` to add a key")
        raise typer.Exit(code=1)
    key_id = new_key_id()
    keys = KeyRing({key_id: generate_key()}, active=key_id)
    writing(path, lambda: write_chain_key_file(path, keys))
    console.print(f"wrote {path}: 1 key (active {key_id})", highlight=False)
    next_step(f"export ASTROSHIELD_AUDIT_KEY_FILE={shlex.quote(str(path))}")


@app.command("audit-rotate")
def keys_audit_rotate(path: Annotated[Path, typer.Argument(help="key file to rotate")]) -> None:
    """Chain new audit entries under a new key; the old ones stay in the file to verify
    what they made (never remove a key whose entries are still kept).

    \b
    Example:
      astroshield keys audit-rotate /etc/astroshield/audit-key.json
    """
    from astroshield.audit.keys import rotated, write_chain_key_file
    from astroshield.audit.service import SYSTEM, record
    from astroshield.security.keys import load_keyring_file

    kind = "audit key file"
    keys = key_file(path, lambda: load_keyring_file(path, kind=kind), kind=kind)
    try:
        new = rotated(keys)
    except ValueError as exc:  # key ids are per second: a second rotation in the same second
        fail(f"{path}: {exc}; rotate again in a second")
    writing(path, lambda: write_chain_key_file(path, new))

    async def work(session: AsyncSession) -> None:
        await record(
            session,
            SYSTEM.event("keys.audit_rotated", new_key_id=new.active, retired_key_id=keys.active),
        )

    run_in_session(work)
    console.print(
        f"wrote {path}: {len(new)} keys; "
        f"chaining with {new.active}; {keys.active} keeps verifying — restart or reload the "
        "service to pick it up"
    )


@app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every PII data key under the active PII key (set the new key as active and
    keep the old one configured until this has run).

    \b
    Example:
      astroshield keys rotate
    """
    from astroshield.audit.service import SYSTEM
    from astroshield.invitations.service import rewrap_pii as rewrap_invitation_pii
    from astroshield.users.service import rotate_pii_keys

    security = security_context()

    async def work(session: AsyncSession) -> int:
        users = await rotate_pii_keys(session, security.pii_keys, actor=SYSTEM)
        return users + await rewrap_invitation_pii(session, security.pii_keys, actor=SYSTEM)

    with console.status(f"re-wrapping PII data keys under {security.pii_keys.active}"):
        count = run_in_session(work)
    console.print(f"re-wrapped {count} values under {security.pii_keys.active}")
