"""README command 1 (the demo) and the compose file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_compose_file_is_valid():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        missing("A compose CLI", "neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run([*command, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = subprocess.run([*command, "config", "--services"], cwd=ROOT, capture_output=True,
                              text=True).stdout.split()
    assert set(services) == {"postgres", "redis", "migrate", "ingest", "story", "notify-api",
                             "notify-worker", "ingest-worker", "beat"}


@pytest.mark.parametrize("service", ["ingest", "story", "notify"])
def test_migrations_go_down_and_up_again(service, sqlite_url):
    from shared.db import get_engine
    from shared.migrate import downgrade, upgrade

    engine = get_engine(sqlite_url)
    upgrade(service, engine)
    downgrade(service, engine)
    upgrade(service, engine)
