"""deploy/k8s: the Kubernetes manifests parse and are wired to each other and to the hub's code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from schemas.topics import NOTIFICATIONS_PREFIX, RETRY, catalogue
from services.cli import app as cli_app
from services.settings import Settings

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
WORKLOAD_KINDS = {"Deployment", "Job"}


def _documents() -> dict[str, list[dict[str, Any]]]:
    return {path.name: [d for d in yaml.safe_load_all(path.read_text()) if d]
            for path in sorted(K8S.glob("*.yaml"))}


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the kustomization's resources, by (kind, name)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = _documents()
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for file in kustomization["resources"]:
        for doc in docs[file]:
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} defined twice"
            objects[key] = doc
    return objects


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


def _workloads(manifests: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for (kind, _), o in manifests.items() if kind in WORKLOAD_KINDS]


def _hub_env(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    config = manifests[("ConfigMap", "cmehub-config")]["data"]
    secret = manifests[("Secret", "cmehub-secrets")]["stringData"]
    assert not config.keys() & secret.keys(), "a setting is in both the ConfigMap and the Secret"
    return {**config, **secret}


def test_kustomization_lists_every_manifest_file() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == "cmehub"


def test_every_setting_is_one_the_hub_reads_and_parses(monkeypatch: pytest.MonkeyPatch,
                                                        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    env = _hub_env(manifests)
    known = {f"CMEHUB_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, f"unknown settings: {sorted(set(env) - known)}"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # An existing Kafka cluster (the hub starts no broker) and PostgreSQL (not the SQLite demo file).
    assert not settings.local_kafka and len(settings.bootstrap_servers.split(",")) >= 3
    assert settings.register_url.startswith("postgresql+psycopg://")
    assert str(settings.state_dir) == "/var/lib/cmehub"


def test_credentials_are_only_in_the_secret(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    config = manifests[("ConfigMap", "cmehub-config")]["data"]
    secret = manifests[("Secret", "cmehub-secrets")]["stringData"]
    assert "CMEHUB_DATABASE_URL" in secret and "CMEHUB_DATABASE_URL" not in config
    assert not any("postgresql" in value for value in config.values())


def test_every_workload_gets_the_hub_settings_and_one_image(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    workloads = _workloads(manifests)
    assert {o["metadata"]["name"] for o in workloads} == {
        "cmehub-topics", "cmehub-migrate", "cmehub-matching", "cmehub-api"}
    images = set()
    for obj in workloads:
        for container in _containers(obj):
            refs = {(next(iter(r)), next(iter(r.values()))["name"]) for r in container["envFrom"]}
            assert refs == {("configMapRef", "cmehub-config"), ("secretRef", "cmehub-secrets")}, obj["metadata"]
            images.add(container["image"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert images == {"cmehub/cme-hub"} == {i["name"] for i in kustomization["images"]}


def _help(argv: list[str]) -> str:
    """The help of ``cmehub <argv>``; fails when there is no such command."""
    result = CliRunner().invoke(cli_app, [*argv, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"`cmehub {' '.join(argv)}` is not a command: {result.output}"
    return result.output


@pytest.mark.parametrize(("job", "argv"), [("cmehub-topics", ["topics", "apply"]),
                                           ("cmehub-migrate", ["register", "migrate"])])
def test_jobs_run_real_cmehub_commands(manifests: dict[tuple[str, str], dict[str, Any]],
                                       job: str, argv: list[str]) -> None:
    [container] = _containers(manifests[("Job", job)])
    assert container["command"] == ["cmehub", *argv]
    assert "Commands" not in _help(argv), f"`cmehub {' '.join(argv)}` is a group, not a command"
    assert manifests[("Job", job)]["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_api_is_stateless_behind_service_and_ingress_with_probes(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = manifests[("Deployment", "cmehub-api")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    [container] = _containers(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    argv = container["command"]
    assert argv[:2] == ["cmehub", "api"]
    api_help = _help(["api"])
    assert "--host" in api_help and "--port" in api_help
    assert argv[argv.index("--port") + 1] == str(ports["http"]) == _hub_env(manifests)["CMEHUB_API_PORT"]

    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    service = manifests[("Service", "cmehub-api")]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] in ports

    ingress = manifests[("Ingress", "cmehub-api")]
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends and all(b["name"] == "cmehub-api" and b["port"]["name"] == service_port["name"]
                            for b in backends)
    header = _hub_env(manifests)["CMEHUB_API_MTLS_HEADER"]
    assert header in ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/configuration-snippet"]

    # The only state on disk, the signing keys, is one volume every replica shares.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["api-keys"] == _hub_env(manifests)["CMEHUB_STATE_DIR"] + "/api-keys"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["api-keys"]["persistentVolumeClaim"]["claimName"]
    assert manifests[("PersistentVolumeClaim", claim)]["spec"]["accessModes"] == ["ReadWriteMany"]

    hpa = manifests[("HorizontalPodAutoscaler", "cmehub-api")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "cmehub-api"
    assert hpa["spec"]["minReplicas"] >= 2


def test_matching_workers_are_one_consumer_group_sized_by_partitions(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = manifests[("Deployment", "cmehub-matching")]
    [container] = _containers(deployment)
    argv = container["command"]
    # One faust app id for every replica: one consumer group. No per-pod overrides.
    assert argv[:6] == ["python", "-m", "faust", "-A", "services.matching.stream", "worker"]
    assert not [e for e in container.get("env", []) if "GROUP" in e["name"] or "APP" in e["name"]]
    replicas = deployment["spec"]["replicas"]
    subscribed = [s for s in catalogue() if s.name.startswith(NOTIFICATIONS_PREFIX) and s.name != RETRY]
    assert 2 <= replicas <= sum(s.partitions for s in subscribed), "more workers than partitions sit idle"
    # Liveness through faust's web server, on the port the worker is told to use.
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["web"]
    assert argv[argv.index("--web-port") + 1] == str(port)
    assert container["livenessProbe"]["httpGet"]["port"] == "web"
    assert container["resources"]["requests"]["cpu"] == container["resources"]["limits"]["cpu"]
    pdb = manifests[("PodDisruptionBudget", "cmehub-matching")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
