"""`storywire status` against real processes: ingest, story, notify and a Celery worker on
PostgreSQL and Redis. It shows each running service up and ready with the numbers its
/metrics and the databases hold after an article went through to a webhook; then, with the
story service stopped, the story service unreachable while articles wait in ingest's outbox,
and still everything else; and a notify whose broker is away up but not ready."""

import json
import os
import subprocess
import sys

import httpx
import pytest
from conftest import RULING_ARTICLE, free_port, scrape, serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "status-api-key-not-a-secret-anywhere"


def unrelated(n: int) -> dict:
    return {"outlet": "Harbor Gazette", "url": f"https://gazette.example/ferry/{n}",
            "title": f"Ferry schedule changes, part {n}",
            "published_at": "2017-06-02T09:00:00Z",
            "body": f"The harbor ferry adds a late crossing on weekdays, notice {n}."}


def storywire_status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", "status", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60)


def status_json(env: dict[str, str]) -> dict:
    result = storywire_status(env, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return json.loads(result.stdout)


def sample(url: str, name: str, **labels: str) -> float | None:
    """The first sample of `name` whose labels include these."""
    wanted = set(labels.items())
    return next((value for (found, got), value in scrape(url).items()
                 if found == name and wanted <= got), None)


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.split()[0] == name)


def test_status_asks_the_running_services(pg_url, redis_url, processes):
    worker_port = free_port()
    env, ports = stack_env(pg_url, redis_url, KEY,
                           STORYWIRE_WORKER_METRICS_PORT=str(worker_port))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    urls["worker"] = f"http://127.0.0.1:{worker_port}"
    # the ingest and notify addresses status asks; the story service's is STORY_URL already,
    # the worker's 127.0.0.1:WORKER_METRICS_PORT
    env |= {"STORYWIRE_INGEST_URL": urls["ingest"], "STORYWIRE_NOTIFY_URL": urls["notify"]}
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1",
                                  "--metrics-host", "127.0.0.1"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")

    with WebhookReceiver() as receiver, httpx.Client(
            timeout=20, headers={"authorization": f"Bearer {KEY}"}) as http:
        created = http.post(f"{urls['notify']}/v1/subscriptions", json={
            "name": "status desk", "url": receiver.url})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        accepted = http.post(f"{urls['ingest']}/v1/articles", json=RULING_ARTICLE)
        assert accepted.status_code == 202, accepted.text
        article = accepted.json()["id"]
        wait_until(lambda: http.get(f"{urls['ingest']}/v1/articles/{article}").json()
                   ["status"] == "attached", 60,
                   what=f"attachment\n{servers['ingest'].output()[-3000:]}")
        head = http.get(f"{urls['story']}/v1/events", params={"after": 0}).json()["head"]
        wait_until(lambda: receiver.alerts, 60, what=f"webhooks\n{worker.output()[-3000:]}")
        # every process has caught up: the dispatcher and snapshotter at the feed's head, the
        # worker's count settled with the alerts received
        wait_until(lambda: sample(f"{urls['notify']}/metrics", "storywire_feed_lag",
                                  consumer="notify-dispatcher") == 0, 30, what="dispatcher")
        wait_until(lambda: sample(f"{urls['story']}/metrics", "storywire_feed_lag",
                                  consumer="story-snapshots") == 0, 30, what="snapshotter")
        wait_until(lambda: sample(f"{urls['worker']}/metrics", "storywire_deliveries_total",
                                  channel="webhook", status="delivered")
                   == len(receiver.alerts), 30, what="the worker's count")
        delivered = len(receiver.alerts)

        report = status_json(env)
        services = report["services"]
        assert set(services) == {"ingest", "story", "notify", "worker"}
        for name, url in urls.items():
            assert services[name]["reachable"] is True, services[name]
            assert services[name]["url"] == url
            assert services[name]["metrics_error"] is None, services[name]
        for name in ("ingest", "story", "notify"):
            assert services[name]["ready"] is True, services[name]
        assert services["ingest"]["checks"] == {"database": "ok"}
        assert services["notify"]["checks"] == {"database": "ok", "broker": "ok"}
        assert services["worker"]["ready"] is None  # its exporter serves metrics only
        # the services' numbers are the databases' and what went through
        assert services["ingest"]["metrics"] == {"outbox_depth": 0, "articles_parked": 0,
                                                 "outbox_oldest_age_seconds": 0}
        assert report["outbox"]["pending"] == 0 and report["outbox"]["parked"] == 0
        assert services["story"]["metrics"]["feed_lag"] == {"story-snapshots": 0}
        assert services["notify"]["metrics"]["feed_lag"] == {"notify-dispatcher": 0}
        assert services["notify"]["metrics"]["queue_length"] == {"storywire-notify": 0,
                                                                 "storywire-ingest": 0}
        assert services["worker"]["metrics"]["deliveries"] == {"webhook":
                                                               {"delivered": delivered}}
        assert report["deliveries"] == {"delivered": delivered}
        assert report["feed_head"] == head and report["notify_lag"] == 0

        text = storywire_status(env)
        assert text.returncode == 0, text.stderr
        assert line_of(text.stdout, "ingest") == (
            f"ingest         up, ready at {urls['ingest']}; outbox 0 (oldest 0s), parked 0")
        assert line_of(text.stdout, "story") == (
            f"story          up, ready at {urls['story']}; story-snapshots lag 0")
        assert line_of(text.stdout, "notify").startswith(
            f"notify         up, ready at {urls['notify']}; notify-dispatcher lag 0, queued ")
        assert line_of(text.stdout, "worker") == (
            f"worker         up at {urls['worker']}; deliveries webhook delivered {delivered}")

        # the story service stops: articles wait in the outbox, and status says both
        servers["story"].stop()
        for n in (1, 2):
            accepted = http.post(f"{urls['ingest']}/v1/articles", json=unrelated(n))
            assert accepted.status_code == 202, accepted.text
        report = status_json(env)

    services = report["services"]
    assert services["story"]["reachable"] is False
    assert services["story"]["error"] == "connection refused"
    assert services["story"]["metrics"] == {}
    assert report["outbox"]["pending"] == 2
    assert services["ingest"]["metrics"]["outbox_depth"] == 2
    assert services["ingest"]["metrics"]["outbox_oldest_age_seconds"] >= 0
    assert all(services[name]["reachable"] for name in ("ingest", "notify", "worker"))
    text = storywire_status(env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0].startswith("outbox         2 to forward")
    assert line_of(text.stdout, "story") == (
        f"story          unreachable at {urls['story']} (connection refused)")
    assert line_of(text.stdout, "ingest").startswith(
        f"ingest         up, ready at {urls['ingest']}; outbox 2 (oldest ")

    # a notify whose broker is away answers, and says it is not ready
    port = free_port()
    away = env | {"STORYWIRE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    processes("notify-without-broker", ["-m", "services.cli", "serve", "notify", "--port",
                                        str(port)], away)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: up(url), 30, what="notify without its broker")
    asked = env | {"STORYWIRE_NOTIFY_URL": url,
                   "STORYWIRE_STATUS_TIMEOUT": "10"}  # its broker check takes 2 s
    notify = status_json(asked)["services"]["notify"]
    assert notify["reachable"] is True and notify["ready"] is False, notify
    assert notify["checks"]["database"] == "ok"
    assert notify["checks"]["broker"].startswith("unavailable"), notify
    text = storywire_status(asked)
    assert text.returncode == 0, text.stderr
    assert line_of(text.stdout, "notify").startswith(
        "notify         up, NOT READY (database ok, broker unavailable: ")


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
