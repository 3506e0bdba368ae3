"""Every service's OpenAPI documents each error it can answer as application/problem+json, and
the answers match: a wrong method names every allowed one, a value of another JSON type than
documented is refused (a forwarded article's date as a number, a weekday as a boolean)."""

import pytest
from fastapi.testclient import TestClient

from services.ingest.api import create_app as ingest_app
from services.notify.api import create_app as notify_app
from services.story.api import create_app as story_app
from shared.db import get_engine
from shared.migrate import upgrade
from shared.problems import PROBLEM_JSON
from shared.settings import Settings

KEY = "openapi-test-key"


@pytest.fixture
def apps(db_url, tmp_path):
    settings = Settings(database_url=db_url, data_dir=tmp_path, api_key=KEY)
    for service in ("ingest", "story", "notify"):
        upgrade(service, get_engine(db_url))
    return {"ingest": ingest_app(settings, run_relay_loop=False),
            "story": story_app(settings, run_snapshotter=False),
            "notify": notify_app(settings, run_dispatch_loop=False, enqueue=lambda _id: None)}


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_error_answer_is_documented_as_a_problem(apps):
    for service, app in apps.items():
        spec = app.openapi()
        assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title",
                                                                         "status"]
        assert "HTTPValidationError" not in spec["components"]["schemas"]
        for name, operation in operations(spec):
            responses = operation["responses"]
            assert "422" in responses, (service, name)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"] == {PROBLEM_JSON: {"schema": {
                        "$ref": "#/components/schemas/Problem"}}}, (service, name, status)
            if "{" in name:
                assert "404" in responses, (service, name)
            if operation.get("security"):
                assert "401" in responses, (service, name)

    ingest = dict(operations(apps["ingest"].openapi()))
    article = ingest["POST /v1/articles"]["responses"]
    assert {"200", "202", "401", "403", "413", "415", "422"} <= set(article)
    assert article["202"]["content"]["application/json"]["schema"]  # success keeps its schema
    assert {"401", "404", "409", "413", "415"} <= set(ingest["POST /v1/webhooks/{integration}"]
                                                       ["responses"])
    assert "409" in ingest["POST /v1/feeds"]["responses"]
    assert "security" not in ingest["POST /v1/webhooks/{integration}"]

    story = dict(operations(apps["story"].openapi()))
    state = story["GET /v1/stories/{slug}"]["responses"]
    assert {"200", "304", "400", "404", "422"} <= set(state)
    assert state["200"]["content"]["application/json"]["example"]["slug"]
    assert "content" not in state["304"]
    assert "409" in story["POST /v1/stories"]["responses"]
    assert "413" in story["POST /v1/articles:batch"]["responses"]
    assert "text/event-stream" in story["GET /v1/stories/{slug}/stream"]["responses"]["200"][
        "content"]

    notify = dict(operations(apps["notify"].openapi()))
    assert "409" in notify["POST /v1/subscriptions/{subscription_id}/secret"]["responses"]
    assert "401" not in notify["GET /v1/unsubscribe/{token}"]["responses"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_wrong_method_names_every_method_of_the_path(apps):
    expected = {"ingest": ("/v1/feeds/feed_1", "DELETE, GET"),
                "story": ("/v1/stories/a-story", "GET, PATCH"),
                "notify": ("/v1/subscriptions/sub_1", "DELETE, GET, PATCH")}
    for service, (path, allow) in expected.items():
        with TestClient(apps[service]) as client:
            response = client.request("OPTIONS", path)
            assert response.status_code == 405
            assert response.headers["allow"] == allow
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert client.put("/healthz").headers["allow"] == "GET"


def test_a_forwarded_article_dated_by_a_number_is_refused(apps):
    article = {"id": "a1", "outlet": "Wire", "url": "https://wire.example/1", "title": "Ruling",
               "published_at": 0, "body": "The judge ruled."}
    auth = {"authorization": f"Bearer {KEY}"}
    with TestClient(apps["story"], headers=auth) as story:
        head = story.get("/v1/events").json()["head"]
        for path, body in (("/v1/articles", article),
                           ("/v1/articles:batch", {"articles": [article]})):
            response = story.post(path, json=body, headers=auth)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["loc"][-1] == "published_at"
        assert story.get("/v1/events").json()["head"] == head      # nothing recorded
        ok = story.post("/v1/articles", json={**article, "published_at": "2017-05-04T20:00:00Z"},
                        headers=auth)
        assert ok.status_code == 200, ok.text


def test_a_digest_weekday_given_as_a_boolean_is_refused(apps):
    auth = {"authorization": f"Bearer {KEY}"}
    base = {"name": "desk", "url": "https://example.org/hook", "rate": "weekly"}
    with TestClient(apps["notify"], headers=auth) as notify:
        refused = notify.post("/v1/subscriptions", json={**base, "digest_weekday": False})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][-1] == "digest_weekday"
        created = notify.post("/v1/subscriptions", json={**base, "digest_weekday": 4})
        assert created.status_code == 201, created.text
        path = f"/v1/subscriptions/{created.json()['id']}"
        assert notify.patch(path, json={"digest_weekday": True}).status_code == 422
        assert notify.get(path).json()["digest_weekday"] == 4


def test_a_subscription_url_longer_than_it_can_be_stored_is_refused(apps):
    auth = {"authorization": f"Bearer {KEY}"}
    long_url = "https://" + ".".join(["a" * 60] * 33) + ".example/hook"   # 2,024 characters
    with TestClient(apps["notify"], headers=auth) as notify:
        refused = notify.post("/v1/subscriptions", json={"name": "desk", "url": long_url})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][-1] == "url"
        assert notify.get("/v1/subscriptions").json() == []
        created = notify.post("/v1/subscriptions", json={"name": "desk",
                                                         "url": "https://example.org/hook"})
        path = f"/v1/subscriptions/{created.json()['id']}"
        assert notify.patch(path, json={"url": long_url}).status_code == 422
        assert notify.get(path).json()["url"] == "https://example.org/hook"
