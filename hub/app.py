"""The hub's ASGI application: a pool, the routers, the event fan-out, error handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import api
from hub.audit import record_push
from hub.auth.token_cache import TokenCache
from hub.db import create_pool, warn_without_autovacuum
from hub.errors import install_error_handlers
from hub.finance.depreciation_schedule import DepreciationSchedule, schedule_setting
from hub.migrate import check_schema
from hub.ops.api_docs import install_api_docs
from hub.ops.body_limit import BodyLimitMiddleware
from hub.ops.fast_routes import FastRoutes
from hub.ops.metrics import Metrics, MetricsMiddleware
from hub.ops.openapi import install_openapi
from hub.ops.read_cursors import ReadCursorRecorder
from hub.projections.worker import ProjectionWorker
from hub.settings import HubSettings
from hub.sync.fanout import EventFanout, quiet_gc
from hub.sync.ledger import add_audit_hook
from hub.sync.retention import run_retention_forever
from hub.telemetry.config import TelemetrySettings
from hub.telemetry.retention import run_retention_forever as run_telemetry_retention

log = logging.getLogger(__name__)


def create_app(settings: HubSettings) -> FastAPI:
    """Build the app for a database URL that is already resolved (embedded or configured)."""
    if settings.database_url is None:
        raise ValueError("create_app needs a database URL; `pitline hub serve` starts the embedded server first")
    database_url: str = settings.database_url
    session_url: str = settings.session_url or database_url
    depreciation_tick = schedule_setting()  # read here: a bad value stops the start before anything listens

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_schema(database_url)
        app.state.pool = await create_pool(database_url, min_size=settings.pool_min, max_size=settings.pool_max)
        await warn_without_autovacuum(app.state.pool)
        app.state.token_cache = TokenCache(ttl=settings.token_cache_seconds)
        await app.state.token_cache.start(session_url)
        add_audit_hook(record_push)  # every applied mutation is audited inside its push transaction
        fanout = EventFanout(app.state.pool, settings)
        await fanout.start(session_url)
        app.state.fanout = fanout
        app.state.read_cursors = ReadCursorRecorder(app.state.pool)
        app.state.read_cursors.start()
        # Read models follow the event log; projection runs lock their cursor, so every process may run one.
        projections = ProjectionWorker(session_url)
        await projections.start()
        # Monthly depreciation (D79): every process runs the loop; a session lock lets one tick work at a time.
        depreciation = DepreciationSchedule(session_url, interval_seconds=depreciation_tick) \
            if depreciation_tick else None
        if depreciation is not None:
            await depreciation.start()
        retention = asyncio.create_task(run_retention_forever(app.state.pool, settings.retention_days),
                                        name="event-retention")
        app.state.telemetry_settings = TelemetrySettings.load()
        telemetry = asyncio.create_task(run_telemetry_retention(app.state.pool, app.state.telemetry_settings,
                                                                session_url),
                                        name="telemetry-partitions")
        try:
            yield
        finally:
            retention.cancel()
            telemetry.cancel()
            await projections.stop()
            if depreciation is not None:
                await depreciation.stop()
            await fanout.stop()
            await app.state.read_cursors.stop()
            await app.state.token_cache.stop()
            await app.state.pool.close()

    # Whatever logging the server was started with: uvicorn checks this logger on every response.
    logging.getLogger("uvicorn.access").disabled = not settings.access_log
    # FastAPI's native OpenTelemetry looks up the global providers (environment reads) on every request; the hub
    # reports through its own /metrics and nothing configures OpenTelemetry, so it is off.
    app = FastAPI(title="Pitline hub", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    app.state.metrics = Metrics()
    # Innermost: the hot routes' fast path runs inside the body limit and the metrics, like the routes themselves.
    if settings.fast_routes:
        app.add_middleware(FastRoutes, routes=api.route_list, hot=api.HOT_ROUTES)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)  # inside metrics: 413s are counted
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)
    for router in api.routers():
        app.include_router(router)
    install_openapi(app)
    install_api_docs(app)

    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory hub.app:app_from_environment` (PITLINE_DATABASE_URL must be set)."""
    app = create_app(HubSettings.load())
    quiet_gc()  # a serving process only (not tests building apps in their own process): GC pauses stall streams
    return app
