"""A tiny Confluent-compatible schema registry on 127.0.0.1 (the REST calls the codec uses)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RegistryState:
    """Subjects, versions and ids, as a registry keeps them."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def register(self, subject: str, schema: str) -> int:
        with self.lock:
            canonical = json.dumps(json.loads(schema), sort_keys=True)
            known = [i for i, text in self.schemas.items() if text == canonical]
            schema_id = known[0] if known else len(self.schemas) + 1
            self.schemas[schema_id] = canonical
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            state.calls.append(f"GET {self.path}")
            if self.path == "/subjects":
                return self._answer(200, sorted(state.subjects))
            if m := re.fullmatch(r"/schemas/ids/(\d+)", self.path):
                text = state.schemas.get(int(m[1]))
                if text is None:
                    return self._answer(404, {"error_code": 40403, "message": "Schema not found"})
                return self._answer(200, {"schema": text})
            if m := re.fullmatch(r"/subjects/([^/]+)/versions/latest", self.path):
                ids = state.subjects.get(m[1])
                if not ids:
                    return self._answer(404, {"error_code": 40401, "message": "Subject not found"})
                return self._answer(
                    200, {"subject": m[1], "version": len(ids), "id": ids[-1], "schema": state.schemas[ids[-1]]}
                )
            return self._answer(404, {"error_code": 404, "message": "not found"})

        def do_POST(self) -> None:
            state.calls.append(f"POST {self.path}")
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            if m := re.fullmatch(r"/subjects/([^/]+)/versions", self.path):
                return self._answer(200, {"id": state.register(m[1], body["schema"])})
            return self._answer(404, {"error_code": 404, "message": "not found"})

    return Handler


@contextmanager
def running_registry() -> Iterator[tuple[str, RegistryState]]:
    """Start the stub on a free port; yields its URL and state."""
    state = RegistryState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
