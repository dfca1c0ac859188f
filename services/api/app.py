"""The FastAPI application: partner pushes, enquiries, officer and operator endpoints, console."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.health import check_database, check_kafka
from services.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for one authority's hub."""
    settings = settings or get_settings()
    app = FastAPI(title="CME Hub", version="0.1.0",
                  description="Multi-agency hub for finding children missing education")
    app.state.settings = settings

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

    return app
