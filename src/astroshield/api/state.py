"""The application's state, typed.

``app.state`` holds what one running app is made of. The lower layers' parts (settings,
security, engines, sessions, Redis, the HTTP client, background tasks) are typed here.
Domain parts (the status cache, the live telemetry hub, the alert evaluator, audit
checkpoints, organisation configuration) cannot be named here without making ``api``
import the domains above it, so they are held in a registry keyed by their type:
``state_of(request).component(StatusCache)`` returns a ``StatusCache`` (checked), and the
domain names the type itself. The two that the request layer uses itself (organisation
page sizes, notification dispatch) are typed by protocols instead.

Components stay reachable under their attribute names (``app.state.status_cache``), which
is what the composition root assigns and tests read.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Protocol, TypeVar, cast, get_origin

import httpx
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from astroshield.api.draining import Drain
from astroshield.config import Settings
from astroshield.security.context import SecurityContext

T = TypeVar("T")


class OrganisationSettings(Protocol):
    """Per-organisation overrides of the settings (``runtime_config``)."""

    def value(self, organisation_id: uuid.UUID, key: str, settings: Settings) -> Any: ...


class NotificationDispatcher(Protocol):
    """Delivers what a request stored to the people who must be told (``alerts``)."""

    async def dispatch(self, notification: Any) -> None: ...


class AppState(State):
    settings: Settings
    # The settings before runtime overrides were applied.
    base_settings: Settings
    applied_overrides: dict[str, Any]
    security: SecurityContext
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Probes open a fresh connection each: a healthy pooled one can hide a database that
    # no longer accepts new connections.
    probe_engine: AsyncEngine
    head_revision: str | None
    redis: Any | None
    http_client: httpx.AsyncClient
    # Short-lived work started by requests (notification dispatch, engine swaps).
    background_tasks: set[asyncio.Task[None]]
    # The lifespan's loops (retention, checkpoints, alert evaluation...), by component name.
    scheduled_loops: dict[str, asyncio.Task[None]]
    started_at: float
    # Set by the first SIGTERM: /readyz answers 503 while the process drains.
    drain: Drain
    organisation_config: OrganisationSettings
    notification_dispatcher: NotificationDispatcher

    def provide(self, name: str, component: object, *, kind: Any = None) -> None:
        """Hold a domain component under ``name``, found by its type (or by ``kind``,
        for a component whose type is a generic alias such as ``TTLCache[K, V]``)."""
        setattr(self, name, component)
        names: dict[Any, str] = self._state.setdefault("_component_names", {})
        names[type(component) if kind is None else kind] = name

    def component(self, kind: type[T]) -> T:
        """The domain component of type ``kind`` (a KeyError names an unwired one)."""
        name = self._state.get("_component_names", {})[kind]
        value = getattr(self, name)
        if not isinstance(value, get_origin(kind) or kind):
            raise TypeError(f"app.state.{name} is a {type(value).__name__}, not {kind}")
        return cast(T, value)


def state_of(connection: HTTPConnection) -> AppState:
    """The typed state of the app serving ``connection``."""
    state: AppState = connection.app.state
    return state


async def _sessionmaker(connection: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    return state_of(connection).sessionmaker


async def _app_state(connection: HTTPConnection) -> AppState:
    return state_of(connection)


AppStateDep = Annotated[AppState, Depends(_app_state)]
# For work that must commit on its own (security events kept although the request fails,
# work continued after the response): the request's own session is ``SessionDep``.
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
