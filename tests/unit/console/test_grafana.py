"""The Grafana dashboard reads only metrics the hub exports, and the console's gauges carry no personal data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.unit.console.demo import Demo

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "cmehub-dashboard.json"


def test_every_dashboard_query_names_an_exported_metric(browser: TestClient, demo: Demo) -> None:
    exported = browser.get("/metrics").text
    families = set(re.findall(r"^# TYPE (\w+) ", exported, re.M))
    names = set()
    for sample in re.findall(r"^(\w+)", exported, re.M):
        names.add(sample)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"\bcmehub_\w+", t["expr"])}
    assert used, "the dashboard queries nothing"
    for metric in used:
        assert metric in names or metric in families or re.sub(r"_(bucket|total)$", "", metric) in families, (
            f"{metric} is not exported by the API")
    assert {"cmehub_consumer_lag", "cmehub_partner_reject_ratio", "cmehub_topic_messages"} <= used
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_console_gauges_carry_no_personal_data(browser: TestClient, demo: Demo) -> None:
    exported = browser.get("/metrics").text
    partners = [line for line in exported.splitlines() if line.startswith("cmehub_partner_")]
    assert partners, "no partner figures exported"
    for name in demo.names:
        assert name not in exported
    assert 'partner="school-3832001"' in exported and 'kind="school"' in exported
