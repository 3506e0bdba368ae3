"""Prometheus metrics of real processes: ingest, story (two writer processes, counting in
multiprocess mode), notify and a Celery worker (its pool counting into the worker's exporter)
on PostgreSQL and Redis. A burst of articles, some with developments, some on no story, goes
through with a webhook subscription on a loopback receiver; every process's /metrics is read
before and after, and each counter moved by what the services did."""

import httpx
import pytest
from conftest import RULING_ARTICLE, free_port, scrape, serve_stack, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "metrics-api-key-not-a-secret-anywhere"
STORY = "guzman-detention-conditions"
HEARING = {
    "outlet": "Court Wire",
    "url": "https://courtwire.example/2017/06/01/guzman-hearing",
    "title": "Guzman lawyers win hearing on jail conditions",
    "published_at": "2017-06-01T15:00:00Z",
    "body": ("Lawyers for Joaquin \"El Chapo\" Guzman will get a hearing next week on his "
             "conditions of confinement, a federal judge in Brooklyn said on Thursday.\n\n"
             "U.S. District Judge Brian Cogan scheduled the hearing for June 8 on the defense "
             "motion to ease the special administrative measures at the Metropolitan "
             "Correctional Center."),
}


def unrelated(n: int) -> dict:
    return {"outlet": "Harbor Gazette", "url": f"https://gazette.example/council/{n}",
            "title": f"Council weighs harbor budget, part {n}",
            "published_at": "2017-06-02T09:00:00Z",
            "body": (f"The harbor council met on Tuesday for session {n} to debate the ferry "
                     "budget and new lighting along the pier.\n\nMembers will vote on the "
                     "plan next month after a public comment period.")}


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_counters_move_by_what_the_services_did(pg_url, redis_url, processes):
    worker_port = free_port()
    env, ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_STORY_WRITERS="2",
                           STORYWIRE_WORKER_METRICS_PORT=str(worker_port))
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "2",
                                  "--metrics-host", "127.0.0.1"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    targets = {**{name: f"{url}/metrics" for name, url in urls.items()},
               "worker": f"http://127.0.0.1:{worker_port}/metrics"}
    articles = [RULING_ARTICLE, HEARING, unrelated(1), unrelated(2), unrelated(3)]

    with WebhookReceiver() as receiver, httpx.Client(
            timeout=20, headers={"authorization": f"Bearer {KEY}"}) as http:
        created = http.post(f"{urls['notify']}/v1/subscriptions", json={
            "name": "metrics desk", "url": receiver.url})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        head_before = http.get(f"{urls['story']}/v1/events", params={"after": 0}).json()["head"]
        stories = len(http.get(f"{urls['story']}/v1/stories").json()["stories"])
        before = {name: scrape(url) for name, url in targets.items()}

        ids = []
        for article in articles:
            accepted = http.post(f"{urls['ingest']}/v1/articles", json=article)
            assert accepted.status_code == 202, accepted.text
            ids.append(accepted.json()["id"])
        statuses = wait_until(lambda: settled(http, urls["ingest"], ids), 60,
                              what=f"forwarding\n{servers['ingest'].output()[-3000:]}")
        feed = http.get(f"{urls['story']}/v1/events",
                        params={"after": head_before, "limit": 1000}).json()
        developments = [e for e in feed["events"] if e["type"] == "DevelopmentDetected"]
        assert developments, [e["type"] for e in feed["events"]]
        wait_until(lambda: len(receiver.alerts) >= len(developments), 60,
                   what=f"webhooks\n{worker.output()[-3000:]}")
        after = {name: scrape(url) for name, url in targets.items()}
        # the worker counts a delivery once it is settled, just after the receiver answered
        after["worker"] = wait_until(lambda: worker_caught_up(targets["worker"], before,
                                                              len(receiver.alerts)),
                                     20, what="the worker's metrics")
        assert receiver.rejected == []

    attached = sum(1 for s in statuses if s["status"] == "attached")
    unrouted = sum(1 for s in statuses if s["status"] == "unrouted")
    assert attached == 2 and unrouted == 3, statuses
    ingest, story, notify = before["ingest"], before["story"], before["notify"]
    assert moved(ingest, after["ingest"], "storywire_articles_forwarded_total") == len(articles)
    assert moved(ingest, after["ingest"], "storywire_http_requests_total",
                 route="/v1/articles", method="POST", status="202") == len(articles)
    assert total(after["ingest"], "storywire_outbox_depth") == 0
    assert moved(story, after["story"], "storywire_articles_attached_total") == attached
    assert moved(story, after["story"], "storywire_articles_unrouted_total") == unrouted
    assert moved(story, after["story"], "storywire_events_appended_total") == \
        feed["head"] - head_before == len(feed["events"])
    assert moved(story, after["story"], "storywire_events_appended_total",
                 type="DevelopmentDetected") == len(developments)
    # each article analyzed, in the writer processes, against each story the routing index
    # lets it reach: at least the ones it is on
    assert attached <= moved(story, after["story"], "storywire_analysis_seconds_count") <= \
        len(articles) * stories
    assert moved(story, after["story"], "storywire_http_requests_total",
                 route="/v1/articles:batch", method="POST", status="200") >= 1
    assert moved(notify, after["notify"], "storywire_http_requests_total",
                 route="/v1/events") == 0  # notify reads the feed; it does not serve it
    assert ("storywire_feed_lag", frozenset({("consumer", "notify-dispatcher")})) in \
        after["notify"]
    worker_before = before["worker"]
    delivered = len(receiver.alerts)
    assert delivered == len(developments)
    assert moved(worker_before, after["worker"], "storywire_deliveries_total",
                 channel="webhook", status="delivered") == delivered
    assert moved(worker_before, after["worker"], "storywire_alert_latency_seconds_count",
                 channel="webhook") == delivered
    assert moved(worker_before, after["worker"], "storywire_alert_latency_seconds_sum",
                 channel="webhook") > 0
    assert moved(worker_before, after["worker"], "storywire_deliveries_total",
                 status="failed") == 0


def settled(http: httpx.Client, ingest: str, ids: list[str]):
    statuses = [http.get(f"{ingest}/v1/articles/{i}").json() for i in ids]
    return statuses if all(s["status"] != "accepted" for s in statuses) else None


def worker_caught_up(url: str, before: dict, delivered: int):
    samples = scrape(url)
    done = moved(before["worker"], samples, "storywire_deliveries_total",
                 status="delivered") >= delivered
    return samples if done else None
