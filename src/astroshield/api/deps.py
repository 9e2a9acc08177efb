"""Dependencies shared by routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY
from astroshield.config import Settings
from astroshield.db import UnitOfWork


async def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncSession:
    """The request's session; UnitOfWorkMiddleware commits it before a 2xx is sent."""
    unit: UnitOfWork = request.scope["state"][UNIT_OF_WORK_KEY]
    return unit.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
