"""Invitations: organisation administrators invite e-mail addresses; the invitee accepts
with the token the e-mail carried."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from astroshield.api.deps import (
    ActorDep,
    SecurityDep,
    SessionDep,
    SettingsDep,
    request_actor,
    require_scope,
)
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.api.side_effects import start_after_commit
from astroshield.api.state import state_of
from astroshield.invitations import service
from astroshield.invitations.schemas import InvitationAccept, InvitationCreate, InvitationRead
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.users.schemas import UserRead
from astroshield.users.service import to_read as user_to_read

router = APIRouter(prefix="/invitations", tags=["invitations"])
UserAdmin = Annotated[Principal, Depends(require_scope(Scope.USERS_ADMIN))]
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={503: {"description": "e-mail delivery is not configured"}},
)
async def create_invitation(
    data: InvitationCreate,
    request: Request,
    admin: UserAdmin,
    session: SessionDep,
    security: SecurityDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> InvitationRead:
    """Invite an e-mail address into your organisation with a role. The answer is the same
    whether or not the address has an account anywhere; the token goes only to the
    address, by e-mail, once the invitation is stored."""
    issued = await service.invite(
        session, admin, data, security=security, settings=settings, actor=actor
    )
    start_after_commit(
        request,
        partial(
            service.deliver,
            issued.mail,
            settings=settings,
            sessionmaker=state_of(request).sessionmaker,
            actor=actor,
        ),
    )
    return service.to_read(issued.invitation, security.pii_keys)


@router.get("")
async def list_invitations(
    admin: UserAdmin, session: SessionDep, security: SecurityDep, page: PageDep
) -> Page[InvitationRead]:
    rows = await service.list_invitations(
        session,
        admin,
        after_id=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    return make_page(
        rows, page, render=lambda row: service.to_read(row, security.pii_keys), key=id_key
    )


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    invitation_id: uuid.UUID, admin: UserAdmin, session: SessionDep, actor: ActorDep
) -> Response:
    """The token stops working; the address is erased from the invitation."""
    await service.revoke(session, admin, invitation_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/accept",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "the invited address already has an account"},
        422: {"description": "the token is unknown, expired, revoked or used; weak password"},
    },
)
async def accept_invitation(
    data: InvitationAccept,
    request: Request,
    response: Response,
    session: SessionDep,
    security: SecurityDep,
) -> UserRead:
    """Create your account from an invitation (no login: the token is the credential).
    Then log in with the invited e-mail address and this password."""
    user = await service.accept(
        session,
        data,
        security=security,
        sessionmaker=state_of(request).sessionmaker,
        actor=request_actor(request),
    )
    response.headers.update(NO_STORE)
    return user_to_read(user, security.pii_keys)
