"""``astroshield user``: accounts made on the server itself (the first administrator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from astroshield.cli.keys import security_context
from astroshield.cli.output import console, next_step
from astroshield.cli.session import run_in_session

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Accounts.", no_args_is_help=True)


@app.command("create")
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
    """Create an account (the first administrator). There are no default credentials.

    \b
    Example:
      astroshield user create --email admin@example.org --organisation acme \\
        --password-stdin < password.txt
    """
    import sys

    from pydantic import ValidationError

    from astroshield.audit.service import SYSTEM
    from astroshield.errors import DomainError
    from astroshield.organisations.service import get_or_create_organisation
    from astroshield.users.schemas import UserCreate
    from astroshield.users.service import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, password=password, role=role, name=name)
    except ValidationError as exc:
        _invalid(exc)
    security = security_context()

    async def work(session: AsyncSession) -> str:
        org = await get_or_create_organisation(session, organisation, actor=SYSTEM)
        user = await create_user(
            session, org.id, data, security=security, actor=SYSTEM, platform_admin=platform_admin
        )
        return str(user.id)

    try:
        user_id = run_in_session(work)
    except ValidationError as exc:  # an organisation slug that cannot be created
        _invalid(exc)
    except DomainError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors) or exc.detail
        console.print(f"[red]refused:[/] {exc.detail} ({problems})")
        raise typer.Exit(code=1) from None
    console.print(f"created user {user_id} ({role}) in {organisation}")
    next_step("astroshield serve")


def _invalid(exc: ValidationError) -> NoReturn:
    """The first problem pydantic found, as one line (exit 2)."""
    from rich.markup import escape

    first = exc.errors()[0]
    console.print(f"[red]invalid:[/] {escape(str(first['loc']))}: {escape(first['msg'])}")
    raise typer.Exit(code=2) from None
