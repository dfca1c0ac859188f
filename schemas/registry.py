"""A small client for a Confluent-compatible schema registry (only the calls the codec needs)."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The schema registry refused a call or could not be reached."""


class SchemaRegistryClient:
    """Registers schemas under a subject and fetches them by id; both answers are cached."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers={"Accept": CONTENT_TYPE})
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(
                method, path, json=body, headers={"Content-Type": CONTENT_TYPE} if body else None
            )
        except httpx.HTTPError as exc:
            raise SchemaRegistryError(f"schema registry at {self.url} unreachable ({method} {path}): {exc}") from exc
        if response.status_code >= 400:
            raise SchemaRegistryError(
                f"schema registry at {self.url} answered {response.status_code} to {method} {path}: "
                f"{response.text[:300]}"
            )
        return response.json()

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """The id of ``schema`` under ``subject``, registering it when new (idempotent on the registry)."""
        text = json.dumps(schema, separators=(",", ":"), sort_keys=True)
        key = (subject, text)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        answer = self._call("POST", f"/subjects/{subject}/versions", {"schema": text})
        schema_id = int(answer["id"])
        with self._lock:
            self._ids[key] = schema_id
            self._schemas.setdefault(schema_id, schema)
        return schema_id

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        """The schema registered with ``schema_id``."""
        with self._lock:
            if schema_id in self._schemas:
                return self._schemas[schema_id]
        answer = self._call("GET", f"/schemas/ids/{schema_id}")
        schema: dict[str, Any] = json.loads(answer["schema"])
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def subjects(self) -> list[str]:
        """Every subject the registry knows."""
        return list(self._call("GET", "/subjects"))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
