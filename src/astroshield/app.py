"""The ASGI application: ``create_app(settings)`` wires middleware, routers and lifespan."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from astroshield import __version__
from astroshield.alerts.evaluator import Evaluator, builtin_rules_from, dispatcher_from
from astroshield.alerts.router import router as alerts_router
from astroshield.alerts.sources import MetricSources
from astroshield.api.edge import EdgeMiddleware
from astroshield.api.middleware import DOCUMENT_HEADERS, RequestGuardMiddleware
from astroshield.audit.checkpoints import CheckpointWriter, write_scheduled_checkpoint
from astroshield.audit.keys import audit_chain_keys
from astroshield.audit.repository import ChainHead
from astroshield.audit.router import router as audit_router
from astroshield.auth.router import router as auth_router
from astroshield.catalog.router import UPLOAD_MEDIA_TYPES_BY_PATH as CATALOG_MEDIA_TYPES
from astroshield.catalog.router import router as catalog_router
from astroshield.ccdm.router import router as ccdm_router
from astroshield.config import Settings, get_settings
from astroshield.conjunction.router import BODY_MEDIA_TYPES as CONJUNCTION_MEDIA_TYPES
from astroshield.conjunction.router import router as conjunction_router
from astroshield.conjunction.service.screening_jobs import fail_interrupted_screenings
from astroshield.db import (
    create_engine,
    create_sessionmaker,
    create_unpooled_engine,
    session_scope,
)
from astroshield.errors import install_error_handlers
from astroshield.health.router import probes as health_probes
from astroshield.health.router import router as health_router
from astroshield.health.service import check_database
from astroshield.invitations.router import router as invitations_router
from astroshield.migrate import head_revision, upgrade_async
from astroshield.observability import metrics, tracing
from astroshield.observability.logging import configure_logging
from astroshield.organisations.router import router as organisations_router
from astroshield.retention.service import apply_retention
from astroshield.runtime_config.catalogue import OrganisationConfig
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.router import apply_to_app
from astroshield.runtime_config.router import router as runtime_config_router
from astroshield.security.context import SecurityConfigError, build_security
from astroshield.security.ratelimit import ClientRateLimitMiddleware
from astroshield.spacecraft.router import router as spacecraft_router
from astroshield.spacecraft.service import StatusCache
from astroshield.telemetry.limits_router import router as telemetry_limits_router
from astroshield.telemetry.live import LiveHub
from astroshield.telemetry.live_router import router as telemetry_live_router
from astroshield.telemetry.router import BODY_MEDIA_TYPES as TELEMETRY_MEDIA_TYPES
from astroshield.telemetry.router import HANDLER_CHECKED_JSON as TELEMETRY_CHECKED_JSON
from astroshield.telemetry.router import router as telemetry_router
from astroshield.trajectory.router import router as trajectory_router
from astroshield.users.router import router as users_router

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/_docs-assets"
log = structlog.get_logger(__name__)


def _redis_client(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis.asyncio as redis

    return redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)


async def _retention_loop(app: FastAPI) -> None:
    """Scheduled retention; replicas contend for one lock, so one of them does the work."""
    while True:
        # Read each time: runtime configuration may have changed the batch size.
        settings: Settings = app.state.settings
        await asyncio.sleep(settings.retention_interval_s)
        try:
            report = await apply_retention(
                app.state.sessionmaker,
                settings,
                dry_run=False,
                checkpoints=app.state.audit_checkpoints,
            )
            log.info("retention_run", ran=report.ran, deleted=report.total)
            for notification in report.notifications:  # committed: the change is real
                await app.state.alert_evaluator.dispatcher.dispatch(notification)
        except Exception:  # a failed run must not end the schedule
            log.exception("retention_failed")


async def _audit_checkpoint_loop(app: FastAPI) -> None:
    """Scheduled audit checkpoints; replicas contend for one lock per cycle."""
    last: ChainHead | None = None
    while True:
        await asyncio.sleep(app.state.settings.audit_checkpoint_interval_s)
        try:
            last = await write_scheduled_checkpoint(
                app.state.sessionmaker, app.state.audit_checkpoints, last
            )
        except Exception:  # a failed checkpoint must not end the schedule
            log.exception("audit_checkpoint_failed")


async def _recover_interrupted_work(app: FastAPI) -> None:
    try:
        await fail_interrupted_screenings(app.state.sessionmaker)
    except Exception:  # e.g. a database not migrated yet: /readyz reports it, start anyway
        log.exception("startup_recovery_failed")


async def _runtime_config_loop(app: FastAPI) -> None:
    """Pick up runtime configuration another replica changed."""
    interval = app.state.base_settings.runtime_config_refresh_s
    while True:
        try:
            async with session_scope(app.state.sessionmaker) as session:
                repository = RuntimeConfigRepository(session)
                overrides = await repository.all()
                organisation_overrides = await repository.every_organisation()
            apply_to_app(app, overrides)
            app.state.organisation_config.replace_all(organisation_overrides)
        except Exception:  # a failed refresh keeps the last good configuration
            log.exception("runtime_config_refresh_failed")
        await asyncio.sleep(interval)


def _alert_evaluator(app: FastAPI) -> Evaluator:
    settings: Settings = app.state.settings

    async def database_up() -> bool:
        health = await check_database(
            app.state.probe_engine, app.state.head_revision, settings.readiness_timeout_s
        )
        return health.status == "ok"

    registry = REGISTRY
    if metrics.multiprocess_dir():
        # Every worker's counters, not just this one's: only one worker evaluates.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Evaluator(
        app.state.sessionmaker,
        dispatcher_from(settings, app.state.http_client, app.state.sessionmaker),
        MetricSources(registry=registry, database_probe=database_up),
        builtin_rules_from(settings),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.migrate_on_start:
        await upgrade_async(settings)
    engine = create_engine(settings)
    app.state.engine = engine
    # Per engine: every app (tests build many in one process) owns its engine.
    tracing.instrument_engine(engine)
    app.state.sessionmaker = create_sessionmaker(engine)
    # Probes open a fresh connection: a healthy pooled one can hide a database that
    # no longer accepts new connections.
    app.state.probe_engine = create_unpooled_engine(settings)
    app.state.head_revision = head_revision(settings)
    app.state.redis = _redis_client(settings)
    await app.state.security.invalidations.start()
    app.state.started_at = time.monotonic()
    await _recover_interrupted_work(app)
    background: list[asyncio.Task[None]] = []
    # Short-lived work started by requests (notification dispatch, engine swaps).
    app.state.background_tasks = set()
    if settings.retention_interval_s > 0:
        background.append(asyncio.create_task(_retention_loop(app)))
    if settings.audit_checkpoint_interval_s > 0:
        background.append(asyncio.create_task(_audit_checkpoint_loop(app)))
    if settings.metrics_enabled:
        metrics.instrument_engine(engine)
        metrics.update_pool_gauges(engine)
        background.append(asyncio.create_task(metrics.runtime_loop(lambda: app.state.engine)))

    if settings.runtime_config_refresh_s > 0:
        background.append(asyncio.create_task(_runtime_config_loop(app)))
    app.state.http_client = httpx.AsyncClient()
    app.state.alert_evaluator = _alert_evaluator(app)
    if settings.alert_evaluation_interval_s > 0:
        background.append(
            asyncio.create_task(
                app.state.alert_evaluator.run_forever(settings.alert_evaluation_interval_s)
            )
        )
    metrics_listener = (
        metrics.start_metrics_listener(
            settings.metrics_address,
            settings.metrics_token,
            lambda: getattr(app.state, "engine", None),
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
        swaps = list(getattr(app.state, "background_tasks", ()))
        for task in [*background, *swaps]:
            task.cancel()
        await asyncio.gather(*background, *swaps, return_exceptions=True)

        await app.state.security.invalidations.stop()
        if app.state.redis is not None:
            await app.state.redis.aclose()
        await app.state.http_client.aclose()
        app.state.audit_checkpoints.close()
        await app.state.engine.dispose()  # the one in use: runtime config may have swapped it
        if app.state.engine is not engine:
            await engine.dispose()

        await app.state.probe_engine.dispose()
        if metrics_listener is not None:
            await asyncio.to_thread(metrics_listener.close)
        if settings.metrics_enabled:
            metrics.mark_worker_dead()
        tracing.flush()
        log.info("service_stopped")


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI served from the swagger-ui-bundle package, so the docs work offline."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs")

    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} API",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    )
    body = bytes(page.body)
    # A strict CSP: scripts only from us, the one inline bootstrap script by its hash.
    inline_hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in re.findall(rb"<script>(.*?)</script>", body, flags=re.DOTALL)
    )
    csp = (
        f"default-src 'none'; script-src 'self' {inline_hashes}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(body, headers={"content-security-policy": csp, **DOCUMENT_HEADERS})

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers.update(DOCUMENT_HEADERS)
        return page


# Probes and scrapes would fill traces with noise.
_UNTRACED_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _UNTRACED_PATHS


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
    app.state.settings = settings
    app.state.base_settings = settings
    app.state.organisation_config = OrganisationConfig()
    # Built now, not in the lifespan: a misconfigured key stops the service from starting.
    app.state.security = build_security(settings)
    if metrics.exposure(settings)[1] and settings.profile == "prod":
        raise SecurityConfigError(
            "/metrics would be open to anyone in prod: set ASTROSHIELD_METRICS_TOKEN, serve "
            "it on a separate ASTROSHIELD_METRICS_ADDRESS, or set ASTROSHIELD_METRICS_ENABLED"
            "=false"
        )
    audit_chain_keys(settings)  # likewise: prod refuses to chain the audit log unkeyed
    app.state.audit_checkpoints = CheckpointWriter.from_settings(settings)
    app.state.status_cache = StatusCache(
        ttl_s=settings.status_cache_ttl_s, max_entries=settings.status_cache_max_entries
    )
    app.state.telemetry_hub = LiveHub(settings.telemetry_ws_queue_size)
    install_error_handlers(app)

    # Hot routes first: matching walks the list in order, at a few microseconds a route.
    for router in (
        spacecraft_router,
        trajectory_router,
        conjunction_router,
        catalog_router,
        ccdm_router,
        alerts_router,
        runtime_config_router,
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
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_probes)
    if settings.metrics_enabled and settings.metrics_address is None:
        metrics.install_metrics_route(app, settings.metrics_token)
    _install_offline_docs(app)

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
            limiter=app.state.security.limiter,
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
    return app
