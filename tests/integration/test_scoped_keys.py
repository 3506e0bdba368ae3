"""Scoped API keys across the three services, on SQLite and PostgreSQL: each scope is let in
where it applies and refused elsewhere, a subscriber's key sees nothing of another subscriber,
no key configured leaves everything open, and per-key rate limits answer 429 with Retry-After
(shared by two instances through Redis)."""

import os
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.ingest.api import create_app as ingest_app
from services.ingest.models import IngestArticle
from services.notify.api import create_app as notify_app
from services.notify.models import DeliveryAttempt, Subscriber
from services.story.api import create_app as story_app
from shared import keys
from shared.db import get_engine
from shared.migrate import upgrade
from shared.problems import PROBLEM_JSON
from shared.settings import Settings

OPERATOR = "scoped-keys-operator-key"
STORY = {"title": "Harbor bridge contract", "entities": ["Port Authority"],
         "keywords": ["bridge"]}


def article(n: int) -> dict:
    return {"outlet": "Wire", "url": f"https://wire.example/{n}", "title": f"Ruling {n}",
            "published_at": "2017-05-04T20:00:00Z", "body": f"The judge ruled, number {n}."}


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def start(settings: Settings) -> dict[str, TestClient]:
    return {"ingest": TestClient(ingest_app(settings, run_relay_loop=False)),
            "story": TestClient(story_app(settings, run_snapshotter=False)),
            "notify": TestClient(notify_app(settings, run_dispatch_loop=False,
                                            enqueue=lambda _id: None))}


@pytest.fixture
def engine(db_url):
    engine = get_engine(db_url)
    for service in ("ingest", "story", "notify"):
        upgrade(service, engine)
    return engine


@pytest.fixture
def apps(db_url, engine, tmp_path):
    settings = Settings(database_url=db_url, data_dir=tmp_path, api_key=OPERATOR,
                        allow_private_urls=True)
    clients = start(settings)
    for client in clients.values():
        client.__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def test_each_scope_is_let_in_where_it_applies_and_refused_elsewhere(apps, engine):
    ingest, story, notify = apps["ingest"], apps["story"], apps["notify"]
    made = story.post("/v1/stories", json=STORY, headers=bearer(OPERATOR))
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    sbr = notify.post("/v1/subscribers", json={"name": "desk"}, headers=bearer(OPERATOR)).json()
    tokens = {scope: keys.create_key(engine, scope, [scope],
                                     sbr["id"] if scope == "subscriptions" else None)[1]
              for scope in keys.SCOPES}

    def status(client, method, path, scope, body=None):
        headers = bearer(tokens[scope]) if scope else {}
        return client.request(method, path, json=body, headers=headers).status_code

    routes = [  # (client, method, path, body, the scope it needs)
        (story, "GET", "/v1/stories", None, "read"),
        (story, "GET", f"/v1/stories/{slug}", None, "read"),
        (story, "GET", f"/v1/stories/{slug}/timeline", None, "read"),
        (story, "GET", "/v1/events", None, "read"),
        (story, "PATCH", f"/v1/stories/{slug}", {"keywords": ["jail"]}, "admin"),
        (ingest, "POST", "/v1/articles", article(1), "ingest"),
        (ingest, "GET", "/v1/feeds", None, "admin"),
        (notify, "GET", "/v1/subscriptions", None, "subscriptions"),
        (notify, "GET", f"/v1/subscribers/{sbr['id']}", None, "subscriptions"),
        (notify, "GET", "/v1/subscribers", None, "admin"),
    ]
    for client, method, path, body, needed in routes:
        assert status(client, method, path, None, body) == 401, (method, path)
        for scope in keys.SCOPES:
            expected = 403 if scope not in (needed, "admin") else None
            got = status(client, method, path, scope, body)
            if expected:
                assert got == expected, (method, path, scope, got)
            else:
                assert got in (200, 201, 202), (method, path, scope, got)
        refused = client.request(method, path, json=body, headers=bearer(tokens["read"]
                                                                         if needed != "read"
                                                                         else tokens["ingest"]))
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert refused.json()["type"] == "urn:storywire:problem:forbidden"
    # the operator key keeps every scope; a revoked key is refused everywhere
    assert status(story, "GET", "/v1/stories", None) == 401
    assert story.get("/v1/stories", headers=bearer(OPERATOR)).status_code == 200
    read_id = keys.parse_token(tokens["read"])[0]
    keys.revoke_key(engine, read_id)
    assert status(story, "GET", "/v1/stories", "read") == 401


def test_a_subscribers_key_sees_nothing_of_another_subscriber(apps, engine):
    notify = apps["notify"]
    admin = bearer(OPERATOR)
    ids, tokens, subs, secrets = {}, {}, {}, {}
    for name in ("a", "b"):
        ids[name] = notify.post("/v1/subscribers", json={"name": name}, headers=admin).json()["id"]
        tokens[name] = bearer(keys.create_key(engine, name, ["subscriptions"], ids[name])[1])
        created = notify.post("/v1/subscriptions", headers=tokens[name], json={
            "name": f"{name} hook", "url": f"https://{name}.example/hook"})
        assert created.status_code == 201, created.text
        assert created.json()["subscriber_id"] == ids[name]  # its own, without saying so
        subs[name], secrets[name] = created.json()["id"], created.json()["secret"]
    a, b = tokens["a"], tokens["b"]
    b_sub = subs["b"]
    test = notify.post(f"/v1/subscriptions/{b_sub}/test", headers=b)
    assert test.status_code == 202, test.text
    b_delivery = test.json()["delivery_id"]
    with Session(engine) as session:
        session.add(DeliveryAttempt(delivery_id=b_delivery, state="completed", status_code=500,
                                    error="server error"))
        session.commit()

    # b sees its own
    assert [s["id"] for s in notify.get("/v1/subscriptions", headers=b).json()] == [b_sub]
    assert notify.get(f"/v1/deliveries/{b_delivery}/attempts", headers=b).json()
    assert [d["id"] for d in
            notify.get(f"/v1/subscriptions/{b_sub}/deliveries", headers=b).json()] == [b_delivery]

    # a sees nothing of b: its lists leave b out, b's ids are unknown (404, not 403)
    listed = notify.get("/v1/subscriptions", headers=a).json()
    assert [s["id"] for s in listed] == [subs["a"]]
    assert notify.get(f"/v1/subscriptions?subscriber_id={ids['b']}", headers=a).json() == []
    for method, path, body in [
        ("GET", f"/v1/subscriptions/{b_sub}", None),
        ("PATCH", f"/v1/subscriptions/{b_sub}", {"name": "taken"}),
        ("POST", f"/v1/subscriptions/{b_sub}/secret", None),
        ("POST", f"/v1/subscriptions/{b_sub}/test", None),
        ("GET", f"/v1/subscriptions/{b_sub}/deliveries", None),
        ("GET", f"/v1/deliveries/{b_delivery}", None),
        ("GET", f"/v1/deliveries/{b_delivery}/attempts", None),
        ("GET", f"/v1/subscribers/{ids['b']}", None),
        ("GET", f"/v1/subscribers/{ids['b']}/subscriptions", None),
        ("PATCH", f"/v1/subscribers/{ids['b']}", {"name": "taken"}),
        ("DELETE", f"/v1/subscriptions/{b_sub}", None),
    ]:
        answer = notify.request(method, path, json=body, headers=a)
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert answer.json()["type"] == "urn:storywire:problem:not-found"
        assert secrets["b"] not in answer.text
    assert notify.post("/v1/subscriptions", headers=a, json={
        "subscriber_id": ids["b"], "name": "into b", "url": "https://a.example/x"}
    ).status_code == 422
    assert notify.post("/v1/deliveries/redrive", json={"delivery_ids": [b_delivery]},
                       headers=a).json() == {"redriven": []}
    # admin-only subscriber routes stay closed to a subscriptions key
    assert notify.get("/v1/subscribers", headers=a).status_code == 403
    assert notify.delete(f"/v1/subscribers/{ids['a']}", headers=a).status_code == 403

    # b's subscription is untouched, and no read shows a secret
    kept = notify.get(f"/v1/subscriptions/{b_sub}", headers=b)
    assert kept.json()["name"] == "b hook"
    reads = [notify.get(p, headers=h).text for p, h in [
        ("/v1/subscriptions", admin), ("/v1/subscriptions", a), ("/v1/subscriptions", b),
        (f"/v1/subscriptions/{b_sub}", b), (f"/v1/deliveries/{b_delivery}", b),
        (f"/v1/subscriptions/{b_sub}/deliveries", b)]]
    for text in reads:
        assert "whsec_" not in text and "secret_hash" not in text


def test_with_no_key_configured_everything_stays_open(db_url, engine, tmp_path):
    clients = start(Settings(database_url=db_url, data_dir=tmp_path, allow_private_urls=True))
    ingest, story, notify = clients["ingest"], clients["story"], clients["notify"]
    with ingest, story, notify:
        assert story.post("/v1/stories", json=STORY).status_code == 201
        assert story.get("/v1/stories").status_code == 200
        assert story.get("/v1/events").status_code == 200
        assert ingest.post("/v1/articles", json=article(1)).status_code == 202
        assert ingest.get("/v1/feeds").status_code == 200
        assert notify.post("/v1/subscriptions", json={
            "name": "desk", "url": "https://desk.example/hook"}).status_code == 201
        assert notify.get("/v1/subscribers").status_code == 200
        # the first key closes every service to requests without one
        _key, token = keys.create_key(engine, "reader", ["read"])
        assert story.get("/v1/stories").status_code == 401
        assert ingest.post("/v1/articles", json=article(2)).status_code == 401
        assert notify.get("/v1/subscriptions").status_code == 401
        assert story.get("/v1/stories", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_ingest_rate_limit_is_shared_by_two_instances_through_redis(db_url, engine,
                                                                         redis_url, tmp_path):
    def instance():
        return TestClient(ingest_app(Settings(
            database_url=db_url, data_dir=tmp_path, api_key=OPERATOR, broker_url=redis_url,
            ingest_rate_limit=2, rate_limit_window=3600), run_relay_loop=False))

    _key, cms = keys.create_key(engine, "cms", ["ingest"])
    _key, other = keys.create_key(engine, "other cms", ["ingest"])
    with instance() as first, instance() as second:
        assert first.post("/v1/articles", json=article(1), headers=bearer(cms)).status_code == 202
        assert second.post("/v1/articles", json=article(2), headers=bearer(cms)).status_code == 202
        for client in (first, second):
            refused = client.post("/v1/articles", json=article(3), headers=bearer(cms))
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"].startswith(PROBLEM_JSON)
            assert refused.json()["type"] == "urn:storywire:problem:rate-limited"
            assert 1 <= int(refused.headers["retry-after"]) <= 3600
        batch = second.post("/v1/articles:batch", json={"articles": [article(4)]},
                            headers=bearer(cms))
        assert batch.status_code == 429
        # per key: another key has its own count; the operator key is not limited
        assert second.post("/v1/articles", json=article(5),
                           headers=bearer(other)).status_code == 202
        for n in range(6, 9):
            assert first.post("/v1/articles", json=article(n),
                              headers=bearer(OPERATOR)).status_code == 202
    with Session(engine) as session:  # nothing of the refused requests was stored
        urls = set(session.exec(select(IngestArticle.url)))
    assert urls == {article(n)["url"] for n in (1, 2, 5, 6, 7, 8)}


def test_subscription_writes_are_limited_in_process_when_embedded(db_url, engine, tmp_path):
    settings = Settings(database_url=db_url, data_dir=tmp_path, allow_private_urls=True,
                        subscription_rate_limit=2, rate_limit_window=3600)
    with TestClient(notify_app(settings, run_dispatch_loop=False,
                               enqueue=lambda _id: None)) as notify:
        made = notify.post("/v1/subscriptions", json={"name": "desk",
                                                      "url": "https://desk.example/hook"})
        assert made.status_code == 201
        sub = made.json()["id"]
        assert notify.patch(f"/v1/subscriptions/{sub}", json={"name": "desk 2"}).status_code == 200
        refused = notify.patch(f"/v1/subscriptions/{sub}", json={"name": "desk 3"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert notify.get(f"/v1/subscriptions/{sub}").json()["name"] == "desk 2"
        assert notify.get("/v1/subscriptions").status_code == 200  # reads are not limited
    with Session(engine) as session:
        assert session.get(Subscriber, made.json()["subscriber_id"]) is not None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_openapi_lists_the_scope_and_rate_limit_answers(apps):
    def responses(service, path, method):
        return apps[service].app.openapi()["paths"][path][method]["responses"]

    for service, path, method in [("story", "/v1/stories/{slug}/timeline", "get"),
                                  ("story", "/v1/events", "get"),
                                  ("notify", "/v1/subscriptions/{subscription_id}", "get"),
                                  ("ingest", "/v1/feeds", "get")]:
        assert {"401", "403"} <= set(responses(service, path, method)), (service, path)
        assert "429" not in responses(service, path, method)
        unavailable = responses(service, path, method)["503"]
        assert "Retry-After" in unavailable["headers"], (service, path)
    for service, path, method in [("ingest", "/v1/articles", "post"),
                                  ("ingest", "/v1/articles:batch", "post"),
                                  ("notify", "/v1/subscriptions", "post"),
                                  ("notify", "/v1/subscriptions/{subscription_id}", "patch")]:
        limited = responses(service, path, method)["429"]
        assert "Retry-After" in limited["headers"], (service, path)
        assert PROBLEM_JSON in limited["content"]
    for path in ("/v1/unsubscribe/{token}", "/v1/feeds/{token}"):  # signed links need no key
        assert "401" not in responses("notify", path, "get")


def test_keys_from_the_command_line(tmp_path):
    env = {**os.environ, "STORYWIRE_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
           "STORYWIRE_DATA_DIR": str(tmp_path)}
    env.pop("STORYWIRE_API_KEY", None)

    def storywire(*args):
        return subprocess.run([sys.executable, "-m", "services.cli", "keys", *args],
                              capture_output=True, text=True, timeout=120, env=env)

    made = storywire("create", "Court desk", "--scope", "subscriptions", "--subscriber", "sbr_1")
    assert made.returncode == 0, made.stderr
    token = made.stdout.split("token (shown once, store it now): ")[1].strip()
    assert keys.parse_token(token)
    assert "STORYWIRE_API_KEY" in made.stderr  # keys without an operator key: told to set one
    listed = storywire("list")
    assert "subscriber=sbr_1" in listed.stdout and "subscriptions" in listed.stdout
    assert keys.parse_token(token)[1] not in listed.stdout
    for refused in (("create", "desk", "--scope", "subscriptions"),
                    ("create", "desk", "--scope", "read", "--subscriber", "sbr_1")):
        result = storywire(*refused)
        assert result.returncode != 0 and "--subscriber" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_keys_database_without_the_table_holds_no_key(tmp_path):
    bare = get_engine(f"sqlite:///{tmp_path / 'bare.db'}")  # never migrated for ingest
    assert not keys.keys_exist(bare)
    assert keys.find_key(bare, "sw_live_abc123_secret") is None


@pytest.fixture
def refusing_port():
    """A loopback port bound but not listening: every connection to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def assert_keys_unavailable(response, *secrets):
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] == "urn:storywire:problem:keys-unavailable"
    assert response.headers["retry-after"] == "5"
    for secret in secrets:
        assert secret not in response.text


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_unreachable_keys_database_answers_503_and_stores_nothing(db_url, engine, tmp_path,
                                                                     refusing_port, caplog):
    password = "keys-db-password-7f3a"
    refusing = f"postgresql://storywire:{password}@127.0.0.1:{refusing_port}/keys"
    _key, token = keys.create_key(engine, "cms", ["ingest", "read"])  # valid where it lives
    secret = keys.parse_token(token)[1]
    settings = Settings(database_url=db_url, keys_database_url=refusing, data_dir=tmp_path,
                        api_key=OPERATOR)
    caplog.set_level("DEBUG")
    with TestClient(ingest_app(settings, run_relay_loop=False)) as ingest:
        assert_keys_unavailable(ingest.post("/v1/articles", json=article(1),
                                            headers=bearer(token)), password, secret)
        assert_keys_unavailable(ingest.post("/v1/articles:batch", json={
            "articles": [article(2)]}, headers=bearer(token)), password, secret)
        # the operator key needs no database to be checked; the service's own one is fine
        by_operator = ingest.post("/v1/articles", json=article(3), headers=bearer(OPERATOR))
        assert by_operator.status_code == 202
        assert_keys_unavailable(ingest.get(f"/v1/articles/{by_operator.json()['id']}",
                                           headers=bearer(token)), password, secret)
        assert ingest.get("/readyz").status_code == 200  # its own database answers
    with Session(engine) as session:
        assert set(session.exec(select(IngestArticle.url))) == {article(3)["url"]}
    logged = caplog.text
    assert "keys database is unavailable (OperationalError)" in logged
    assert password not in logged and secret not in logged

    # with no operator key, a request without one cannot learn whether keys exist: 503, not open
    open_settings = Settings(keys_database_url=refusing, data_dir=tmp_path)
    with TestClient(story_app(open_settings, run_snapshotter=False)) as story:
        assert_keys_unavailable(story.get("/v1/stories"), password)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_service_whose_database_is_away_answers_503_and_is_not_ready(db_url, engine, tmp_path,
                                                                      refusing_port):
    _key, token = keys.create_key(engine, "cms", ["ingest"])
    password = "service-db-password-2c9e"
    away = f"postgresql://storywire:{password}@127.0.0.1:{refusing_port}/storywire"
    with TestClient(ingest_app(Settings(database_url=away, data_dir=tmp_path, api_key=OPERATOR),
                               run_relay_loop=False)) as ingest:
        assert_keys_unavailable(ingest.post("/v1/articles", json=article(1),
                                            headers=bearer(token)), password)
        ready = ingest.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unavailable: OperationalError"
        assert password not in ready.text
