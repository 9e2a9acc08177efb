from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.errors import ConflictError, FieldError, NotFoundError
from astroshield.organisations.models import Organisation
from astroshield.organisations.repository import OrganisationRepository
from astroshield.organisations.schemas import OrganisationCreate
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope


async def create_organisation(
    session: AsyncSession, data: OrganisationCreate, *, actor: Actor
) -> Organisation:
    """Platform-wide: the route admits platform administrators only, and the CLI and the
    seed create organisations with no user behind them."""
    repository = OrganisationRepository(session)
    if await repository.get_by_slug(data.slug) is not None:
        raise ConflictError(
            f"an organisation with slug {data.slug!r} exists",
            errors=[FieldError(["body", "slug"], "already taken")],
        )
    organisation = await repository.add(Organisation(name=data.name, slug=data.slug))
    await record(
        session,
        actor.event(
            "organisation.created",
            object_type="organisation",
            object_id=organisation.id,
            organisation_id=organisation.id,
            slug=organisation.slug,
        ),
    )
    return organisation


async def get_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """Your own organisation (platform administrators: any); another is not found."""
    if organisation_id != principal.organisation_id and not principal.has(
        Scope.ORGANISATIONS_ADMIN
    ):
        raise NotFoundError(f"organisation {organisation_id} not found")
    organisation = await OrganisationRepository(session).get(organisation_id)
    if organisation is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
    return organisation


async def list_organisations(
    session: AsyncSession, principal: Principal, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[Organisation]:
    """Every organisation (the route admits platform administrators only)."""
    return await OrganisationRepository(session).list(after_id=after_id, limit=limit)


async def get_or_create_organisation(
    session: AsyncSession, slug: str, *, actor: Actor, name: str | None = None
) -> Organisation:
    """The organisation with ``slug``, created (named ``name``, else after its slug) if
    there is none: how the first administrator's organisation comes to exist
    (``astroshield user create``), and the demo organisations of the seed."""
    existing = await OrganisationRepository(session).get_by_slug(slug)
    if existing is not None:
        return existing
    data = OrganisationCreate(name=name or slug, slug=slug)
    return await create_organisation(session, data, actor=actor)
