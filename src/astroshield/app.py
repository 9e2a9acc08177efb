"""The ASGI application: ``create_app(settings)`` wires middleware, routers and lifespan."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import HTTPConnection

from astroshield import __version__
from astroshield.alerts.evaluator import Evaluator, builtin_rules_from, dispatcher_from
from astroshield.alerts.router import router as alerts_router
from astroshield.alerts.sources import MetricSources
from astroshield.api.deps import request_actor
from astroshield.api.docs import install_offline_docs
from astroshield.api.draining import Drain, drain_on_sigterm
from astroshield.api.edge import EdgeMiddleware
from astroshield.api.middleware import RequestGuardMiddleware
from astroshield.api.ratelimit import ClientRateLimitMiddleware
from astroshield.api.state import AppState, state_of
from astroshield.audit.checkpoints import CheckpointWriter, write_scheduled_checkpoint
from astroshield.audit.keys import audit_chain_keys
from astroshield.audit.repository import ChainHead
from astroshield.audit.router import router as audit_router
from astroshield.audit.service import record_detached
from astroshield.auth.repository import AuthRepository
from astroshield.auth.router import router as auth_router
from astroshield.catalog.router import UPLOAD_MEDIA_TYPES_BY_PATH as CATALOG_MEDIA_TYPES
from astroshield.catalog.router import router as catalog_router
from astroshield.ccdm.router import router as ccdm_router
from astroshield.config import Settings, get_settings
from astroshield.conjunction.router import BODY_MEDIA_TYPES as CONJUNCTION_MEDIA_TYPES
from astroshield.conjunction.router import router as conjunction_router
from astroshield.conjunction.service.screening_jobs import fail_interrupted_screenings
from astroshield.console.serving import install_console
from astroshield.db import (
    create_engine,
    create_sessionmaker,
    create_unpooled_engine,
    session_scope,
    utcnow,
)
from astroshield.errors import install_error_handlers
from astroshield.events.relay import OUTBOX_RELAY, Relay
from astroshield.events.router import router as events_router
from astroshield.features import service as features
from astroshield.features.gate import FeatureDisabledError, feature_disabled_response
from astroshield.features.router import router as features_router
from astroshield.features.service import FeatureFlags
from astroshield.feeds.followups import default_followups
from astroshield.feeds.router import router as feeds_router
from astroshield.feeds.scheduler import start_feed_schedules
from astroshield.health.router import probes as health_probes
from astroshield.health.router import router as health_router
from astroshield.health.service import check_all, check_database
from astroshield.inbound.consumer import INBOUND_CONSUMER, InboundConsumer
from astroshield.invitations.router import router as invitations_router
from astroshield.jobs.router import router as jobs_router
from astroshield.jobs.service import JobRunner, every, period_key
from astroshield.migrate import head_revision, upgrade_async
from astroshield.mlops.router import router as mlops_router
from astroshield.mlops.serving import ModelServer
from astroshield.observability import components, metrics, tracing
from astroshield.observability.logging import configure_logging
from astroshield.organisations.router import router as organisations_router
from astroshield.retention.service import apply_retention
from astroshield.runtime_config import service as runtime_config
from astroshield.runtime_config.catalogue import OrganisationConfig
from astroshield.runtime_config.router import router as runtime_config_router
from astroshield.security.context import SecurityConfigError, build_security
from astroshield.security.grants import AccountState
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.spacecraft.router import router as spacecraft_router
from astroshield.spacecraft.service import StatusCache
from astroshield.telemetry.limits_router import router as telemetry_limits_router
from astroshield.telemetry.live import LiveHub
from astroshield.telemetry.live_router import router as telemetry_live_router
from astroshield.telemetry.partitions import ensure_partitions_ahead
from astroshield.telemetry.router import BODY_MEDIA_TYPES as TELEMETRY_MEDIA_TYPES
from astroshield.telemetry.router import HANDLER_CHECKED_JSON as TELEMETRY_CHECKED_JSON
from astroshield.telemetry.router import router as telemetry_router
from astroshield.trajectory.router import router as trajectory_router
from astroshield.users.router import router as users_router
from astroshield.webhooks.dispatcher import WEBHOOK_DISPATCHER, Dispatcher
from astroshield.webhooks.router import router as webhooks_router

API_PREFIX = "/api/v1"
log = structlog.get_logger(__name__)


def _redis_client(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis.asyncio as redis

    return redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)


async def _account_state(
    session: AsyncSession, user_id: uuid.UUID, token_id: str, login_id: str | None
) -> AccountState | None:
    return await AuthRepository(session).account_state(user_id, token_id, login_id)


async def _audit_permission_denied(
    connection: HTTPConnection, principal: Principal, scope: Scope
) -> None:
    await record_detached(
        state_of(connection).sessionmaker,
        request_actor(connection, principal).event(
            "auth.permission_denied",
            object_type="route",
            object_id=connection.url.path,
            scope=scope,
            method=connection.scope.get("method"),
        ),
    )


async def _retention_once(state: AppState) -> None:
    """One retention job per period, run by whichever replica claims it first."""
    # Read each time: runtime configuration may have changed the batch size.
    settings = state.settings

    async def retention() -> dict[str, Any]:
        report = await apply_retention(
            state.sessionmaker,
            settings,
            dry_run=False,
            checkpoints=state.component(CheckpointWriter),
        )
        log.info("retention_run", ran=report.ran, deleted=report.total)
        for notification in report.notifications:  # committed: the change is real
            await state.notification_dispatcher.dispatch(notification)
        return {"ran": report.ran, "deleted": report.total}

    key = period_key(utcnow(), settings.retention_interval_s)
    await state.component(JobRunner).run("retention", key, retention)


def _audit_checkpoints(state: AppState) -> Callable[[], Awaitable[None]]:
    """Scheduled audit checkpoints; replicas contend for one lock per cycle."""
    last: ChainHead | None = None

    async def once() -> None:
        nonlocal last
        last = await write_scheduled_checkpoint(
            state.sessionmaker, state.component(CheckpointWriter), last
        )

    return once


async def _recover_interrupted_work(state: AppState) -> None:
    try:
        await fail_interrupted_screenings(state.sessionmaker)
        # PostgreSQL: today's and the next days' sample partitions (telemetry.partitions).
        await ensure_partitions_ahead(
            state.sessionmaker, state.settings.telemetry_partitions_ahead_days
        )
        # Until loaded, every flag has its default from the environment.
        await _load_feature_flags(state)
    except Exception:  # e.g. a database not migrated yet: /readyz reports it, start anyway
        log.exception("startup_recovery_failed")


async def _load_feature_flags(state: AppState) -> None:
    async with session_scope(state.sessionmaker) as session:
        platform, organisations = await features.stored_values(session)
    state.component(FeatureFlags).store.replace_all(platform, organisations)


async def _runtime_config_loop(state: AppState) -> None:
    """Pick up runtime configuration (and feature flags) another replica changed."""
    interval = state.base_settings.runtime_config_refresh_s
    while True:
        try:
            async with session_scope(state.sessionmaker) as session:
                overrides, organisation_overrides = await runtime_config.stored_overrides(session)
            runtime_config.apply_platform_overrides(state, overrides)
            state.component(OrganisationConfig).replace_all(organisation_overrides)
            await _load_feature_flags(state)
        except Exception:  # a failed refresh keeps the last good configuration
            log.exception("runtime_config_refresh_failed")
        await asyncio.sleep(interval)


def _alert_evaluator(state: AppState) -> Evaluator:
    settings = state.settings

    async def database_up() -> bool:
        health = await check_database(
            state.probe_engine, state.head_revision, settings.readiness_timeout_s
        )
        return health.status == "ok"

    registry = REGISTRY
    if metrics.multiprocess_dir():
        # Every worker's counters, not just this one's: only one worker evaluates.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Evaluator(
        state.sessionmaker,
        dispatcher_from(settings, state.http_client, state.sessionmaker),
        MetricSources(registry=registry, database_probe=database_up),
        builtin_rules_from(settings),
    )


def state_of_app(app: FastAPI) -> AppState:
    return cast(AppState, app.state)


class _EvaluatorDispatch:
    """Notification dispatch through whichever alert evaluator the app holds now."""

    def __init__(self, state: AppState) -> None:
        self._state = state

    async def dispatch(self, notification: Any) -> None:
        await self._state.component(Evaluator).dispatcher.dispatch(notification)


async def _open_databases(state: AppState, settings: Settings) -> None:
    if settings.migrate_on_start:
        await upgrade_async(settings)
    engine = create_engine(settings)
    state.engine = engine
    # Per engine: every app (tests build many in one process) owns its engine.
    tracing.instrument_engine(engine)
    state.sessionmaker = create_sessionmaker(engine)
    # Probes open a fresh connection: a healthy pooled one can hide a database that
    # no longer accepts new connections.
    state.probe_engine = create_unpooled_engine(settings)
    state.head_revision = head_revision(settings)


def _start_loops(state: AppState, settings: Settings) -> dict[str, asyncio.Task[None]]:
    """The scheduled work this configuration asks for, by component name (the
    ``astroshield_component_up`` gauge reports each)."""
    loops: dict[str, asyncio.Task[None]] = {}
    if settings.retention_interval_s > 0:
        loops[components.RETENTION] = asyncio.create_task(
            every(
                lambda: state.settings.retention_interval_s,
                components.RETENTION,
                lambda: _retention_once(state),
            )
        )
    if settings.audit_checkpoint_interval_s > 0:
        loops[components.AUDIT_CHECKPOINTS] = asyncio.create_task(
            every(
                lambda: state.settings.audit_checkpoint_interval_s,
                components.AUDIT_CHECKPOINTS,
                _audit_checkpoints(state),
            )
        )
    if settings.metrics_enabled:
        metrics.instrument_engine(state.engine)
        metrics.update_pool_gauges(state.engine)
        loops[components.RUNTIME_GAUGES] = asyncio.create_task(
            metrics.runtime_loop(lambda: state.engine)
        )
    if settings.runtime_config_refresh_s > 0:
        loops[components.RUNTIME_CONFIG_REFRESH] = asyncio.create_task(_runtime_config_loop(state))
    return loops


async def _refresh_components(state: AppState) -> None:
    """Before a scrape: the readiness probes (they record their verdicts) and the loops."""
    if not hasattr(state, "probe_engine"):
        return  # the lifespan has not opened the databases yet
    settings = state.settings
    await check_all(
        state.probe_engine, state.head_revision, state.redis, settings.readiness_timeout_s
    )
    components.record_loops(state.scheduled_loops)


async def _close(
    state: AppState, engine: AsyncEngine, loops: dict[str, asyncio.Task[None]]
) -> None:
    tasks = list(loops.values())
    for name in loops:  # stopped on purpose: not a failing component
        components.record_component(name, None)
    swaps = list(getattr(state, "background_tasks", ()))
    for task in [*tasks, *swaps]:
        task.cancel()
    await asyncio.gather(*tasks, *swaps, return_exceptions=True)

    await state.security.invalidations.stop()
    await state.component(LiveHub).stop()
    await state.component(ModelServer).stop()
    if state.redis is not None:
        await state.redis.aclose()
    await state.http_client.aclose()
    state.component(CheckpointWriter).close()
    await state.engine.dispose()  # the one in use: runtime config may have swapped it
    if state.engine is not engine:
        await engine.dispose()
    await state.probe_engine.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = state_of_app(app)
    settings = state.settings
    await _open_databases(state, settings)
    engine = state.engine
    state.redis = _redis_client(settings)
    await state.security.invalidations.start()
    await state.component(LiveHub).start()
    await state.component(ModelServer).start()
    state.started_at = time.monotonic()
    state.provide("job_runner", JobRunner.from_settings(state.sessionmaker, settings))
    undrain = drain_on_sigterm(state.drain, settings.shutdown_drain_s)
    await _recover_interrupted_work(state)
    state.background_tasks = set()
    background = state.scheduled_loops = _start_loops(state, settings)
    state.http_client = httpx.AsyncClient()
    evaluator = _alert_evaluator(state)
    state.provide("alert_evaluator", evaluator)
    state.notification_dispatcher = _EvaluatorDispatch(state)
    if settings.alert_evaluation_interval_s > 0:
        background[components.ALERT_EVALUATOR] = asyncio.create_task(
            evaluator.run_forever(settings.alert_evaluation_interval_s)
        )
    relay = Relay.from_settings(state.sessionmaker, settings)
    state.provide("outbox_relay", relay)
    if settings.outbox_relay_interval_s > 0:
        background[OUTBOX_RELAY] = asyncio.create_task(
            relay.run_forever(settings.outbox_relay_interval_s)
        )
    # Catalog feeds: scheduled refresh and CDM poll (each off at 0), one replica at a time.
    background.update(
        start_feed_schedules(
            state.sessionmaker,
            settings,
            default_followups(settings, state.notification_dispatcher.dispatch),
            state.component(JobRunner),
            state.notification_dispatcher.dispatch,
        )
    )
    if settings.nats_url is not None and settings.inbound_enabled:  # docs/inbound.md
        background[INBOUND_CONSUMER] = asyncio.create_task(
            InboundConsumer(state, settings).run_forever()
        )
    webhooks = Dispatcher.from_settings(state.sessionmaker, settings, state.security.pii_keys)
    state.provide("webhook_dispatcher", webhooks)
    if settings.webhook_dispatch_interval_s > 0:
        background[WEBHOOK_DISPATCHER] = asyncio.create_task(
            webhooks.run_forever(settings.webhook_dispatch_interval_s)
        )
    metrics_listener = (
        metrics.start_metrics_listener(
            settings.metrics_address,
            settings.metrics_token,
            lambda: getattr(state, "engine", None),
            before_scrape=metrics.from_thread(
                lambda: _refresh_components(state), settings.readiness_timeout_s
            ),
        )
        if settings.metrics_enabled and settings.metrics_address is not None
        else None
    )
    how, open_to_all = metrics.exposure(settings)
    (log.warning if open_to_all else log.info)("metrics_exposure", metrics=how)
    log.info("service_started", version=__version__, profile=settings.profile)
    try:
        yield
    finally:
        undrain()
        await _close(state, engine, background)
        await relay.close()
        await webhooks.close()
        if metrics_listener is not None:
            await asyncio.to_thread(metrics_listener.close)
        if settings.metrics_enabled:
            metrics.mark_worker_dead()
        tracing.flush()
        log.info("service_stopped")


# Probes and scrapes would fill traces with noise.
_UNTRACED_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _UNTRACED_PATHS


def _include_routers(app: FastAPI) -> None:
    # Hot routes first: matching walks the list in order, at a few microseconds a route.
    for router in (
        spacecraft_router,
        trajectory_router,
        conjunction_router,
        catalog_router,
        ccdm_router,
        alerts_router,
        runtime_config_router,
        features_router,
        auth_router,
        users_router,
        invitations_router,
        audit_router,
        organisations_router,
        telemetry_limits_router,
        telemetry_live_router,
        # After every other telemetry router: its /telemetry/{parameter} would match theirs.
        telemetry_router,
        health_router,
        events_router,
        jobs_router,
        feeds_router,
        webhooks_router,
        mlops_router,
    ):
        app.include_router(router, prefix=API_PREFIX)


def _add_middleware(app: FastAPI, settings: Settings, state: AppState) -> None:
    # Added last = outermost. The edge (request id, metrics, unit of work, security
    # headers) sees every request, refusals (401/413/415/429) included; a client over its
    # budget or a body the guard refuses never opens a session (the unit of work opens one
    # on first use). FastAPI's request span (when tracing is on) wraps all of them: it is
    # opened in FastAPI.__call__, before the middleware stack.
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        extra_media_types={
            **CONJUNCTION_MEDIA_TYPES,
            **CATALOG_MEDIA_TYPES,
            **TELEMETRY_MEDIA_TYPES,
        },
        handler_checked_json=TELEMETRY_CHECKED_JSON,
    )
    if settings.rate_limit_enabled:
        app.add_middleware(
            ClientRateLimitMiddleware,
            limiter=state.security.limiter,
            limit=settings.rate_limit_client,
            metrics_limit=settings.rate_limit_metrics,
            trusted_proxies=settings.trusted_proxies,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
        )
    app.add_middleware(
        EdgeMiddleware,
        hsts=settings.profile == "prod",
        metrics=metrics.RequestMetrics() if settings.metrics_enabled else None,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    # Installs the global tracer provider once per process, only with an OTLP endpoint.
    tracing.configure_tracing(settings)
    app = FastAPI(
        # FastAPI's native telemetry makes the request spans (it is active only when a
        # tracer provider is installed). Metrics are Prometheus' and logs structlog's.
        # Its per-request dependency/endpoint/serialization spans are off: they doubled
        # the cost of tracing an unsampled request (measured); SQL and httpx spans hang
        # directly under the request span, and span() marks the business steps.
        telemetry={
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "exclude": _untraced,
        },
        title="AstroShield",
        version=__version__,
        description="Space domain awareness: spacecraft registry and status, telemetry, "
        "conjunction screening and collision probability, CCDM intent analysis.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    state = AppState()
    app.state = state
    state.settings = settings
    state.base_settings = settings
    state.drain = Drain()
    organisation_config = OrganisationConfig()
    state.provide("organisation_config", organisation_config)
    # Built now, not in the lifespan: a misconfigured key stops the service from starting.
    state.security = build_security(
        settings,
        load_account_state=_account_state,
        permission_denied=_audit_permission_denied,
    )
    if metrics.exposure(settings)[1] and settings.profile == "prod":
        raise SecurityConfigError(
            "/metrics would be open to anyone in prod: set ASTROSHIELD_METRICS_TOKEN, serve "
            "it on a separate ASTROSHIELD_METRICS_ADDRESS, or set ASTROSHIELD_METRICS_ENABLED"
            "=false"
        )
    audit_chain_keys(settings)  # likewise: prod refuses to chain the audit log unkeyed
    state.provide("audit_checkpoints", CheckpointWriter.from_settings(settings))
    state.provide(
        "status_cache",
        StatusCache(
            ttl_s=settings.status_cache_ttl_s, max_entries=settings.status_cache_max_entries
        ),
        kind=StatusCache,
    )
    state.provide(
        "telemetry_hub",
        LiveHub(
            settings.telemetry_ws_queue_size,
            redis_url=settings.redis_url,
            channel=f"{settings.rate_limit_namespace}-telemetry-live",
        ),
    )
    state.provide("feature_flags", FeatureFlags(lambda: state.settings))
    state.provide(
        "ml_models",
        ModelServer.for_settings(settings, lambda: state.settings.ml_registry_check_s),
    )
    install_error_handlers(app)
    app.add_exception_handler(FeatureDisabledError, feature_disabled_response)

    _include_routers(app)
    app.include_router(health_probes)
    if settings.metrics_enabled and settings.metrics_address is None:
        metrics.install_metrics_route(
            app, settings.metrics_token, before_scrape=lambda: _refresh_components(state)
        )
    install_offline_docs(app)
    install_console(app)

    _add_middleware(app, settings, state)
    return app
