"""README command 1 (the demo), the compose file and its monitoring profile."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import missing

ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_a_timeline_and_delivered_alerts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWIRE_")}
    result = subprocess.run([sys.executable, "-m", "services.cli", "demo"], cwd=tmp_path,
                            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert 'Timeline of "Guzman detention conditions"' in out
    timeline = out.split("Timeline of", 1)[1].split("Alerts delivered", 1)[0]
    assert "ruling denied" in timeline and "hearing" in timeline
    alerts = out.split("Alerts delivered to the local receiver (", 1)[1]
    assert int(alerts.split(")", 1)[0]) >= 1
    assert "[msg_" in alerts
    assert "unrouted" in out  # the off-topic council story is not attached
    assert (tmp_path / ".storywire" / "demo.db").exists()


STORYWIRE_SERVICES = {"migrate", "ingest", "story", "notify-api", "notify-worker",
                      "ingest-worker", "beat"}
HTTP_PORTS = {"ingest": 8001, "story": 8002, "notify-api": 8003}
MONITORING = {"prometheus", "grafana", "flower"}


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    missing("A compose CLI", "neither `docker compose` nor `docker-compose` is installed")


def test_compose_file_is_valid():
    command = compose_command()
    for profile in ([], ["--profile", "monitoring"]):  # `config -q`: with and without it
        quiet = subprocess.run([*command, *profile, "config", "-q"], cwd=ROOT,
                               capture_output=True, text=True)
        assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    result = subprocess.run([*command, "--profile", "monitoring", "config"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"postgres", "redis", *STORYWIRE_SERVICES, *MONITORING}
    assert {name for name, s in services.items() if s.get("profiles")} == MONITORING
    assert all(services[name]["profiles"] == ["monitoring"] for name in MONITORING)
    for name, service in services.items():
        if name != "migrate":  # a one-off: it exits when done
            assert service["healthcheck"]["test"], name
    for name, port in HTTP_PORTS.items():
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]["test"])
    for name in STORYWIRE_SERVICES - {"migrate"}:
        conditions = {d: c["condition"] for d, c in services[name]["depends_on"].items()}
        assert conditions == {"postgres": "service_healthy", "redis": "service_healthy",
                              "migrate": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_prometheus_and_grafana_read_the_storywire_metrics():
    """The compose `monitoring` profile: Prometheus scrapes /metrics on each service's port and
    each worker's exporter, loads the alert rules, and the provisioned dashboard charts alert
    latency, feed lag and deliveries by status."""
    from shared.settings import Settings

    deploy = ROOT / "deploy"
    prometheus = yaml.safe_load((deploy / "prometheus" / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    worker_port = Settings.model_fields["worker_metrics_port"].default
    assert targets == {f"{name}:{port}" for name, port in HTTP_PORTS.items()} | {
        f"{worker}:{worker_port}" for worker in ("notify-worker", "ingest-worker")}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounted = dict(v.split(":")[1::-1] for v in compose["services"]["prometheus"]["volumes"])
    assert set(prometheus["rule_files"]) <= set(mounted)
    assert mounted["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"

    source = yaml.safe_load(
        (deploy / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    [datasource] = source["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(
        (deploy / "grafana" / "provisioning" / "dashboards" / "storywire.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((deploy / "grafana" / "dashboards" / "storywire.json").read_text())
    targets = [t for panel in dashboard["panels"] for t in panel["targets"]]
    assert {t["datasource"]["uid"] for t in targets} == {datasource["uid"]}
    expressions = " ".join(t["expr"] for t in targets)
    assert "rate(storywire_alert_latency_seconds_bucket[" in expressions
    assert "by (consumer) (storywire_feed_lag)" in expressions
    assert "by (status) (rate(storywire_deliveries_total[" in expressions
    assert "by (channel, status) (rate(storywire_deliveries_total[" in expressions


@pytest.mark.parametrize("service", ["ingest", "story", "notify"])
def test_migrations_go_down_and_up_again(service, sqlite_url):
    from shared.db import get_engine
    from shared.migrate import downgrade, upgrade

    engine = get_engine(sqlite_url)
    upgrade(service, engine)
    downgrade(service, engine)
    upgrade(service, engine)
