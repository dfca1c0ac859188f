"""Authentication, scopes and limits at the HTTP edge (OWASP API2, API4, API5)."""

from __future__ import annotations

import base64
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.unit.api.conftest import TokenFor, get_token

AUDIT = "/v1/audit"


def test_token_endpoint_issues_a_token_for_good_credentials_only(app: FastAPI, client: TestClient) -> None:
    info, secret = app.state.hub.clients.add("auditor", "383", ["auditor"])
    ok = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                           "client_secret": secret})
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "Bearer" and ok.json()["scope"] == "auditor"
    wrong = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                              "client_secret": secret + "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = client.post("/oauth/token", data={"grant_type": "password", "client_id": info.client_id,
                                              "client_secret": secret})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    basic = base64.b64encode(f"{info.client_id}:{secret}".encode()).decode()
    via_basic = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                            headers={"Authorization": f"Basic {basic}"})
    assert via_basic.status_code == 200
    too_much = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                                 "client_secret": secret, "scope": "auditor officer"})
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"


def test_no_token_gives_401(client: TestClient) -> None:
    response = client.get(AUDIT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_gives_401(app: FastAPI, client: TestClient) -> None:
    hub = app.state.hub
    info, _ = hub.clients.add("auditor", "383", ["auditor"])
    token, _ = hub.tokens.issue(info.client_id, "383", ["auditor"], [], info.generation, now=time.time() - 7200)
    response = client.get(AUDIT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_unsigned_token_gives_401(app: FastAPI, client: TestClient) -> None:
    hub = app.state.hub
    info, _ = hub.clients.add("auditor", "383", ["auditor"])
    now = int(time.time())
    claims = {"sub": info.client_id, "iss": "cmehub:383", "aud": "cmehub:383", "iat": now, "exp": now + 60,
              "scope": "auditor", "gen": 1, "la": "383"}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": hub.tokens.keys.active().kid})
    assert client.get(AUDIT, headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


def test_wrongly_signed_token_gives_401(app: FastAPI, client: TestClient) -> None:
    hub = app.state.hub
    info, _ = hub.clients.add("auditor", "383", ["auditor"])
    now = int(time.time())
    claims = {"sub": info.client_id, "iss": "cmehub:383", "aud": "cmehub:383", "iat": now, "exp": now + 60,
              "scope": "auditor", "gen": 1, "la": "383"}
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                        headers={"kid": hub.tokens.keys.active().kid})
    assert client.get(AUDIT, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get(AUDIT, headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401


def test_token_of_wrong_scope_gives_403(token_for: TokenFor, client: TestClient) -> None:
    partner = token_for("partner", sources=["school"])
    assert client.get(AUDIT, headers=partner).status_code == 403
    assert client.get(AUDIT, headers=token_for("auditor")).status_code == 200


def test_revoked_or_rotated_client_token_gives_401(app: FastAPI, client: TestClient) -> None:
    registry = app.state.hub.clients
    info, secret = registry.add("auditor", "383", ["auditor"])
    headers = {"Authorization": f"Bearer {get_token(client, info.client_id, secret)}"}
    assert client.get(AUDIT, headers=headers).status_code == 200
    new_secret = registry.rotate(info.client_id)
    assert client.get(AUDIT, headers=headers).status_code == 401
    headers = {"Authorization": f"Bearer {get_token(client, info.client_id, new_secret)}"}
    assert client.get(AUDIT, headers=headers).status_code == 200
    registry.revoke(info.client_id)
    assert client.get(AUDIT, headers=headers).status_code == 401
    again = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                              "client_secret": new_secret})
    assert again.status_code == 401


def test_over_rate_or_quota_gives_429(token_for: TokenFor, client: TestClient) -> None:
    burst = token_for("auditor", rate_per_s=0.01, burst=3)
    codes = [client.get(AUDIT, headers=burst).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    limited = client.get(AUDIT, headers=burst)
    assert int(limited.headers["Retry-After"]) >= 1
    quota = token_for("auditor", daily_quota=2)
    codes = [client.get(AUDIT, headers=quota).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert "quota" in client.get(AUDIT, headers=quota).json()["detail"]


def test_oversized_body_gives_413(client: TestClient, token_for: TokenFor) -> None:
    declared = client.post("/oauth/token", content=b"x" * (17 * 1024),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: the limit must hold on the stream itself
        for _ in range(20):
            yield b"y" * 1024

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    streamed = client.post("/oauth/token", content=chunks(), headers=form)
    assert streamed.status_code == 413
    assert "larger than" in streamed.json()["detail"]


def test_health_ready_metrics_and_openapi(client: TestClient, token_for: TokenFor) -> None:
    assert client.get("/readyz").json()["ready"] is True
    client.get(AUDIT, headers=token_for("auditor"))
    metrics = client.get("/metrics").text
    assert 'route="/v1/audit"' in metrics
    spec = client.get("/openapi.json").json()
    assert "/oauth/token" in spec["paths"] and "/v1/audit" in spec["paths"]
    health = client.get("/healthz")
    assert set(health.json()) == {"status", "la_code", "kafka", "database"}


def test_client_bound_to_a_certificate_needs_it(app: FastAPI, client: TestClient) -> None:
    app.state.hub.settings.api_mtls_header = "X-Client-Cert-Subject"
    info, secret = app.state.hub.clients.add("auditor", "383", ["auditor"], mtls_subject="CN=audit.example")
    headers = {"Authorization": f"Bearer {get_token(client, info.client_id, secret)}"}
    assert client.get(AUDIT, headers=headers).status_code == 401
    assert client.get(AUDIT, headers={**headers, "X-Client-Cert-Subject": "CN=other"}).status_code == 401
    assert client.get(AUDIT, headers={**headers, "X-Client-Cert-Subject": "CN=audit.example"}).status_code == 200
