"""``astroshield`` command line: serve, database administration, analysis, version.

Bad input never prints a traceback: a command that cannot use a file (or an option) prints
one line ``astroshield: error: FILE:LINE: FIELD: message`` on stderr and exits 2. Commands
that read element-set files skip an unreadable set with one warning line naming it and a
summary count, unless ``--strict`` is given; a file with no readable set is an error.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from astroshield import __version__
from astroshield.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from astroshield.astro.dynamics.elements import ElementSet
    from astroshield.astro.formats.element_files import ElementSetFile, InputProblem
    from astroshield.security.context import SecurityContext
    from astroshield.trajectory.schemas import Frame
    from astroshield.trajectory.service import States


T = TypeVar("T")

app = typer.Typer(
    help="AstroShield space domain awareness service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
db_app = typer.Typer(help="Database schema, demo data, backup and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
keys_app = typer.Typer(help="Signing and encryption keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
retention_app = typer.Typer(help="Data retention.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
console = Console(stderr=True, soft_wrap=True)  # never break paths or messages mid-line
FINDINGS_SHOWN = 50
INPUT_ERROR_EXIT = 2  # bad input (a file, an option): the caller must change something
SKIPPED_SHOWN = 50  # warning lines per file before the rest are only counted
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="refuse the file at its first unreadable element set (default: skip the set "
        "with a warning)",
    ),
]


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _fail(message: str | InputProblem) -> NoReturn:
    """Print ``astroshield: error: <message>`` as one line on stderr and exit 2."""
    typer.echo(f"astroshield: error: {_one_line(str(message))}", err=True)
    raise typer.Exit(code=INPUT_ERROR_EXIT)


def _warn(message: str | InputProblem) -> None:
    typer.echo(f"astroshield: warning: {_one_line(str(message))}", err=True)


@contextmanager
def _reading(source: Path | str) -> Iterator[None]:
    """Turn any error raised while parsing ``source`` into the one-line error (exit 2).

    Parsers report bad input as ValueError subclasses that locate it; anything else a
    parser raises on odd input is still the input's fault, and still not a traceback.
    """
    from astroshield.astro.formats.element_files import ElementFileError, problem_of

    try:
        yield
    except typer.Exit:
        raise
    except ElementFileError as error:
        _fail(str(error))
    except ValueError as error:
        _fail(problem_of(error, str(source)))
    except Exception as error:  # a parser bug on odd input: the input's problem all the same
        _fail(f"{source}: cannot be read ({type(error).__name__}: {error})")


def _writing(path: Path, write: Callable[[], object]) -> None:
    """Write an output file; a path that cannot be written is the one-line error."""
    try:
        write()
    except OSError as error:
        _fail(f"{path}: cannot be written: {error.strerror or error}")


def _element_set_file(path: Path, *, strict: bool) -> ElementSetFile:
    """The readable sets of ``path``; each skipped set is a warning line, then a count."""
    from astroshield.astro.formats.element_files import read_element_set_file

    with _reading(path):
        loaded = read_element_set_file(path, strict=strict)
    _report_skipped(loaded.source, loaded.skipped, total=len(loaded.sets) + len(loaded.skipped))
    return loaded


def _report_skipped(source: str, skipped: list[InputProblem], *, total: int) -> None:
    for problem in skipped[:SKIPPED_SHOWN]:
        _warn(f"{problem}; element set skipped")
    if len(skipped) > SKIPPED_SHOWN:
        _warn(f"{source}: {len(skipped) - SKIPPED_SHOWN} more skipped sets not listed")
    if skipped:
        _warn(
            f"{source}: {len(skipped)} of {total} element sets skipped "
            "(--strict refuses the file instead)"
        )


def _catalog_number_option(value: str, option: str) -> str:
    from astroshield.astro.formats.ids import IdentifierError, normalize_catalog_number

    try:
        return normalize_catalog_number(value)
    except IdentifierError as error:
        _fail(f"{option}: {error}")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (dev)")] = False,
    allow_generated_keys: Annotated[
        bool,
        typer.Option(
            "--allow-generated-keys",
            help="serve on a non-loopback address although keys are generated dev keys",
        ),
    ] = False,
) -> None:
    """Run the HTTP service (migrates the database first)."""
    import uvicorn

    from astroshield.security.context import generated_key_purposes

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    generated = generated_key_purposes(settings) if settings.profile != "prod" else ()
    if (
        generated
        and not _is_loopback(bind_host)
        and not (allow_generated_keys or settings.allow_generated_keys)
    ):
        typer.echo(
            f"refusing to serve on {bind_host}: the {', '.join(generated)} keys are generated "
            f"development keys ({settings.local_keys_file}); configure real keys, bind "
            "127.0.0.1, or pass --allow-generated-keys",
            err=True,
        )
        raise typer.Exit(code=2)
    from astroshield.migrate import upgrade

    upgrade(settings)
    console.print(
        f"[bold green]AstroShield {__version__}[/] on http://{bind_host}:{bind_port} "
        f"(database: {settings.database_url.split('@')[-1]})\n"
        f"  API docs:  http://{bind_host}:{bind_port}/docs\n"
        f"  readiness: http://{bind_host}:{bind_port}/readyz   — Ctrl-C stops"
    )
    uvicorn.run(
        "astroshield.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        reload=reload,
        proxy_headers=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        log_config=None,
        access_log=settings.profile != "prod",
    )


def _is_loopback(host: str) -> bool:
    """Only this machine can reach the address (a name other than localhost may resolve
    anywhere, so it counts as reachable from outside)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from astroshield.migrate import upgrade

    upgrade(get_settings(), revision)
    console.print(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from astroshield.migrate import downgrade

    downgrade(get_settings(), revision)
    console.print(f"database downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the applied revision and the code's head revision."""
    from astroshield.db import create_unpooled_engine
    from astroshield.migrate import current_revision, head_revision

    settings = get_settings()

    async def read() -> str | None:
        engine = create_unpooled_engine(settings)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current, head = asyncio.run(read()), head_revision(settings)
    typer.echo(f"current: {current or '(empty database)'}\nhead:    {head}")
    if current != head:
        raise typer.Exit(code=1)


@db_app.command("seed")
def db_seed() -> None:
    """Load the demo organisations and spacecraft (idempotent; migrates first)."""
    from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope
    from astroshield.migrate import upgrade
    from astroshield.seed import seed_demo_data

    settings = get_settings()
    upgrade(settings)

    async def run() -> int:
        engine = create_unpooled_engine(settings)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await seed_demo_data(session)
        finally:
            await engine.dispose()

    with console.status("seeding demo data"):
        created = asyncio.run(run())
    console.print(f"seeded {created} spacecraft")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="backup file to write")]) -> None:
    """Write a consistent backup of the database to PATH."""
    from astroshield.backup import BackupError, backup

    try:
        with console.status(f"backing up to {path}"):
            backup(get_settings(), path)
    except BackupError as exc:
        console.print(f"[red]backup failed:[/] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"backup written to {path}")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="backup file to restore")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the database contents with the backup at PATH."""
    from astroshield.backup import BackupError, BackupFileError, check_backup_file, restore

    settings = get_settings()
    try:
        check_backup_file(settings, path)  # before asking: a wrong file needs no confirmation
    except BackupFileError as exc:
        _fail(f"{path}: {exc}")
    if not yes:
        typer.confirm("This replaces every row in the database. Continue?", abort=True)
    try:
        with console.status(f"restoring from {path}"):
            restore(settings, path)
    except BackupFileError as exc:
        _fail(f"{path}: {exc}")
    except BackupError as exc:
        console.print(f"[red]restore failed:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(f"restored from {path}")


def _run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a migrated database."""
    from astroshield.db import session_scope

    async def in_session(sessionmaker: async_sessionmaker[AsyncSession]) -> T:
        async with session_scope(sessionmaker) as session:
            return await work(session)

    return _run_with_sessionmaker(in_session)


def _run_with_sessionmaker(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run ``work`` with a session factory on a migrated database (for work made of
    several transactions)."""
    from astroshield.db import create_sessionmaker, create_unpooled_engine
    from astroshield.migrate import upgrade

    settings = get_settings()
    upgrade(settings)

    async def run() -> T:
        engine = create_unpooled_engine(settings)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="login e-mail")],
    organisation: Annotated[str, typer.Option(help="organisation slug (created if missing)")],
    role: Annotated[str, typer.Option(help="viewer, operator, analyst or admin")] = "admin",
    name: Annotated[str | None, typer.Option(help="full name")] = None,
    platform_admin: Annotated[bool, typer.Option(help="may also manage organisations")] = False,
    password_stdin: Annotated[
        bool, typer.Option(help="read the password from standard input")
    ] = False,
) -> None:
    """Create an account (the first administrator). There are no default credentials."""
    import sys

    from pydantic import ValidationError

    from astroshield.audit.service import SYSTEM
    from astroshield.errors import DomainError
    from astroshield.organisations.repository import OrganisationRepository
    from astroshield.organisations.schemas import OrganisationCreate
    from astroshield.organisations.service import create_organisation
    from astroshield.users.schemas import UserCreate
    from astroshield.users.service import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, password=password, role=role, name=name)
    except ValidationError as exc:
        console.print(f"[red]invalid:[/] {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        raise typer.Exit(code=2) from None
    security = _security()

    async def work(session: AsyncSession) -> str:
        organisations = OrganisationRepository(session)
        org = await organisations.get_by_slug(organisation) or await create_organisation(
            organisations,
            OrganisationCreate(name=organisation, slug=organisation),
            session=session,
            actor=SYSTEM,
        )
        user = await create_user(
            session, security, org.id, data, actor=SYSTEM, platform_admin=platform_admin
        )
        return str(user.id)

    try:
        user_id = _run_in_session(work)
    except DomainError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors) or exc.detail
        console.print(f"[red]refused:[/] {exc.detail} ({problems})")
        raise typer.Exit(code=1) from None
    console.print(f"created user {user_id} ({role}) in {organisation}")


def _key_file(path: Path, load: Callable[[], T]) -> T:
    """``load()`` of a key file; a missing, odd or malformed one is the one-line error."""
    import stat

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            _fail(f"{path}: is not a regular file")
        return load()
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}")
    except ValueError as exc:  # KeyFileError: says what is wrong, often after the path
        message = str(exc).removeprefix(f"{path} ")
        _fail(f"{path}: {message}")


def _security() -> SecurityContext:
    """The keys the settings name (JWT and PII key files); a bad one is the one-line error."""
    from astroshield.security.context import SecurityConfigError, build_security

    try:
        return build_security(get_settings())
    except OSError as exc:
        _fail(f"{exc.filename or 'keys'}: {exc.strerror or exc}")
    except (ValueError, SecurityConfigError) as exc:
        _fail(f"configuration: {exc}")


@keys_app.command("jwt-generate")
def keys_jwt_generate(path: Annotated[Path, typer.Argument(help="key file to create")]) -> None:
    """Create a JWT signing key file (Ed25519, mode 600)."""
    from astroshield.security.tokens import KeyRing, write_key_ring

    if path.exists():
        _fail(f"{path}: exists; use `astroshield keys jwt-rotate {path}` to add a key")
    ring = KeyRing.generate(kid=f"k-{datetime.now(UTC):%Y%m%d%H%M%S}")
    _writing(path, lambda: write_key_ring(ring, path))
    console.print(f"wrote {path} (active key {ring.active_kid})")


@keys_app.command("jwt-rotate")
def keys_jwt_rotate(path: Annotated[Path, typer.Argument(help="key file to rotate")]) -> None:
    """Sign with a new key; the old one keeps verifying until its tokens can have expired."""
    from astroshield.audit.service import SYSTEM, record
    from astroshield.security.tokens import load_key_ring, write_key_ring

    settings = get_settings()
    now = datetime.now(UTC)
    overlap = timedelta(seconds=max(settings.access_token_ttl_s, settings.refresh_token_ttl_s))
    ring = _key_file(path, lambda: load_key_ring(path))
    rotated = ring.rotated(f"k-{now:%Y%m%d%H%M%S}", overlap=overlap, now=now)
    # Keys whose overlap is over verify nothing any more: drop them from the file.
    rotated = type(rotated)(
        {
            kid: key
            for kid, key in rotated.keys.items()
            if key.verify_until is None or key.verify_until > now
        },
        rotated.active_kid,
    )
    _writing(path, lambda: write_key_ring(rotated, path))

    async def work(session: AsyncSession) -> None:
        await record(
            session,
            SYSTEM.event(
                "keys.jwt_rotated", new_kid=rotated.active_kid, retired_kid=ring.active_kid
            ),
        )

    _run_in_session(work)
    console.print(
        f"signing with {rotated.active_kid}; {ring.active_kid} verifies until "
        f"{(now + overlap).isoformat()} — restart or reload the service to pick it up"
    )


@keys_app.command("audit-generate")
def keys_audit_generate(path: Annotated[Path, typer.Argument(help="key file to create")]) -> None:
    """Create the audit chain's key file (mode 600); set ASTROSHIELD_AUDIT_KEY_FILE to it."""
    from astroshield.audit.keys import new_key_id, write_chain_key_file
    from astroshield.security.keys import KeyRing, generate_key

    if path.exists():
        console.print(f"[red]{path} exists[/]; use `keys audit-rotate` to add a key")
        raise typer.Exit(code=1)
    key_id = new_key_id()
    write_chain_key_file(path, KeyRing({key_id: generate_key()}, active=key_id))
    console.print(f"wrote {path} (active key {key_id})")


@keys_app.command("audit-rotate")
def keys_audit_rotate(path: Annotated[Path, typer.Argument(help="key file to rotate")]) -> None:
    """Chain new audit entries under a new key; the old ones stay in the file to verify
    what they made (never remove a key whose entries are still kept)."""
    from astroshield.audit.keys import rotated, write_chain_key_file
    from astroshield.audit.service import SYSTEM, record
    from astroshield.security.keys import load_keyring_file

    keys = load_keyring_file(path, kind="audit key file")
    new = rotated(keys)
    write_chain_key_file(path, new)

    async def work(session: AsyncSession) -> None:
        await record(
            session,
            SYSTEM.event("keys.audit_rotated", new_key_id=new.active, retired_key_id=keys.active),
        )

    _run_in_session(work)
    console.print(
        f"chaining with {new.active}; {keys.active} keeps verifying — restart or reload the "
        "service to pick it up"
    )


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every PII data key under the active PII key (set the new key as active and
    keep the old one configured until this has run)."""
    from astroshield.audit.service import SYSTEM
    from astroshield.invitations.service import rewrap_pii as rewrap_invitation_pii
    from astroshield.users.service import rotate_pii_keys

    security = _security()

    async def work(session: AsyncSession) -> int:
        users = await rotate_pii_keys(session, security.pii_keys, actor=SYSTEM)
        return users + await rewrap_invitation_pii(session, security.pii_keys, actor=SYSTEM)

    with console.status(f"re-wrapping PII data keys under {security.pii_keys.active}"):
        count = _run_in_session(work)
    console.print(f"re-wrapped {count} values under {security.pii_keys.active}")


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoints",
            help="more checkpoint files to check against, e.g. exported from syslog "
            "(the configured checkpoint file is always read)",
        ),
    ] = None,
) -> None:
    """Check the audit chain and its checkpoints; exits 1 if entries were edited, deleted
    or re-hashed, or a checkpoint was altered."""
    from astroshield.audit.verify import ChainReport, verify_against_files
    from astroshield.security.keys import KeyMaterialError

    settings = get_settings()
    paths = [settings.audit_checkpoint_file, *(checkpoints or [])]

    async def work(session: AsyncSession) -> ChainReport:
        return await verify_against_files(session, paths)

    try:
        with console.status("verifying the audit chain"):
            report = _run_in_session(work)
    except (KeyMaterialError, RuntimeError) as exc:  # the key file, not the chain
        console.print(f"cannot verify: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    counted = f"{report.entries_checked} entries, {report.checkpoints_checked} checkpoints"
    if report.ok:
        console.print(f"audit chain intact: {counted}", markup=False, highlight=False)
        return
    for finding in report.findings[:FINDINGS_SHOWN]:
        console.print(finding.describe(), markup=False, highlight=False)
    if len(report.findings) > FINDINGS_SHOWN:
        console.print(f"... and {len(report.findings) - FINDINGS_SHOWN} more findings")
    console.print(
        f"audit chain broken: {len(report.findings)} findings ({counted} checked)",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the chain's head now (to the checkpoint file and, when
    configured, syslog)."""
    from astroshield.audit.checkpoints import Checkpoint, CheckpointError, CheckpointWriter

    writer = CheckpointWriter.from_settings(get_settings())

    async def work(session: AsyncSession) -> Checkpoint:
        return await writer.write(session, "manual")

    try:
        checkpoint = _run_in_session(work)
    except CheckpointError as exc:
        console.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    finally:
        writer.close()
    console.print(
        f"checkpoint: sequence {checkpoint.sequence}, {checkpoint.entries} entries",
        markup=False,
        highlight=False,
    )


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only, delete nothing")] = False,
) -> None:
    """Apply the retention policies (or report what they would delete)."""
    from rich.table import Table

    from astroshield.audit.checkpoints import CheckpointError
    from astroshield.retention.service import RetentionReport, apply_retention

    settings = get_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> RetentionReport:
        return await apply_retention(sessionmaker, settings, dry_run=dry_run)

    try:
        with console.status("applying retention" if not dry_run else "counting"):
            report = _run_with_sessionmaker(work)
    except CheckpointError as exc:
        console.print(f"retention not applied: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    if not report.ran:
        console.print("another retention run holds the lock; nothing done")
        return
    table = Table(title="retention " + ("(dry run: nothing deleted)" if dry_run else "run"))
    for column in (
        "data class",
        "keep (days)",
        "older than",
        "would delete" if dry_run else "deleted",
    ):
        table.add_column(column)
    for result in report.classes:
        table.add_row(
            result.data_class,
            str(result.keep_days or "-"),
            result.cutoff.isoformat(timespec="seconds") if result.cutoff else "-",
            str(result.affected),
        )
    Console().print(table)


def _parse_utc(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option}: {text!r} is not an ISO 8601 time like 2024-11-01T00:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _newest_per_object(loaded: ElementSetFile, *, strict: bool) -> list[ElementSet]:
    """One set per catalog number, the newest; each other one is skipped with a warning."""
    from astroshield.astro.formats.element_files import InputProblem

    chosen: dict[str, int] = {}
    duplicates: list[InputProblem] = []
    for index, item in enumerate(loaded.sets):
        known = chosen.get(item.catalog_number)
        if known is None:
            chosen[item.catalog_number] = index
            continue
        known_epoch = loaded.sets[known].epoch
        keep, drop = (index, known) if item.epoch > known_epoch else (known, index)
        chosen[item.catalog_number] = keep
        which = "has the same epoch" if item.epoch == known_epoch else "whose epoch is newer"
        problem = InputProblem(
            loaded.source,
            loaded.lines[drop],
            "catalog number",
            f"{item.catalog_number} appears again at line {loaded.lines[keep]}, {which}",
        )
        if strict:
            _fail(problem)
        duplicates.append(problem)
    _report_skipped(loaded.source, duplicates, total=len(loaded.sets))
    return [loaded.sets[index] for index in sorted(chosen.values())]


@app.command()
def screen(
    catalog_file: Annotated[Path, typer.Argument(help="OMM CSV/JSON/XML/KVN or TLE file")],
    start: Annotated[str, typer.Option(help="window start, ISO 8601 UTC")],
    output: Annotated[Path, typer.Option(help="events file: .csv or .json")],
    days: Annotated[float, typer.Option(min=0.001, max=30)] = 1.0,
    threshold_km: Annotated[float, typer.Option(min=0.001, max=1000)] = 5.0,
    primary: Annotated[str | None, typer.Option(help="catalog number: one-vs-all")] = None,
    workers: Annotated[int | None, typer.Option(min=1)] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port) instead of local")
    ] = None,
    scheduler_timeout_s: Annotated[
        float, typer.Option(min=0.1, help="seconds to wait for the Dask scheduler")
    ] = 10.0,
    strict: StrictOption = False,
) -> None:
    """Screen a catalog for close approaches (all-vs-all, or one-vs-all with --primary).

    An object listed twice is screened with its newest set (the other is skipped with a
    warning, or refused with --strict).
    """
    from rich.markup import escape
    from rich.progress import Progress

    from astroshield.astro.conjunction.screening import (
        SchedulerUnreachableError,
        WorkUnitFailedError,
        screen_catalog,
        write_events_csv,
        write_events_json,
    )

    if output.suffix.lower() not in (".csv", ".json"):
        _fail(f"--output: {output} must end in .csv or .json")
    if scheduler is not None and workers is not None:
        _fail("--scheduler: cannot be combined with --workers")
    first = _parse_utc(start, "--start")
    wanted = _catalog_number_option(primary, "--primary") if primary is not None else None
    elements = _newest_per_object(_element_set_file(catalog_file, strict=strict), strict=strict)
    if wanted is not None and wanted not in {item.catalog_number for item in elements}:
        _fail(f"--primary: {wanted} is not in {catalog_file}")
    if len(elements) < 2:
        _fail(f"{catalog_file}: holds 1 object; screening needs at least 2")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"screening {len(elements)} objects", total=None)
        try:
            result = screen_catalog(
                elements,
                first,
                timedelta(days=days),
                threshold_km,
                primary=wanted,
                workers=workers,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                scheduler=scheduler,
                scheduler_timeout_s=scheduler_timeout_s,
            )
        except (SchedulerUnreachableError, WorkUnitFailedError) as exc:
            console.print(f"[red]screening failed:[/] {escape(str(exc))}")
            raise typer.Exit(code=1) from None
    writer = write_events_json if output.suffix.lower() == ".json" else write_events_csv
    _writing(output, lambda: writer(result.events, output))
    console.print(
        f"{len(result.events)} conjunctions within {threshold_km} km written to {output}; "
        f"{len(result.skipped)} objects skipped (SGP4 failure)",
        highlight=False,
    )


@app.command()
def pc(
    cdm_file: Annotated[Path, typer.Argument(help="CCSDS CDM, KVN or XML")],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    hbr_m: Annotated[
        float | None, typer.Option(help="hard-body radius if the CDM has none")
    ] = None,
    samples: Annotated[int, typer.Option(min=1000, help="Monte Carlo samples")] = 100_000,
    seed: Annotated[int, typer.Option(help="Monte Carlo seed")] = 0,
) -> None:
    """Collision probability of a CCSDS CDM (KVN or XML) by every method we have.

    Data-quality findings of the CDM (e.g. a covariance that is not positive definite) are
    warning lines on stderr.
    """
    import json
    import warnings

    from astroshield.astro.conjunction.report import pc_report
    from astroshield.astro.formats.cdm import CdmWarning, loads
    from astroshield.astro.formats.element_files import InputProblem, read_text_file

    if hbr_m is not None and not 0.0 < hbr_m < float("inf"):
        _fail(f"--hbr-m: {hbr_m} must be a positive number of metres")
    source = str(cdm_file)
    with _reading(cdm_file), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CdmWarning)
        cdm = loads(read_text_file(cdm_file))
    for finding in caught:
        message = finding.message
        if isinstance(message, CdmWarning):
            reason = str(message).removeprefix(f"line {message.line}, ")
            reason = reason.removeprefix(f"{message.keyword}: ")
            _warn(InputProblem(source, message.line, message.keyword, reason))
    try:
        report = pc_report(cdm, hbr_m=hbr_m, mc_samples=samples, seed=seed)
    except ValueError as exc:  # the CDM's numbers give no Pc (no hard-body radius ...)
        _fail(f"{source}: {exc}")
    if json_output:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    for key in ("tca", "miss_distance_m", "pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d"):
        typer.echo(f"{key:>16}: {report[key]}")
    typer.echo(f"{'pc_mc':>16}: {report['pc_mc']['value']} (95% CI {report['pc_mc']['ci95']})")


maneuvers_app = typer.Typer(help="Maneuver detection.", no_args_is_help=True)
app.add_typer(maneuvers_app, name="maneuvers")


@maneuvers_app.command("detect")
def maneuvers_detect(
    history_file: Annotated[Path, typer.Argument(help="one object's TLE or OMM history")],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    plot: Annotated[Path | None, typer.Option(help="PNG of the element histories")] = None,
    strict: StrictOption = False,
) -> None:
    """Detect maneuvers in one object's TLE/OMM history."""
    import json

    from astroshield.astro.ccdm.maneuvers import (
        MIN_HISTORY_SETS,
        detect_maneuvers,
        to_json_records,
    )
    from astroshield.astro.formats.element_files import InputProblem
    from astroshield.astro.plots.maneuvers import maneuver_history_plot

    loaded = _element_set_file(history_file, strict=strict)
    elements = loaded.sets
    first_object = elements[0].catalog_number
    for item, line in zip(elements, loaded.lines, strict=True):
        if item.catalog_number != first_object:
            _fail(
                InputProblem(
                    loaded.source,
                    line,
                    "catalog number",
                    f"{item.catalog_number} is a second object; the history must be of one "
                    f"object (the first set is of {first_object})",
                )
            )
    if len(elements) < MIN_HISTORY_SETS:
        _fail(
            f"{history_file}: {len(elements)} readable element sets; maneuver detection "
            f"needs at least {MIN_HISTORY_SETS}"
        )
    with console.status(f"analysing {len(elements)} element sets"):
        detections = detect_maneuvers(elements)
    if plot is not None:
        chosen_plot = plot
        _writing(
            chosen_plot,
            lambda: chosen_plot.write_bytes(maneuver_history_plot(elements, detections)),
        )
        console.print(f"plot written to {plot}", highlight=False)
    records = to_json_records(detections)
    if json_output:
        typer.echo(json.dumps(records, indent=2))
        return
    for record in records:
        typer.echo(
            f"{record['epoch']}  {record['kind']:<13} dv={record['delta_v_m_s']:.4f} m/s "
            f"confidence={record['confidence']:.2f}"
        )
    console.print(f"{len(records)} maneuvers detected")


catalog_app = typer.Typer(
    help="The space-object catalog (element-set history).", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def catalog_import(
    files: Annotated[list[Path], typer.Argument(help="OMM CSV/JSON/XML/KVN or TLE files")],
    source: Annotated[
        str | None, typer.Option(help="source recorded per set (default: the file name)")
    ] = None,
    feed: Annotated[
        bool,
        typer.Option(
            "--feed", help="record the sets as from a trusted automated feed, not a platform import"
        ),
    ] = False,
    strict: StrictOption = False,
) -> None:
    """Import element sets into the public catalog (provenance platform, or feed with
    --feed; uploaded by cli); sets already stored (same object and epoch) are skipped.

    Every file is read before anything is stored, so a file that cannot be used stores
    nothing (exit 2). Each file is then one transaction. Unreadable sets are skipped with a
    warning (with --strict they refuse their file, and so the import).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
    from rich.table import Table

    from astroshield.astro.formats.element_files import InputProblem
    from astroshield.catalog.models import Provenance
    from astroshield.catalog.service import (
        ImportResult,
        Origin,
        import_element_sets,
        storage_problem,
    )
    from astroshield.db import create_sessionmaker, create_unpooled_engine, session_scope

    loaded: list[tuple[Path, list[ElementSet], int]] = []
    for path in files:
        parsed = _element_set_file(path, strict=strict)
        storable: list[ElementSet] = []
        refused: list[InputProblem] = []
        for item, line in zip(parsed.sets, parsed.lines, strict=True):
            problem = storage_problem(item)
            if problem is None:
                storable.append(item)
                continue
            located = InputProblem(parsed.source, line, None, problem)
            if strict:
                _fail(located)
            refused.append(located)
        _report_skipped(parsed.source, refused, total=len(parsed.sets))
        if not storable:
            _fail(f"{path}: holds no element set that can be stored")
        loaded.append((path, storable, len(parsed.skipped) + len(refused)))

    from astroshield.migrate import upgrade

    settings = get_settings()
    upgrade(settings)
    results: list[tuple[Path, ImportResult, int]] = []
    origin = Origin.public(Provenance.FEED if feed else Provenance.PLATFORM, "cli")

    async def run(progress: Progress) -> None:
        engine = create_unpooled_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            for path, sets, skipped in loaded:
                task = progress.add_task(f"importing {path.name}", total=len(sets))

                def advance(done: int, task: TaskID = task) -> None:
                    progress.advance(task, done)

                async with session_scope(sessionmaker) as session:
                    result = await import_element_sets(
                        session, sets, source or path.name, origin, progress=advance
                    )
                results.append((path, result, skipped))
        finally:
            await engine.dispose()

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as progress:
        asyncio.run(run(progress))

    table = Table(title="catalog import")
    for column in ("file", "inserted", "already present", "skipped"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for path, result, skipped in results:
        table.add_row(
            path.name,
            str(result.inserted),
            str(result.already_present),
            str(skipped + len(result.rejected)),
        )
        for rejection in result.rejected:  # refused while storing
            _warn(f"{rejection.where}: {rejection.reason}; element set skipped")
    Console().print(table)


@catalog_app.command("show")
def catalog_show(
    catalog_number: Annotated[str, typer.Argument(help="NORAD number or Alpha-5, e.g. A0001")],
) -> None:
    """Print a public catalog object, its newest public element set and the size of its
    public history (organisations' unpublished uploads are not shown)."""
    from rich.table import Table

    from astroshield.catalog.models import CatalogObject, ElementSetRecord
    from astroshield.catalog.repository import CatalogRepository
    from astroshield.catalog.service import tle_of, to_element_set

    number = _catalog_number_option(catalog_number, "CATALOG_NUMBER")

    async def work(
        session: AsyncSession,
    ) -> tuple[CatalogObject | None, list[ElementSetRecord], int]:
        repository = CatalogRepository(session, None)
        found = await repository.get_object(number)
        if found is None:
            return None, [], 0
        latest = await repository.latest_element_sets([number])
        return found, latest, await repository.count_element_sets(number)

    found, latest, count = _run_in_session(work)
    if found is None:
        console.print(f"[red]catalog object {number} not found[/]")
        raise typer.Exit(code=1)
    table = Table(title=f"catalog object {found.catalog_number}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    rows = {
        "name": found.name or "-",
        "COSPAR id": found.object_id or "-",
        "object type": found.object_type or "-",
        "regime": found.regime,
        "perigee altitude (km)": f"{found.perigee_altitude_km:.1f}",
        "apogee altitude (km)": f"{found.apogee_altitude_km:.1f}",
        "inclination (deg)": f"{found.inclination_deg:.4f}",
        "period (min)": f"{found.period_min:.2f}",
        "element sets stored": str(count),
    }
    if latest:
        newest = latest[0]
        rows["latest epoch (UTC)"] = newest.epoch.isoformat()
        rows["latest source"] = f"{newest.source} ({newest.provenance})"
        tle = tle_of(to_element_set(newest))
        if tle is not None:
            rows["TLE line 1"] = tle.line1
            rows["TLE line 2"] = tle.line2
    for field, value in rows.items():
        table.add_row(field, value)
    Console(width=120).print(table)


def _one_element_set(path: Path, catalog_number: str | None, *, strict: bool) -> ElementSet:
    """The newest set of ``catalog_number`` in the file, or of the file's first object."""
    sets = _element_set_file(path, strict=strict).sets
    wanted = (
        _catalog_number_option(catalog_number, "--catalog-number")
        if catalog_number is not None
        else sets[0].catalog_number
    )
    chosen = [item for item in sets if item.catalog_number == wanted]
    if not chosen:
        _fail(f"--catalog-number: {wanted} is not in {path}")
    # A history file holds many sets of one object: the newest is the one to propagate.
    return max(chosen, key=lambda item: item.epoch)


_WINDOW_OPTIONS = {"start": "--start", "stop": "--stop", "step_s": "--step"}


@app.command("propagate")
def propagate_command(
    tle_file: Annotated[Path, typer.Argument(help="TLE or OMM")],
    start: Annotated[str, typer.Option(help="first epoch, ISO 8601 UTC")],
    stop: Annotated[str, typer.Option(help="last epoch, ISO 8601 UTC")],
    output: Annotated[Path, typer.Option(help="ephemeris file: .oem, .csv or .json")],
    step: Annotated[float, typer.Option(min=0.001, max=86_400, help="seconds")] = 60.0,
    frame: Annotated[str, typer.Option(help="TEME, GCRF or ITRF")] = "GCRF",
    catalog_number: Annotated[str | None, typer.Option(help="object to pick")] = None,
    strict: StrictOption = False,
) -> None:
    """Write an SGP4 ephemeris of one object (the newest set in the file) as OEM, CSV or JSON."""
    from astroshield.errors import DomainError
    from astroshield.trajectory import service

    suffix = output.suffix.lower()
    if suffix not in (".oem", ".csv", ".json"):
        _fail(f"--output: {output} must end in .oem, .csv or .json")
    frames: dict[str, Frame] = {"TEME": "TEME", "GCRF": "GCRF", "ITRF": "ITRF"}
    chosen = frames.get(frame.upper())
    if chosen is None:
        _fail(f"--frame: {frame!r} must be TEME, GCRF or ITRF")
    first, last = _parse_utc(start, "--start"), _parse_utc(stop, "--stop")
    settings = get_settings()
    elements = _one_element_set(tle_file, catalog_number, strict=strict)
    try:
        service.check_window(
            first,
            last,
            step,
            max_days=settings.trajectory_max_days,
            max_points=settings.trajectory_max_points,
            location="option",
        )
        times = service.sample_times(first, last, step)
        states = service.propagate_elements(elements, times, chosen)
        text: str | None = None
        if suffix == ".oem":
            text = service.ephemeris_oem(states, chosen)
        elif suffix == ".json":
            text = service.ephemeris(states, chosen).model_dump_json(indent=1)
    except DomainError as exc:
        problems = [
            f"{_WINDOW_OPTIONS.get(str(error['loc'][-1]), str(error['loc'][-1]))}: {error['msg']}"
            for error in exc.errors
        ]
        _fail("; ".join(problems) or f"{tle_file}: {exc.detail}")
    if text is None:
        _writing(output, lambda: _write_ephemeris_csv(output, states))
    else:
        written = text
        _writing(output, lambda: output.write_text(written))
    failed = int((states.error_codes != 0).sum())
    console.print(
        f"{len(times) - failed} states of {elements.catalog_number} ({chosen}) written to "
        f"{output}" + (f"; SGP4 failed at {failed} epochs" if failed else ""),
        highlight=False,
    )


def _write_ephemeris_csv(path: Path, states: States) -> None:
    import csv

    import numpy as np

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["epoch", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "sgp4_error"]
        )
        for time, r, v, code in zip(
            states.times, states.r_km, states.v_km_s, states.error_codes, strict=True
        ):
            values = ["" if code else repr(float(x)) for x in (*r, *v)]
            writer.writerow([np.datetime_as_string(time, "us") + "Z", *values, int(code)])


@app.command("passes")
def passes_command(
    tle_file: Annotated[Path, typer.Argument(help="TLE or OMM")],
    lat: Annotated[float, typer.Option(min=-90, max=90, help="station latitude, deg")],
    lon: Annotated[float, typer.Option(min=-180, max=360, help="station longitude, deg")],
    start: Annotated[str, typer.Option(help="window start, ISO 8601 UTC")],
    alt_km: Annotated[float, typer.Option(min=-1, max=100, help="station height, km")] = 0.0,
    days: Annotated[float, typer.Option(min=0.001, max=31)] = 1.0,
    min_el: Annotated[float, typer.Option(min=-5, max=89, help="elevation mask, deg")] = 0.0,
    catalog_number: Annotated[str | None, typer.Option(help="object to pick")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    strict: StrictOption = False,
) -> None:
    """Passes of one object over a ground station (rise, culmination, set)."""
    import json

    from rich.table import Table

    from astroshield.astro.ground.passes import GroundStation, passes

    first = _parse_utc(start, "--start")
    elements = _one_element_set(tle_file, catalog_number, strict=strict)
    found = passes(
        elements,
        GroundStation(lat, lon, alt_km),
        first,
        first + timedelta(days=days),
        min_elevation_deg=min_el,
    )
    rows = [
        {
            "rise": item.rise.isoformat(),
            "culmination": item.culmination.isoformat(),
            "set": item.set.isoformat(),
            "duration_s": round(item.duration_s, 1),
            "max_elevation_deg": round(item.max_elevation_deg, 3),
            "rise_azimuth_deg": round(item.rise_azimuth_deg, 2),
            "culmination_azimuth_deg": round(item.culmination_azimuth_deg, 2),
            "set_azimuth_deg": round(item.set_azimuth_deg, 2),
            "starts_before_window": item.starts_before_window,
            "ends_after_window": item.ends_after_window,
        }
        for item in found
    ]
    if json_output:
        typer.echo(json.dumps({"catalog_number": elements.catalog_number, "passes": rows}))
        return
    table = Table(title=f"passes of {elements.object_name or elements.catalog_number}")
    for column in ("rise (UTC)", "culmination", "set", "max el (deg)", "az rise/max/set"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item.rise.strftime("%Y-%m-%d %H:%M:%S") + ("*" if item.starts_before_window else ""),
            item.culmination.strftime("%H:%M:%S"),
            item.set.strftime("%H:%M:%S") + ("*" if item.ends_after_window else ""),
            f"{item.max_elevation_deg:.1f}",
            f"{item.rise_azimuth_deg:.0f}/{item.culmination_azimuth_deg:.0f}/"
            f"{item.set_azimuth_deg:.0f}",
        )
    Console(width=120).print(table)


def main() -> None:
    app()
