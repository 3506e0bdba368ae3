"""Structured logs on real processes: ingest, story and notify servers and a Celery worker on
PostgreSQL and Redis with STORYWIRE_LOG_FORMAT=json. Every line each process writes is a JSON
object, and one article's id is on lines of all four, from its acceptance to its alert's send."""

import json

import httpx
import pytest
from conftest import RULING_ARTICLE, serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "json-logs-api-key-not-a-secret"


def test_every_line_is_json_and_an_article_is_followed_through_every_process(
        pg_url, redis_url, processes):
    env, ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_LOG_LEVEL="INFO",
                           STORYWIRE_LOG_FORMAT="json")
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1"], env)
    everyone = {**servers, "worker": worker}
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")

    auth = {"authorization": f"Bearer {KEY}"}
    with WebhookReceiver() as receiver, httpx.Client(timeout=10, headers=auth) as http:
        made = http.post(f"http://127.0.0.1:{ports['notify']}/v1/subscriptions", json={
            "name": "logs desk", "url": receiver.url, "types": ["ruling"]})
        assert made.status_code == 201, made.text
        receiver.secret = made.json()["secret"]
        accepted = http.post(f"http://127.0.0.1:{ports['ingest']}/v1/articles", json=RULING_ARTICLE,
                             headers={"x-request-id": "desk-request-1"})
        assert accepted.status_code == 202, accepted.text
        assert accepted.headers["x-request-id"] == "desk-request-1"
        article_id = accepted.json()["id"]
        wait_until(lambda: receiver.alerts, 60, what=f"an alert\n{worker.output()[-3000:]}")
        wait_until(lambda: article_id in worker.output(), 10, what="the send to be logged")

    lines = {name: _json_lines(proc.output(), name) for name, proc in everyone.items()}
    about = {name: [line for line in found if line.get("article_id") == article_id]
             for name, found in lines.items()}
    assert all(about.values()), {name: len(found) for name, found in about.items()}
    assert any(line.get("request_id") == "desk-request-1" and line["message"] ==
               "article accepted" for line in about["ingest"]), about["ingest"]
    assert any(line["message"] == "article attached to story"
               and line.get("story") == "guzman-detention-conditions" and line.get("event_id")
               for line in about["story"]), about["story"]
    created = [line for line in about["notify"] if line["message"] == "delivery created"]
    assert created and all(line.get("development_id") and line.get("delivery_id")
                           for line in created), about["notify"]
    sent = {line.get("delivery_id") for line in about["worker"]}
    assert sent & {line["delivery_id"] for line in created}, about["worker"]


def _json_lines(output: str, name: str) -> list[dict]:
    """Every non-empty line of a process's output as the object it holds; a line that is not
    a JSON object with `time`, `level`, `logger` and `message` fails the test."""
    found = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{name} wrote a line that is not JSON: {line!r}")
        assert isinstance(record, dict) and {"time", "level", "logger", "message"} <= set(record), \
            (name, line)
        found.append(record)
    assert found, f"{name} logged nothing"
    return found
