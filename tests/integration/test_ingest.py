"""Ingest on SQLite and PostgreSQL: validation, exact repeats, outbox atomicity, the relay."""

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from conftest import free_port
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.embedded import asgi_client
from services.ingest import store
from services.ingest.api import create_app
from services.ingest.clients import StoryClient
from services.ingest.models import Feed, IngestArticle, OutboxMessage
from services.ingest.relay import relay_once
from services.story.api import create_app as create_story_app
from shared.db import get_engine, utcnow
from shared.migrate import upgrade
from shared.settings import Settings

ARTICLE = {
    "outlet": "Brooklyn Court Reporter",
    "url": "https://bcr.example/2017/05/04/cogan",
    "title": "Judge keeps Guzman in solitary",
    "published_at": "2017-05-04T20:00:00Z",
    "body": "A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
            "solitary confinement.\n\nU.S. District Judge Brian Cogan also rejected the request "
            "to let Amnesty International observers visit him.",
}


@pytest.fixture
def settings(db_url):
    for service in ("ingest", "story"):
        upgrade(service, get_engine(db_url))
    return Settings(database_url=db_url, max_article_bytes=20_000)


@pytest.fixture
def client(settings):
    app = create_app(settings, run_relay_loop=False)
    with TestClient(app) as c:
        yield c


def rows(settings, model):
    with Session(get_engine(settings.database_url)) as session:
        return session.exec(select(model).order_by(model.id)).all()


def test_accept_then_exact_repeat_returns_the_same_article(client, settings):
    first = client.post("/v1/articles", json=ARTICLE)
    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "accepted" and not body["duplicate"]
    assert first.headers["location"].endswith(f"/v1/articles/{body['id']}")
    # Same URL, same text up to spacing and quote style: the same article.
    repeat = dict(ARTICLE, body=ARTICLE["body"].replace(" ", "  ").replace('"', "\u201c"))
    second = client.post("/v1/articles", json=repeat)
    assert second.status_code == 200
    assert second.json()["id"] == body["id"] and second.json()["duplicate"]
    assert len(rows(settings, IngestArticle)) == 1
    assert len(rows(settings, OutboxMessage)) == 1
    status = client.get(body["status_url"].replace("http://testserver", "")).json()
    assert status["status"] == "accepted" and status["stories"] == []


def test_changed_text_at_the_same_url_is_a_revision(client, settings):
    first = client.post("/v1/articles", json=ARTICLE).json()
    revised = client.post("/v1/articles", json=dict(ARTICLE, body=ARTICLE["body"] + " Updated."))
    assert revised.status_code == 202
    assert revised.json()["revision_of"] == first["id"]
    assert len(rows(settings, OutboxMessage)) == 2


@pytest.mark.parametrize("change, field", [
    ({"url": "not a url"}, "url"),
    ({"published_at": "2017-05-04T20:00:00"}, "published_at"),  # no time zone
    ({"title": "   "}, "title"),
    ({"body": " \n\n  "}, "body"),
    ({"outlet": "x" * 201}, "outlet"),
])
def test_invalid_articles_get_problem_json_and_store_nothing(client, settings, change, field):
    response = client.post("/v1/articles", json=dict(ARTICLE, **change))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:storywire:problem:validation-error"
    assert any(field in e["loc"] for e in problem["errors"])
    assert rows(settings, IngestArticle) == [] and rows(settings, OutboxMessage) == []


def test_size_and_media_type_limits(client, settings):
    big = client.post("/v1/articles", json=dict(ARTICLE, body="word " * 10_000))
    assert big.status_code == 413 and big.json()["type"].endswith("payload-too-large")
    form = client.post("/v1/articles", content="outlet=x", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert rows(settings, IngestArticle) == []


def test_api_key_is_required_when_configured(db_url):
    upgrade("ingest", get_engine(db_url))
    settings = Settings(database_url=db_url, api_key="s3cret-key")
    with TestClient(create_app(settings, run_relay_loop=False)) as c:
        denied = c.post("/v1/articles", json=ARTICLE)
        assert denied.status_code == 401 and "s3cret" not in denied.text
        ok = c.post("/v1/articles", json=ARTICLE, headers={"authorization": "Bearer s3cret-key"})
        assert ok.status_code == 202


def test_relay_keeps_order_through_an_outage_and_forwards_once(client, settings):
    ids = []
    for i in range(3):
        article = dict(ARTICLE, url=f"{ARTICLE['url']}-{i}", title=f"{ARTICLE['title']} {i}")
        ids.append(client.post("/v1/articles", json=article).json()["id"])
    engine = get_engine(settings.database_url)

    async def scenario():
        down = StoryClient(httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}"))
        assert await relay_once(engine, down, 10) == 0
        (first, *_rest) = rows(settings, OutboxMessage)
        assert first.attempts == 1 and first.last_error and first.sent_at is None
        # While the first message backs off, nothing overtakes it.
        assert store.due_messages(engine, 10, first.next_attempt_at.replace(year=2000)) == []
        assert [a.id for _, a in store.due_messages(engine, 10, first.next_attempt_at)] == ids
        with engine.begin() as conn:  # the backoff has passed
            conn.execute(sa.update(OutboxMessage.__table__).values(next_attempt_at=utcnow()))
        up = StoryClient(asgi_client(create_story_app(settings), "story"))
        assert await relay_once(engine, up, 10) == 3
        assert await relay_once(engine, up, 10) == 0

    asyncio.run(scenario())
    statuses = [client.get(f"/v1/articles/{i}").json() for i in ids]
    assert all(s["status"] == "attached" for s in statuses)
    assert all(s["stories"] == ["guzman-detention-conditions"] for s in statuses)


@pytest.mark.parametrize("how", ["api", "feed"])
def test_the_same_article_sent_at_once_by_several_clients_is_stored_once_and_none_fails(
        settings, how):
    import threading
    from datetime import UTC, datetime

    engine = get_engine(settings.database_url)
    if how == "feed":
        feed = store.add_unique(engine, Feed(id="feed-1", url="https://feeds.example/rss",
                                             outlet="Wire", interval_seconds=60))
    outcomes, failures = [], []
    for n in range(15):
        fields = dict(ARTICLE, url=f"{ARTICLE['url']}-{n}",
                      published_at=datetime(2017, 5, 4, 20, tzinfo=UTC))
        start = threading.Barrier(3)

        def send(fields=fields, start=start, n=n):
            start.wait()
            try:
                if how == "api":
                    outcomes.append(store.accept_article(engine, dict(fields)))
                else:
                    outcomes.append(store.accept_feed_entry(engine, feed.id, f"item-{n}",
                                                            "fingerprint", dict(fields)))
            except Exception as exc:  # noqa: BLE001 - a lost race must not surface as an error
                failures.append(repr(exc))

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(outcomes) == 45 and sum(o.created for o in outcomes) == 15
    assert len(rows(settings, IngestArticle)) == len(rows(settings, OutboxMessage)) == 15
