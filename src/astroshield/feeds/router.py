from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from astroshield.api.deps import SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, make_page
from astroshield.feeds import service
from astroshield.feeds.schemas import FeedRunRead
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/feeds", tags=["feeds"])
# The feeds fill the shared catalog: platform administrators watch them.
FeedsAdmin = Annotated[Principal, Depends(require_scope(Scope.CATALOG_ADMIN))]


@router.get("/runs")
async def list_feed_runs(
    principal: FeedsAdmin, session: SessionDep, page: PageDep
) -> Page[FeedRunRead]:
    """Platform administrators: catalog refreshes and CDM polls, newest first."""
    rows = await service.list_runs(
        session, before_id=cursor_value(page, "id", int), limit=page.limit + 1
    )
    return make_page(
        rows, page, render=FeedRunRead.model_validate, key=lambda row: {"id": str(row.id)}
    )
