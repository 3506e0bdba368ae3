"""Article to webhook without waiting out poll intervals: with real processes (ingest, story,
notify, a Celery worker on PostgreSQL and Redis) and on the embedded services (SQLite, one
process), an article reaches a loopback webhook receiver long before a 30-second poll would
have let it, because the outbox relay and the feed dispatcher are woken. With wake-ups off,
polling alone still delivers it."""

import asyncio

import httpx
import pytest
from conftest import RULING_ARTICLE, serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver
from services.embedded import run_embedded
from shared.settings import Settings

pytestmark = pytest.mark.e2e

KEY = "wakeup-api-key-not-a-secret-anywhere"
POLL = "30"   # seconds between polls: longer than any wait below
WITHIN = 15   # seconds an alert may take here, starting processes aside


def _alert_through_processes(processes, pg_url, redis_url, within: float, **settings) -> dict:
    env, ports = stack_env(pg_url, redis_url, KEY, **settings)
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")
    with WebhookReceiver() as receiver, httpx.Client(
            timeout=10, headers={"authorization": f"Bearer {KEY}"}) as http:
        created = http.post(f"http://127.0.0.1:{ports['notify']}/v1/subscriptions",
                            json={"name": "desk", "url": receiver.url, "types": ["ruling"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        accepted = http.post(f"http://127.0.0.1:{ports['ingest']}/v1/articles",
                             json=RULING_ARTICLE)
        assert accepted.status_code == 202, accepted.text
        logs = "\n".join(s.output()[-2000:] for s in [*servers.values(), worker])
        wait_until(lambda: receiver.alerts, within, what=f"an alert\n{logs}")
        assert receiver.rejected == []
        return receiver.alerts[0]["payload"]


def test_an_alert_arrives_long_before_a_poll_would_send_it(pg_url, redis_url, processes):
    alert = _alert_through_processes(processes, pg_url, redis_url, WITHIN,
                                     STORYWIRE_RELAY_INTERVAL=POLL,
                                     STORYWIRE_DISPATCH_INTERVAL=POLL)
    assert alert["data"]["development"]["type"] == "ruling"
    assert alert["data"]["sources"][0]["url"] == RULING_ARTICLE["url"]


def test_with_wake_ups_off_polling_still_delivers(pg_url, redis_url, processes):
    alert = _alert_through_processes(processes, pg_url, redis_url, 30,
                                     STORYWIRE_WAKEUPS="false",
                                     STORYWIRE_RELAY_INTERVAL="0.5",
                                     STORYWIRE_DISPATCH_INTERVAL="1.0")
    assert alert["data"]["sources"][0]["url"] == RULING_ARTICLE["url"]


def test_embedded_services_wake_in_process(sqlite_url, tmp_path):
    """One process on SQLite, an in-memory broker: the wake-ups stay in the process."""
    settings = Settings(database_url=sqlite_url, data_dir=str(tmp_path), allow_private_urls=True,
                        relay_interval=float(POLL), dispatch_interval=float(POLL))

    async def run(receiver: WebhookReceiver):
        async with run_embedded(settings) as apps:
            ingest, notify = apps.client("ingest"), apps.client("notify")
            created = await notify.post("/v1/subscriptions", json={
                "name": "desk", "url": receiver.url, "types": ["ruling"]})
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            await asyncio.sleep(0.5)  # the loops' first passes are over: they wait now
            accepted = await ingest.post("/v1/articles", json=RULING_ARTICLE)
            assert accepted.status_code == 202, accepted.text
            for _ in range(WITHIN * 10):
                if receiver.alerts:
                    return
                await asyncio.sleep(0.1)
            pytest.fail(f"no alert within {WITHIN}s though the poll interval is {POLL}s")

    with WebhookReceiver() as receiver:
        asyncio.run(run(receiver))
        assert receiver.rejected == []
        assert receiver.alerts[0]["payload"]["data"]["sources"][0]["url"] == \
            RULING_ARTICLE["url"]
