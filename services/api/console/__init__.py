"""The web console for CME officers, operators and auditors, served under /console/.

``install(app)`` adds the pages (pages.py), the console's state (accounts, sessions, the broker
monitor) and its Prometheus gauges to an API built by ``services.api.app.create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.console.monitor import ConsoleCollector
from services.api.console.pages import ConsoleForbidden, ConsoleRedirect, render, router
from services.api.console.state import ConsoleState

__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    """Mount the console on ``app`` (its hub must already be in ``app.state.hub``)."""
    state = ConsoleState(app.state.hub)
    app.state.console = state
    app.include_router(router)
    app.state.hub.metrics.registry.register(ConsoleCollector(state.monitor, state.partners))

    @app.exception_handler(ConsoleRedirect)
    async def to_sign_in(request: Request, exc: ConsoleRedirect) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(ConsoleForbidden)
    async def forbidden(request: Request, exc: ConsoleForbidden) -> Response:
        return render(request, state, "error.html", 403, title="You cannot open this page",
                      detail="Your role does not include this page. Ask your administrator if you need it.")

    @app.exception_handler(StarletteHTTPException)
    async def console_errors(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/console/") or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        titles = {404: "Page not found", 400: "There is a problem", 409: "That cannot be done",
                  503: "Service unavailable"}
        return render(request, state, "error.html", exc.status_code, title=titles.get(exc.status_code, "Error"),
                      detail=str(exc.detail))
