"""The FastAPI application: partner pushes, enquiries, officer and operator endpoints, console."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from services.api import bootstrap, console
from services.api.database import ApiDatabaseError, current_revision, head_revision, migrate
from services.api.limits import BodyLimitMiddleware
from services.api.metrics import MetricsMiddleware
from services.api.routes import (
    audit,
    auth,
    cases,
    children,
    enquiries,
    notifications,
    operations,
    outbound,
    statistics,
    tasks,
    transfers,
)
from services.health import check_database, check_kafka
from services.logs import configure_logging
from services.settings import Settings, get_settings

log = structlog.get_logger("cmehub.api")

SWITCH_INTERVAL_S = 0.001

# Enquiries are small; partner files may be large (a CTF for a whole school).
ENQUIRY_BODY_LIMIT = 64 * 1024


def serve_app() -> FastAPI:
    """The app as ``cmehub api`` serves it: each worker process configures its own logging first."""
    settings = get_settings()
    configure_logging(settings.log_level)
    # A thread back from the database waits for the interpreter lock while another one computes an
    # answer: by default up to 5 ms each time, several times per request; 1 ms keeps those waits short.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.callbacks.append(_slow_collections())
    return create_app(settings)


def _slow_collections(threshold_s: float = 0.05) -> Callable[[str, dict[str, int]], None]:
    """A garbage collector callback logging any collection long enough to be seen in request latency."""
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (took := time.perf_counter() - started[0]) > threshold_s:
            log.warning("slow garbage collection", generation=info.get("generation"), ms=round(took * 1000),
                        collected=info.get("collected"))

    return timed


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for one authority's hub."""
    settings = settings or get_settings()
    hub = bootstrap.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(migrate, hub.engine)
        except ApiDatabaseError as exc:  # keep serving /healthz and /readyz, which say what is wrong
            log.error("api tables not migrated", error=str(exc))
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            hub.close()

    app = FastAPI(title="CME Hub", version="0.1.0", lifespan=lifespan,
                  description="Multi-agency hub for finding children missing education")
    app.state.settings = settings
    app.state.hub = hub

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """Whether the broker and the register's database answer."""
        kafka = await run_in_threadpool(check_kafka, settings.bootstrap_servers, 3.0)
        database = await run_in_threadpool(check_database, settings.register_url)
        body: dict[str, Any] = {
            "status": "ok" if kafka.ok and database.ok else "degraded",
            "la_code": settings.la_code,
            "kafka": {"healthy": kafka.ok, "detail": kafka.detail},
            "database": {"healthy": database.ok, "detail": database.detail},
        }
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Whether this API can answer enquiries: database at the expected schema, signing key, index."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            revision = current_revision(hub.engine)
            checks["api_schema"] = {"ready": revision == head_revision(),
                                    "detail": f"at {revision or 'nothing'}, code expects {head_revision()}"}
        except sa.exc.SQLAlchemyError as exc:
            checks["api_schema"] = {"ready": False, "detail": f"database unreachable: {type(exc).__name__}"}
        try:
            checks["signing_key"] = {"ready": True, "detail": f"kid {hub.tokens.keys.active().kid}"}
        except OSError as exc:
            checks["signing_key"] = {"ready": False, "detail": f"cannot read or write keys: {exc.strerror}"}
        checks.update(hub.readiness())
        ready = all(c["ready"] for c in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics (counts and latencies; no personal data)."""
        return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.exception_handler(sa.exc.OperationalError)
    async def database_down(request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        log.error("database unavailable", path=request.url.path, error=type(exc).__name__)
        return JSONResponse({"detail": "the register's database is unavailable; try again shortly"},
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(sa.exc.DataError)
    async def unstorable(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL character, a number out of range): the caller's input.
        log.warning("unstorable input", path=request.url.path, error=type(exc.orig).__name__)
        return JSONResponse({"detail": [{"loc": ["request"], "msg": "a value contains characters or numbers "
                                         "the register cannot store (e.g. a NUL character)", "type": "value_error"}]},
                            status_code=422)

    for module in (auth, notifications, enquiries, children, cases, tasks, statistics, outbound, transfers,
                   operations, audit):
        app.include_router(module.router)
    app.include_router(enquiries.reviews)
    console.install(app)  # the web console under /console/ (services/api/console)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes,
                       limits={"/v1/enquiries": ENQUIRY_BODY_LIMIT, "/oauth": 16 * 1024})
    app.add_middleware(MetricsMiddleware, metrics=hub.metrics)
    return app
