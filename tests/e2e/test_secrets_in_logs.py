"""No secret in any process's output: real ingest, story and notify servers and a Celery worker
on PostgreSQL and Redis, logging at DEBUG, while keys, signing secrets and CMS secrets are
created, rotated, used and refused, and while the database refuses the inserts that carry a
webhook signing secret and a CMS secret (a trigger raises, as a failed-over read-only database
would): each such insert is a 500 whose error is logged, without its parameters."""

import os
import subprocess
import sys

import httpx
import psycopg
import pytest
from conftest import RULING_ARTICLE, serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

OPERATOR = "sw-operator-key-for-the-secrets-test"


def test_no_secret_reaches_a_log(pg_url, redis_url, processes):
    env, ports = stack_env(pg_url, redis_url, OPERATOR, STORYWIRE_LOG_LEVEL="DEBUG")
    run_env = {**os.environ, **env}
    migrated = subprocess.run([sys.executable, "-m", "services.cli", "migrate"], env=run_env,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    created = subprocess.run([sys.executable, "-m", "services.cli", "keys", "create", "wire desk",
                              "--scope", "ingest"], env=run_env, capture_output=True, text=True,
                             timeout=60)
    assert created.returncode == 0, created.stderr
    token = next(w for w in created.stdout.split() if w.startswith("sw_live_"))
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")

    refuse_inserts(pg_url, ("ingest_integrations", "notify_subscriptions"))
    secrets = {token, OPERATOR}
    operator = {"authorization": f"Bearer {OPERATOR}"}
    ingest = f"http://127.0.0.1:{ports['ingest']}"
    notify = f"http://127.0.0.1:{ports['notify']}"
    with WebhookReceiver() as receiver, httpx.Client(timeout=10) as http:
        # inserts that fail in the database, their rows holding secrets
        refused_cms = "whsec_cms-refused-secret-00000000"
        secrets.add(refused_cms)
        failed = http.post(f"{ingest}/v1/integrations", headers=operator, json={
            "name": "refused", "secret": refused_cms})
        assert failed.status_code == 500 and refused_cms not in failed.text
        failed = http.post(f"{notify}/v1/subscriptions", headers=operator, json={
            "name": "refused desk", "url": receiver.url, "types": ["ruling"]})
        assert failed.status_code == 500 and "whsec_" not in failed.text
        wait_until(lambda: "insert refused" in servers["notify"].output()
                   and "insert refused" in servers["ingest"].output(), 10,
                   what="the failed inserts to be logged")
        allow_inserts(pg_url, ("ingest_integrations", "notify_subscriptions"))

        # a CMS integration, then the same name again: the second insert fails in the database
        first = "whsec_cms-first-secret-0123456789"
        second = "whsec_cms-second-secret-9876543210"
        secrets |= {first, second}
        assert http.post(f"{ingest}/v1/integrations", headers=operator, json={
            "name": "courier", "secret": first}).status_code == 201
        again = http.post(f"{ingest}/v1/integrations", headers=operator, json={
            "name": "courier", "secret": second})
        assert again.status_code == 409 and second not in again.text
        # a webhook from the CMS with a wrong signature
        bad = http.post(f"{ingest}/v1/webhooks/courier", content=b'{"title": "x"}', headers={
            "webhook-id": "msg_1", "webhook-timestamp": "1700000000",
            "webhook-signature": f"v1,{first}"})
        assert bad.status_code in (400, 401, 403)

        # a subscription's signing secret, shown once, then rotated
        made = http.post(f"{notify}/v1/subscriptions", headers=operator, json={
            "name": "desk", "url": receiver.url, "types": ["ruling"]})
        assert made.status_code == 201, made.text
        subscription = made.json()
        secrets.add(subscription["secret"])
        rotated = http.post(f"{notify}/v1/subscriptions/{subscription['id']}/secret",
                            headers=operator)
        assert rotated.status_code == 200, rotated.text
        secrets.add(rotated.json()["secret"])
        receiver.secret = rotated.json()["secret"]

        # the key at work, and keys refused: a revoked-looking token and a wrong bearer
        accepted = http.post(f"{ingest}/v1/articles", headers={"authorization": f"Bearer {token}"},
                             json=RULING_ARTICLE)
        assert accepted.status_code == 202, accepted.text
        wrong = token[:-6] + "abcdef"
        secrets.add(wrong)
        assert http.post(f"{ingest}/v1/articles", headers={"authorization": f"Bearer {wrong}"},
                         json=RULING_ARTICLE).status_code == 401
        assert http.get(f"{notify}/v1/subscriptions",
                        headers={"authorization": f"Bearer {wrong}"}).status_code == 401
        wait_until(lambda: receiver.alerts, 60, what=f"an alert\n{worker.output()[-3000:]}")

    outputs = {name: proc.output() for name, proc in {**servers, "worker": worker}.items()}
    assert all(outputs.values())                     # the processes did log
    leaks = {(name, s[:12]) for name, out in outputs.items() for s in secrets if s in out}
    assert not leaks, leaks
    assert not any("whsec_" in out for out in outputs.values())




def refuse_inserts(url: str, tables: tuple[str, ...]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE EXCEPTION 'insert refused'; END $$")
        for table in tables:
            conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                         "FOR EACH ROW EXECUTE FUNCTION refuse_insert()")


def allow_inserts(url: str, tables: tuple[str, ...]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"DROP TRIGGER refuse ON {table}")
