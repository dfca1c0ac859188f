"""Prometheus metrics of the API: counts and latencies by route template, never personal data.

Labels are route templates (``/v1/enquiries/{enquiry_id}``), methods, status codes, outcomes and
source kinds: never ids, names or any value a caller typed.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from services.api.limits import ASGIApp, Receive, Scope, Send


class ApiMetrics:
    """One app's metrics, in their own registry (several apps can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("cmehub_api_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("cmehub_api_request_seconds", "Time to answer a request", ["route"],
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.enquiries = Counter("cmehub_api_enquiries_total", "Whereabouts enquiries answered", ["outcome"],
                                 registry=self.registry)
        self.notifications = Counter("cmehub_api_notification_records_total",
                                     "Pushed notification records by source and result", ["source", "result"],
                                     registry=self.registry)
        self.refusals = Counter("cmehub_api_refusals_total", "Requests refused by auth or limits", ["reason"],
                                registry=self.registry)
        self.index_size = Gauge("cmehub_api_register_index_children", "Children in the enquiry index",
                                registry=self.registry)
        self.index_refresh = Gauge("cmehub_api_register_index_refreshed_timestamp",
                                   "When the enquiry index last caught up with the register", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope.get("method", ""), template, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
