"""docker-compose.yml runs the same hub the README describes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_the_readme_names_is_in_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    section = readme.split("`docker compose up`", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"\*\*([a-z-]+)\*\*", section))
    assert named == {"kafka", "postgres", "topics", "matching", "api"}
    assert named <= set(compose["services"])


def test_compose_services_share_the_hub_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("topics", "matching", "api"):
        env = compose["services"][name]["environment"]
        assert env["CMEHUB_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["CMEHUB_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert set(compose["services"][name]["depends_on"]) == {"kafka", "postgres"}
