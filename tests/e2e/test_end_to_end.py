"""End to end with real processes: three uvicorn servers and a celery worker on PostgreSQL and
Redis. An article POSTed to ingest ends as events in the story stream and as a signed webhook
received (and verified) by a loopback HTTP server."""


import httpx
import pytest
from conftest import serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "e2e-api-key-not-a-secret-anywhere"
ARTICLE = {
    "outlet": "Brooklyn Court Reporter",
    "url": "https://bcr.example/2017/05/04/cogan-solitary",
    "title": "Judge keeps Guzman in solitary, turns away Amnesty",
    "published_at": "2017-05-04T20:00:00Z",
    "body": (
        "A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
        "solitary confinement, pointing to his escapes from Mexican prisons.\n\n"
        "U.S. District Judge Brian Cogan also rejected the request to let Amnesty "
        "International observers visit Guzman at the Metropolitan Correctional Center.\n\n"
        "The court will hold a hearing on Friday on the government's motion to disqualify "
        "his lawyer."
    ),
}


def test_article_to_signed_webhook_through_real_processes(pg_url, redis_url, processes):
    env, ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_LOG_LEVEL="INFO")
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1"], env)
    auth = {"authorization": f"Bearer {KEY}"}
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")

    with WebhookReceiver() as receiver, httpx.Client(timeout=10, headers=auth) as http:
        notify = f"http://127.0.0.1:{ports['notify']}"
        created = http.post(f"{notify}/v1/subscriptions", json={
            "name": "e2e desk", "url": receiver.url, "types": ["ruling"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        assert "secret" not in http.get(f"{notify}/v1/subscriptions").text

        ingest = f"http://127.0.0.1:{ports['ingest']}"
        accepted = http.post(f"{ingest}/v1/articles", json=ARTICLE)
        assert accepted.status_code == 202, accepted.text
        article_id = accepted.json()["id"]
        status = wait_until(lambda: _attached(http, ingest, article_id), 30,
                            what=f"attachment\n{servers['ingest'].output()[-3000:]}")
        assert status["stories"] == ["guzman-detention-conditions"]

        story = f"http://127.0.0.1:{ports['story']}"
        events = http.get(f"{story}/v1/stories/guzman-detention-conditions/events").json()
        types = [e["type"] for e in events["events"]]
        assert types[:3] == ["StoryDefined", "ArticleAttached", "ArticleAnalyzed"]
        rulings = [e for e in events["events"] if e["type"] == "DevelopmentDetected"
                   and e["data"]["development"]["type"] == "ruling"]
        assert rulings, types

        wait_until(lambda: len(receiver.alerts) >= len(rulings), 30,
                   what=f"webhooks\n{worker.output()[-3000:]}")
        assert receiver.rejected == []
        alert = receiver.alerts[0]["payload"]
        assert alert["type"] == "story.development"
        assert alert["data"]["development"]["type"] == "ruling"
        assert alert["data"]["sources"][0]["url"] == ARTICLE["url"]
        delivered = {a["payload"]["data"]["development"]["id"] for a in receiver.alerts}
        assert delivered == {e["data"]["development"]["id"] for e in rulings}

    for name in ("ingest", "story", "notify"):
        assert KEY not in servers[name].output()
    assert KEY not in worker.output()


def _attached(http: httpx.Client, ingest: str, article_id: str):
    status = http.get(f"{ingest}/v1/articles/{article_id}").json()
    return status if status["status"] != "accepted" else None
