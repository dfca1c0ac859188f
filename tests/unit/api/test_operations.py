"""Operator endpoints without a broker: refused to others, 503 with a clear message when Kafka is down."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api.conftest import TokenFor

OPS = ("/v1/ops/topics", "/v1/ops/lag", "/v1/ops/quarantine", "/v1/ops/deadletters")


def test_ops_need_the_operator_scope_of_this_authority(client: TestClient, token_for: TokenFor) -> None:
    for headers in (token_for("partner", sources=["school"]), token_for("officer"), token_for("operator",
                                                                                                home_la="384")):
        for path in OPS:
            assert client.get(path, headers=headers).status_code == 403, path


def test_ops_answer_503_when_the_broker_is_down(client: TestClient, token_for: TokenFor) -> None:
    operator = token_for("operator")
    for path in OPS:
        response = client.get(path, headers=operator)
        assert response.status_code == 503, path
        assert "127.0.0.1:9" in response.json()["detail"]
    assert client.post("/v1/ops/deadletters/0/0/replay", headers=operator).status_code == 503


def test_operator_can_rebuild_the_enquiry_index(client: TestClient, token_for: TokenFor) -> None:
    response = client.post("/v1/ops/index/refresh", headers=token_for("operator"))
    assert response.status_code == 200 and response.json() == {"children": 0}
