"""A NUL or a lone surrogate anywhere in a request is a 422 problem on every service, and
nothing is stored; on PostgreSQL these used to surface as 500s from inside an insert."""

import pytest
from fastapi.testclient import TestClient

from services.ingest.api import create_app as ingest_app
from services.notify.api import create_app as notify_app
from services.story.api import create_app as story_app
from shared.db import get_engine
from shared.migrate import upgrade
from shared.settings import Settings

NUL_JSON = b'{"title": "Ruiz\\u0000 case"}'
LONE_JSON = b'{"title": "Ruiz \\ud83d case"}'
PAIR_JSON = b'{"title": "Ruiz \\ud83d\\ude00 case"}'


@pytest.fixture
def clients(db_url, tmp_path):
    settings = Settings(database_url=db_url, data_dir=tmp_path, allow_private_urls=True)
    for service in ("ingest", "story", "notify"):
        upgrade(service, get_engine(db_url))
    apps = {"ingest": ingest_app(settings, run_relay_loop=False),
            "story": story_app(settings, run_snapshotter=False),
            "notify": notify_app(settings, run_dispatch_loop=False, enqueue=lambda _id: None)}
    with TestClient(apps["ingest"]) as ingest, TestClient(apps["story"]) as story, \
            TestClient(apps["notify"]) as notify:
        yield {"ingest": ingest, "story": story, "notify": notify}


def _refused(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("unsafe-text")


@pytest.mark.parametrize("body", [NUL_JSON, LONE_JSON])
def test_a_nul_or_lone_surrogate_in_a_body_is_refused_by_every_service(clients, body):
    headers = {"content-type": "application/json"}
    _refused(clients["story"].post("/v1/stories", content=body, headers=headers))
    assert not any("Ruiz" in s["title"] for s in clients["story"].get("/v1/stories").json()[
        "stories"])
    _refused(clients["notify"].post("/v1/subscribers",
                                    content=body.replace(b"title", b"name"), headers=headers))
    listed = clients["notify"].get("/v1/subscribers").json()
    listed = listed["subscribers"] if isinstance(listed, dict) else listed
    assert not any("Ruiz" in s["name"] for s in listed)
    article = (b'{"outlet": "Wire", "url": "https://wire.example/a", "published_at": '
               b'"2017-05-04T20:00:00Z", "body": "text", ' + body[1:])
    _refused(clients["ingest"].post("/v1/articles", content=article, headers=headers))


def test_a_nul_in_a_path_or_query_is_refused_and_a_surrogate_pair_is_fine(clients):
    _refused(clients["story"].get("/v1/stories/abc%00def"))
    _refused(clients["story"].get("/v1/events?after=1%00"))
    _refused(clients["notify"].get("/v1/subscriptions?stories=%ED%A0%BD"))
    _refused(clients["ingest"].get("/v1/articles/x%00y"))
    made = clients["story"].post("/v1/stories", content=PAIR_JSON,
                                 headers={"content-type": "application/json"})
    assert made.status_code == 201, made.text


def test_json_nested_past_any_need_is_refused_not_a_crash(clients):
    deep = b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for name, path in (("story", "/v1/stories"), ("notify", "/v1/subscribers"),
                       ("ingest", "/v1/articles")):
        response = clients[name].post(path, content=deep,
                                      headers={"content-type": "application/json"})
        _refused(response)
        assert "nests deeper" in response.json()["detail"]
    shallow = b'{"title": ' + b"[" * 10 + b"]" * 10 + b"}"
    response = clients["story"].post("/v1/stories", content=shallow,
                                     headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["type"].endswith("validation-error")


def test_an_unknown_route_or_method_is_a_problem_too(clients):
    for client in clients.values():
        for response in (client.get("/v1/no-such-thing"), client.put("/healthz")):
            assert response.status_code in (404, 405), response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["status"] == response.status_code
