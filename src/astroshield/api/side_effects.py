"""Work that must follow a successful commit: notifications about what a request stored.

Domain services collect notifications (``alerts.notifiers.Notification``) while they write
(``alerts.service.observe`` returns one when people must be told); the router hands them
to :func:`notify_after_commit`, which gives them to the app's notification dispatcher
(wired by the composition root: this layer does not know the alerts domain). They are
dispatched only once the request's transaction committed, and in the background, so a
slow webhook never delays the response and a rolled-back request announces nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from fastapi import Request

from astroshield.api.state import state_of
from astroshield.api.unit_of_work import UNIT_OF_WORK_KEY
from astroshield.db import UnitOfWork

log = structlog.get_logger(__name__)


def after_commit(request: Request, callback: Callable[[], Awaitable[None]]) -> None:
    unit: UnitOfWork = request.scope["state"][UNIT_OF_WORK_KEY]
    unit.after_commit(callback)


def start_after_commit(request: Request, work: Callable[[], Awaitable[None]]) -> None:
    """Start ``work`` in the background once the request's transaction has committed: the
    response does not wait for it, and a rolled-back request starts nothing."""
    state = state_of(request)

    async def start() -> None:
        tasks = state.background_tasks

        async def run() -> None:
            try:
                await work()
            except Exception:  # nobody awaits the task: the log is where a failure shows
                log.exception("background_work_failed")

        task = asyncio.get_running_loop().create_task(run())
        tasks.add(task)  # a strong reference, so the task is not collected mid-flight
        task.add_done_callback(tasks.discard)

    after_commit(request, start)


def notify_after_commit(request: Request, notifications: Iterable[Any]) -> None:
    pending = list(notifications)
    if not pending:
        return
    state = state_of(request)

    async def dispatch_all() -> None:
        dispatcher = state.notification_dispatcher
        for notification in pending:
            try:
                await dispatcher.dispatch(notification)
            except Exception:  # delivery has its own retries and dead letters
                log.exception(
                    "notification_dispatch_failed", alert=getattr(notification, "id", None)
                )

    start_after_commit(request, dispatch_all)
