"""Scheduled evaluation of the rules whose metrics the service samples itself, and the
construction of the notification routes from settings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.engine import Severity
from astroshield.alerts.notifiers import (
    Dispatcher,
    EmailNotifier,
    LogNotifier,
    Notification,
    Route,
    WebhookNotifier,
)
from astroshield.alerts.repository import AlertRepository
from astroshield.alerts.service import (
    BuiltinRule,
    builtin_rules,
    ensure_builtin_rules,
    observe,
    record_dead_letter,
)
from astroshield.alerts.sources import MetricSources
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.observability.metrics import ALERTS_FIRING

log = structlog.get_logger(__name__)


def builtin_rules_from(settings: Settings) -> list[BuiltinRule]:
    return builtin_rules(
        error_rate_per_minute=settings.alert_error_rate_per_minute,
        p95_latency_ms=settings.alert_p95_latency_ms,
        memory_percent=settings.alert_memory_percent,
        cpu_percent=settings.alert_cpu_percent,
    )


def dead_letter_sink(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Callable[[Notification, str, str], Awaitable[None]]:
    async def sink(notification: Notification, notifier: str, reason: str) -> None:
        async with session_scope(sessionmaker) as session:
            await record_dead_letter(session, notification, notifier, reason)

    return sink


def dispatcher_from(
    settings: Settings, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> Dispatcher:
    sink = dead_letter_sink(sessionmaker)
    routes = [Route(LogNotifier(), rate=settings.alert_notification_rate)]
    secret = settings.alert_webhook_secret
    for index, url in enumerate(settings.alert_webhook_urls):
        if secret is None:
            raise ValueError("ASTROSHIELD_ALERT_WEBHOOK_SECRET is required for webhooks")
        routes.append(
            Route(
                WebhookNotifier(
                    url,
                    secret.get_secret_value().encode(),
                    client=client,
                    max_attempts=settings.alert_webhook_max_attempts,
                    base_delay_s=settings.alert_webhook_base_delay_s,
                    dead_letter=sink,
                    name=f"webhook-{index}",
                ),
                min_severity=Severity(settings.alert_webhook_min_severity),
                rate=settings.alert_notification_rate,
            )
        )
    if settings.alert_email_to and settings.smtp_host:
        routes.append(
            Route(
                EmailNotifier(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.alert_email_from,
                    recipients=settings.alert_email_to,
                    username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value()
                    if settings.smtp_password
                    else None,
                    start_tls=settings.smtp_starttls,
                    dead_letter=sink,
                ),
                min_severity=Severity(settings.alert_email_min_severity),
                rate=settings.alert_notification_rate,
            )
        )
    return Dispatcher(routes)


class Evaluator:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        sources: MetricSources,
        builtin: list[BuiltinRule],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.dispatcher = dispatcher
        self.sources = sources
        self.builtin = builtin
        self._rules_ready = False

    def use_settings(self, settings: Settings) -> None:
        """New thresholds from runtime configuration: the rules are rewritten next cycle."""
        self.builtin = builtin_rules_from(settings)
        self._rules_ready = False

    async def run_once(self, *, now: datetime | None = None) -> list[Notification]:
        """One cycle: sample, evaluate, persist (one transaction), then notify."""
        now = now or datetime.now(UTC)
        values = await self.sources.sample(now.timestamp())
        notifications: list[Notification] = []
        async with session_scope(self.sessionmaker) as session:
            repository = AlertRepository(session)
            if not await repository.try_evaluator_lock():
                return []  # another replica evaluates this cycle
            if not self._rules_ready:
                await ensure_builtin_rules(session, self.builtin)
                self._rules_ready = True
            for rule in await repository.enabled_rules():
                value = values.get(rule.metric)
                if value is None:
                    continue  # not a sampled metric: evaluated when its events arrive
                notification = await observe(session, rule, value, now)
                if notification is not None:
                    notifications.append(notification)
            counts = await repository.firing_counts()
        for severity in Severity:
            ALERTS_FIRING.labels(severity.value).set(counts.get(severity.value, 0))
        # After the commit: a notification never announces a state that was rolled back.
        for notification in notifications:
            await self.dispatcher.dispatch(notification)
        return notifications

    async def run_forever(self, interval_s: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # one failed cycle must not stop alerting
                log.exception("alert_evaluation_failed")
            await asyncio.sleep(interval_s)
