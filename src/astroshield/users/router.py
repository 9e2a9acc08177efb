"""Organisation administrators manage their own organisation's accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from astroshield.api.deps import ActorDep, SecurityDep, SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.api.state import state_of
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.users import service
from astroshield.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])
UserAdmin = Annotated[Principal, Depends(require_scope(Scope.USERS_ADMIN))]
# Creating an account answers 409 for an e-mail registered in any organisation, which only
# a platform administrator may learn; organisation administrators invite instead.
PlatformAdmin = Annotated[Principal, Depends(require_scope(Scope.ORGANISATIONS_ADMIN))]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_user(
    data: UserCreate,
    admin: PlatformAdmin,
    session: SessionDep,
    security: SecurityDep,
    actor: ActorDep,
) -> UserRead:
    """Create an account in the administrator's own organisation (platform administrators;
    organisation administrators use `POST /invitations`)."""
    user = await service.create_user(
        session, admin.organisation_id, data, security=security, actor=actor
    )
    return service.to_read(user, security.pii_keys)


@router.get("")
async def list_users(
    admin: UserAdmin, session: SessionDep, security: SecurityDep, page: PageDep
) -> Page[UserRead]:
    rows = await service.list_users(
        session, admin, after_id=cursor_value(page, "id", uuid.UUID), limit=page.limit + 1
    )
    return make_page(
        rows, page, render=lambda user: service.to_read(user, security.pii_keys), key=id_key
    )


@router.get("/{user_id}")
async def get_user(
    user_id: uuid.UUID, admin: UserAdmin, session: SessionDep, security: SecurityDep
) -> UserRead:
    user = await service.get_user(session, admin, user_id)
    return service.to_read(user, security.pii_keys)


@router.patch("/{user_id}")
async def update_user(
    user_id: uuid.UUID,
    data: UserUpdate,
    request: Request,
    admin: UserAdmin,
    session: SessionDep,
    security: SecurityDep,
    actor: ActorDep,
) -> UserRead:
    """Platform administrators' accounts are changed only by platform administrators."""
    user = await service.update_user(
        session,
        admin,
        user_id,
        data,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=actor,
    )
    return service.to_read(user, security.pii_keys)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def erase_user(
    user_id: uuid.UUID,
    request: Request,
    admin: UserAdmin,
    session: SessionDep,
    security: SecurityDep,
    actor: ActorDep,
) -> Response:
    """Deactivate the account and erase its personal data (name, e-mail, phone)."""
    await service.delete_user(
        session,
        admin,
        user_id,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=actor,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
