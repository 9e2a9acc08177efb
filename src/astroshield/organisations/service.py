from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.errors import ConflictError, FieldError, NotFoundError
from astroshield.organisations.models import Organisation
from astroshield.organisations.repository import OrganisationRepository
from astroshield.organisations.schemas import OrganisationCreate


async def create_organisation(
    repository: OrganisationRepository,
    data: OrganisationCreate,
    *,
    session: AsyncSession,
    actor: Actor,
) -> Organisation:
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
    repository: OrganisationRepository, organisation_id: uuid.UUID
) -> Organisation:
    organisation = await repository.get(organisation_id)
    if organisation is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
    return organisation


async def list_organisations(
    repository: OrganisationRepository, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[Organisation]:
    return await repository.list(after_id=after_id, limit=limit)


async def get_or_create_organisation(
    session: AsyncSession, slug: str, *, actor: Actor
) -> Organisation:
    """The organisation with ``slug``, created (named after its slug) if there is none: how
    the first administrator's organisation comes to exist (``astroshield user create``)."""
    repository = OrganisationRepository(session)
    existing = await repository.get_by_slug(slug)
    if existing is not None:
        return existing
    data = OrganisationCreate(name=slug, slug=slug)
    return await create_organisation(repository, data, session=session, actor=actor)
