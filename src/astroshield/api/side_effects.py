"""Work that must follow a successful commit: notifications about what a request stored.

Domain services collect :class:`~astroshield.alerts.notifiers.Notification` objects while
they write (``alerts.service.observe`` returns one when people must be told); the router
hands them to :func:`notify_after_commit`. They are dispatched only once the request's
transaction committed, and in the background, so a slow webhook never delays the response
and a rolled-back request announces nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import structlog
from fastapi import Request

from astroshield.alerts.notifiers import Notification
from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY
from astroshield.db import UnitOfWork

log = structlog.get_logger(__name__)


def after_commit(request: Request, callback: Callable[[], Awaitable[None]]) -> None:
    unit: UnitOfWork = request.scope["state"][UNIT_OF_WORK_KEY]
    unit.after_commit(callback)


def notify_after_commit(request: Request, notifications: Iterable[Notification]) -> None:
    pending = list(notifications)
    if not pending:
        return
    app = request.app

    async def start_dispatch() -> None:
        dispatcher = app.state.alert_evaluator.dispatcher
        tasks: set[asyncio.Task[None]] = app.state.background_tasks

        async def dispatch_all() -> None:
            for notification in pending:
                try:
                    await dispatcher.dispatch(notification)
                except Exception:  # delivery has its own retries and dead letters
                    log.exception("notification_dispatch_failed", alert=notification.id)

        task = asyncio.get_running_loop().create_task(dispatch_all())
        tasks.add(task)  # a strong reference, so the task is not collected mid-flight
        task.add_done_callback(tasks.discard)

    after_commit(request, start_dispatch)
