"""A tiny PDS FHIR R4 endpoint on 127.0.0.1 for the MNS notify-then-fetch tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FhirServer:
    """A tiny PDS FHIR endpoint on 127.0.0.1: serves ``/Patient/<nhs>`` from a dict."""

    def __init__(self) -> None:
        self.patients: dict[str, dict[str, Any]] = {}
        self.fail_next = 0  # answer 503 this many times first (a passing PDS outage)
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                if server.fail_next:
                    server.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                nhs = self.path.rsplit("/", 1)[-1]
                patient = server.patients.get(nhs) if self.path.startswith("/FHIR/R4/Patient/") else None
                body = json.dumps(patient or {"resourceType": "OperationOutcome"}).encode()
                self.send_response(200 if patient else 404)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/FHIR/R4"

    def __enter__(self) -> FhirServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
