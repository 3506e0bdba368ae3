"""Ingest API on SQLite and PostgreSQL: scoped API keys, Idempotency-Key, batches, HTML and
charsets, signed webhooks, revisions forwarded to the real story service."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from standardwebhooks import Webhook

from services.embedded import asgi_client
from services.ingest.api import create_app
from services.ingest.clients import StoryClient
from services.ingest.models import IdempotencyRecord, IngestArticle, OutboxMessage
from services.ingest.relay import relay_once
from services.ingest.signatures import sign_github
from services.story.api import create_app as create_story_app
from shared import keys
from shared.db import get_engine
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
OPERATOR = "operator-key-for-tests-only"


@pytest.fixture
def settings(db_url):
    for service in ("ingest", "story"):
        upgrade(service, get_engine(db_url))
    return Settings(database_url=db_url, api_key=OPERATOR, max_article_bytes=20_000)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, run_relay_loop=False)) as c:
        yield c


@pytest.fixture
def engine(settings):
    return get_engine(settings.database_url)


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def count(engine, model) -> int:
    with Session(engine) as session:
        return len(session.exec(select(model)).all())


def test_scoped_keys_hashed_at_rest_and_revocable(client, engine):
    ingest_key, ingest_token = keys.create_key(engine, "cms", ["ingest"])
    _admin_key, admin_token = keys.create_key(engine, "ops", ["admin"])
    _key_id, secret = keys.parse_token(ingest_token)  # the secret may itself hold "_"
    assert len(secret) >= 20
    assert secret not in json.dumps([k.model_dump(mode="json") for k in keys.list_keys(engine)])
    assert client.post("/v1/articles", json=ARTICLE).status_code == 401
    wrong = client.post("/v1/articles", json=ARTICLE, headers=bearer(ingest_token + "x"))
    assert wrong.status_code == 401 and ingest_token not in wrong.text
    assert client.post("/v1/articles", json=ARTICLE, headers=bearer(ingest_token)).status_code \
        == 202
    forbidden = client.get("/v1/feeds", headers=bearer(ingest_token))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/feeds", headers=bearer(admin_token)).status_code == 200
    assert client.get("/v1/feeds", headers=bearer(OPERATOR)).status_code == 200
    keys.revoke_key(engine, ingest_key.id)
    revoked = client.post("/v1/articles", json=dict(ARTICLE, url=ARTICLE["url"] + "-2"),
                          headers=bearer(ingest_token))
    assert revoked.status_code == 401
    assert count(engine, IngestArticle) == 1


def test_without_any_key_configured_the_api_stays_open_until_a_key_exists(db_url):
    upgrade("ingest", get_engine(db_url))
    with TestClient(create_app(Settings(database_url=db_url), run_relay_loop=False)) as c:
        assert c.post("/v1/articles", json=ARTICLE).status_code == 202
        keys.create_key(get_engine(db_url), "cms", ["ingest"])
        assert c.post("/v1/articles", json=ARTICLE).status_code == 401


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, engine):
    headers = {**bearer(OPERATOR), "idempotency-key": "cms-42"}
    first = client.post("/v1/articles", json=ARTICLE, headers=headers)
    again = client.post("/v1/articles", json=ARTICLE, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/articles", json=dict(ARTICLE, title="Another title"),
                        headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:storywire:problem:idempotency-key-reused"
    # Without the key, the same article is an exact repeat: 200, still one article.
    assert client.post("/v1/articles", json=ARTICLE, headers=bearer(OPERATOR)).status_code == 200
    assert count(engine, IngestArticle) == 1 and count(engine, OutboxMessage) == 1
    assert count(engine, IdempotencyRecord) == 1


def test_a_batch_answers_per_item_and_stores_the_valid_ones(client, engine):
    items = [dict(ARTICLE, url=f"{ARTICLE['url']}-{i}") for i in range(3)]
    items.insert(1, dict(ARTICLE, published_at="yesterday"))
    items.append(items[0])  # an exact repeat inside the batch
    response = client.post("/v1/articles:batch", json={"articles": items},
                           headers=bearer(OPERATOR))
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 202, 202, 200]
    assert results[1]["problem"]["errors"][0]["loc"] == ["published_at"]
    assert results[4]["article"]["id"] == results[0]["article"]["id"]
    assert results[4]["article"]["duplicate"]
    assert response.json()["counts"] == {"accepted": 3, "duplicates": 1, "rejected": 1}
    assert count(engine, IngestArticle) == 3 and count(engine, OutboxMessage) == 3
    too_many = client.post("/v1/articles:batch", json={"articles": [ARTICLE] * 101},
                           headers=bearer(OPERATOR))
    assert too_many.status_code == 422 and count(engine, IngestArticle) == 3


def test_html_and_charsets(client, engine):
    html = dict(ARTICLE, body="<p>A federal judge on Thursday refused bail.</p>"
                              "<script>alert(1)</script><style>p{}</style><p>Second &amp; last."
                              "</p>")
    created = client.post("/v1/articles", json=html, headers=bearer(OPERATOR)).json()
    with Session(engine) as session:
        stored = session.get(IngestArticle, created["id"])
    assert stored.body == "A federal judge on Thursday refused bail.\n\nSecond & last."
    latin = dict(ARTICLE, url=ARTICLE["url"] + "-latin", title="Guzmán stays in solitary")
    response = client.post("/v1/articles", content=json.dumps(latin, ensure_ascii=False)
                           .encode("latin-1"), headers={
                               **bearer(OPERATOR),
                               "content-type": "application/json; charset=iso-8859-1"})
    assert response.status_code == 202
    with Session(engine) as session:
        assert session.get(IngestArticle, response.json()["id"]).title == latin["title"]
    before = count(engine, IngestArticle)
    invalid = client.post("/v1/articles", content=json.dumps(
        dict(latin, url=ARTICLE["url"] + "-bad"), ensure_ascii=False).encode("latin-1"),
        headers={**bearer(OPERATOR), "content-type": "application/json"})
    assert invalid.status_code == 422
    assert invalid.json()["type"] == "urn:storywire:problem:invalid-encoding"
    unknown = client.post("/v1/articles", content=b"{}", headers={
        **bearer(OPERATOR), "content-type": "application/json; charset=x-unknown"})
    assert unknown.status_code == 415
    big = client.post("/v1/articles", json=dict(ARTICLE, body="word " * 10_000),
                      headers=bearer(OPERATOR))
    assert big.status_code == 413
    assert count(engine, IngestArticle) == before


@pytest.mark.parametrize("field, value", [
    ("title", "\u200b\ufeff\u2060"), ("outlet", "\u202e\u200d"),
    ("body", "<p>\ufeff</p>\n\n\u200b&#8203;"), ("title", "<img src=x onerror=alert(1)>"),
    ("published_at", 1493928000000), ("published_at", "1493928000000"),
])
def test_blank_after_cleaning_or_a_number_for_a_date_is_a_422_and_stores_nothing(
        client, engine, field, value):
    answer = client.post("/v1/articles", json=dict(ARTICLE, **{field: value}),
                         headers=bearer(OPERATOR))
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:storywire:problem:validation-error"
    assert answer.json()["errors"][0]["loc"] == [field]
    batch = client.post("/v1/articles:batch", headers=bearer(OPERATOR), json={
        "articles": [dict(ARTICLE, **{field: value}), ARTICLE]})
    assert [r["status"] for r in batch.json()["results"]] == [422, 202]
    assert count(engine, IngestArticle) == 1 and count(engine, OutboxMessage) == 1


def test_titles_and_bodies_are_stored_as_plain_visible_text(client, engine):
    sent = dict(ARTICLE, outlet="\ufeffBrooklyn Court Reporter\u200b",
                title="Judge keeps \u202eGuzman\u202c in solitary <img src=x onerror=alert(1)>",
                body="A judge ruled\u200b that a < b.<img src=x onerror=alert(1)>\n\n"
                     "Prices rose 3<4 percent &amp; fell; mail <desk@bcr.example>."
                     "<script>steal(document.cookie)</script>")
    created = client.post("/v1/articles", json=sent, headers=bearer(OPERATOR))
    assert created.status_code == 202, created.text
    with Session(engine) as session:
        stored = session.get(IngestArticle, created.json()["id"])
    assert stored.outlet == "Brooklyn Court Reporter"
    assert stored.title == "Judge keeps Guzman in solitary"
    assert stored.body == ("A judge ruled that a < b.\n\n"
                           "Prices rose 3<4 percent & fell; mail <desk@bcr.example>.")


MAPPING = {"title": "post.headline", "url": "post.link", "body": "post.html",
           "published_at": "post.date"}


def cms_payload(**changes) -> bytes:
    post = {"headline": ARTICLE["title"], "link": ARTICLE["url"], "date": ARTICLE["published_at"],
            "html": "<p>" + ARTICLE["body"].replace("\n\n", "</p><p>") + "</p>", **changes}
    return json.dumps({"event": "post.published", "post": post}).encode()


def standard_headers(secret, body: bytes, msg_id="msg_1", at=None):
    at = at or datetime.now(UTC)
    return {"content-type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode())}


def test_standard_webhooks_verified_mapped_and_never_replayed(client, engine):
    made = client.post("/v1/integrations", headers=bearer(OPERATOR), json={
        "name": "courier-cms", "mapping": MAPPING, "outlet": "Brooklyn Court Reporter"})
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert secret not in client.get("/v1/integrations", headers=bearer(OPERATOR)).text
    body = cms_payload()
    refused = [
        standard_headers(secret[:-4] + "AAA=", body),
        standard_headers(secret, cms_payload(headline="Forged")),
        standard_headers(secret, body, at=datetime.now(UTC) - timedelta(minutes=10)),
        {"content-type": "application/json"},
    ]
    for headers in refused:
        response = client.post("/v1/webhooks/courier-cms", content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert secret not in response.text
    assert count(engine, IngestArticle) == 0
    accepted = client.post("/v1/webhooks/courier-cms", content=body,
                           headers=standard_headers(secret, body))
    assert accepted.status_code == 202, accepted.text
    with Session(engine) as session:
        stored = session.get(IngestArticle, accepted.json()["id"])
    assert (stored.title, stored.outlet, stored.url) == (ARTICLE["title"], ARTICLE["outlet"],
                                                         ARTICLE["url"])
    assert stored.body == ARTICLE["body"]
    replay = client.post("/v1/webhooks/courier-cms", content=body,
                         headers=standard_headers(secret, body))
    assert replay.status_code == 409
    assert replay.json()["type"] == "urn:storywire:problem:webhook-replayed"
    unmapped = cms_payload(headline=None)
    missing = client.post("/v1/webhooks/courier-cms", content=unmapped,
                          headers=standard_headers(secret, unmapped, "msg_2"))
    assert missing.status_code == 422
    assert count(engine, IngestArticle) == 1 and count(engine, OutboxMessage) == 1


def test_github_style_signature(client, engine):
    secret = "the-cms-own-secret-0123456789"
    assert client.post("/v1/integrations", headers=bearer(OPERATOR), json={
        "name": "wire", "signing": "github", "secret": secret, "mapping": MAPPING,
        "outlet": "Wire"}).json()["secret"] == secret
    body = cms_payload()
    bad = client.post("/v1/webhooks/wire", content=body, headers={
        "content-type": "application/json", "x-hub-signature-256": sign_github("nope", body)})
    assert bad.status_code == 401 and count(engine, IngestArticle) == 0
    signed = {"content-type": "application/json", "x-hub-signature-256": sign_github(secret, body),
              "x-github-delivery": "delivery-1"}
    assert client.post("/v1/webhooks/wire", content=body, headers=signed).status_code == 202
    assert client.post("/v1/webhooks/wire", content=body, headers=signed).status_code == 409
    assert count(engine, IngestArticle) == 1
    assert client.post("/v1/webhooks/nobody", content=body, headers={
        "content-type": "application/json"}).status_code == 404


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_signed_webhooks_are_limited_per_integration_in_redis(db_url, redis_url):
    for service in ("ingest", "story"):
        upgrade(service, get_engine(db_url))
    engine = get_engine(db_url)
    settings = Settings(database_url=db_url, api_key=OPERATOR, broker_url=redis_url,
                        webhook_rate_limit=2, rate_limit_window=3600)
    with TestClient(create_app(settings, run_relay_loop=False)) as client:
        secrets = {name: client.post("/v1/integrations", headers=bearer(OPERATOR), json={
            "name": name, "mapping": MAPPING, "outlet": "Wire"}).json()["secret"]
            for name in ("courier-cms", "other-cms")}

        def send(name, n, secret=None):
            body = cms_payload(link=f"https://bcr.example/{name}/{n}")
            return client.post(f"/v1/webhooks/{name}", content=body, headers=standard_headers(
                secret or secrets[name], body, f"msg_{name}_{n}"))

        forged = secrets["courier-cms"][:-4] + "AAA="
        for n in range(5):  # forged requests take nothing from the integration's budget
            assert send("courier-cms", n, forged).status_code == 401
        assert send("courier-cms", 1).status_code == 202
        assert send("courier-cms", 2).status_code == 202
        refused = send("courier-cms", 3)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"] == "urn:storywire:problem:rate-limited"
        assert problem["title"] == "Too many requests for this integration"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert secrets["courier-cms"] not in refused.text
        assert send("courier-cms", 4, forged).status_code == 401  # still checked first
        assert send("other-cms", 1).status_code == 202  # each integration has its own budget
        limited = client.app.openapi()["paths"]["/v1/webhooks/{integration}"]["post"][
            "responses"]["429"]
        assert "Retry-After" in limited["headers"]
    with Session(engine) as session:  # nothing of the refused request was stored
        urls = set(session.exec(select(IngestArticle.url)))
    assert urls == {"https://bcr.example/courier-cms/1", "https://bcr.example/courier-cms/2",
                    "https://bcr.example/other-cms/1"}
    counted = redis.Redis.from_url(redis_url)
    assert counted.zcard("storywire:rate:webhooks:courier-cms") == 2  # shared by instances
    counted.close()


def test_a_revision_is_forwarded_as_such_and_its_status_says_so(client, settings, engine):
    first = client.post("/v1/articles", json=ARTICLE, headers=bearer(OPERATOR)).json()
    revised_body = ARTICLE["body"] + "\n\nHis lawyers, Michelle Gelernt and Michael Schneider, " \
        "asked the judge to lift the restrictions."
    revised = client.post("/v1/articles", json=dict(ARTICLE, body=revised_body),
                          headers=bearer(OPERATOR)).json()
    assert revised["revision_of"] == first["id"] and revised["id"] != first["id"]
    story_app = create_story_app(settings)
    sent = []

    async def forward():
        http = asgi_client(story_app, "story")
        http.headers.update(bearer(OPERATOR))
        http.event_hooks["request"].append(lambda request: _keep(sent, request))
        return await relay_once(engine, StoryClient(http), 10)

    assert asyncio.run(forward()) == 2
    forwarded = [a for batch in sent for a in batch["articles"]]
    assert [a["revision_of"] for a in forwarded] == [None, first["id"]]
    status = client.get(f"/v1/articles/{revised['id']}", headers=bearer(OPERATOR)).json()
    assert status["revision_of"] == first["id"]
    assert status["status"] == "attached" and status["stories"] == ["guzman-detention-conditions"]


async def _keep(sent: list, request):
    sent.append(json.loads(request.content))
