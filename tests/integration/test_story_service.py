"""The story service on SQLite and PostgreSQL: idempotent attachment, routing, state from events,
the global feed over HTTP, optimistic concurrency between two service instances."""

import pytest
from fastapi.testclient import TestClient

from services.story.analysis import Article
from services.story.api import create_app
from services.story.service import StoryService
from shared.db import get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.settings import Settings

STORY = "guzman-detention-conditions"
RULING = {
    "id": "art-ruling",
    "outlet": "Brooklyn Court Reporter",
    "url": "https://bcr.example/2017/05/04/cogan",
    "title": "Judge keeps Guzman in solitary",
    "published_at": "2017-05-04T20:00:00Z",
    "body": "A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
            "solitary confinement at the Metropolitan Correctional Center.\n\n"
            "U.S. District Judge Brian Cogan also rejected the request to let Amnesty "
            "International observers visit Guzman.",
}
OFF_TOPIC = {
    "id": "art-stadium",
    "outlet": "Metro Ledger",
    "url": "https://ml.example/stadium",
    "title": "Council delays stadium vote",
    "published_at": "2017-05-05T15:00:00Z",
    "body": "The city council on Friday delayed a vote on the new stadium in Brooklyn until "
            "June.\n\nNeighbors complained about traffic near the waterfront.",
}


@pytest.fixture
def settings(db_url):
    upgrade("story", get_engine(db_url))
    return Settings(database_url=db_url)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def story_events(client):
    return client.get(f"/v1/stories/{STORY}/events?limit=1000").json()["events"]


def test_same_article_twice_appends_one_set_of_events(client):
    first = client.post("/v1/articles", json=RULING)
    assert first.status_code == 200, first.text
    assert first.json()["stories"] == [STORY] and not first.json()["unrouted"]
    count = len(story_events(client))
    again = client.post("/v1/articles", json=RULING)
    assert again.json()["stories"] == [STORY]
    assert len(story_events(client)) == count
    types = [e["type"] for e in story_events(client)]
    assert types[:3] == ["StoryDefined", "ArticleAttached", "ArticleAnalyzed"]
    assert types.count("DevelopmentDetected") >= 2


def test_state_is_built_from_events(client):
    client.post("/v1/articles", json=RULING)
    state = client.get(f"/v1/stories/{STORY}").json()
    assert state["title"] == "Guzman detention conditions"
    assert state["counts"]["articles"] == 1
    assert state["outlets"] == ["Brooklyn Court Reporter"]
    assert state["version"] == len(story_events(client))
    kinds = {(d["type"], d["outcome"]) for d in state["latest_developments"]}
    assert ("ruling", "denied") in kinds
    timeline = client.get(f"/v1/stories/{STORY}/timeline").json()["items"]
    assert all(d["source"]["id"] == RULING["id"] for d in timeline)
    assert {d["date"] for d in timeline if d["type"] == "ruling"} == {"2017-05-04"}


def test_off_topic_article_is_recorded_as_unrouted(client):
    response = client.post("/v1/articles", json=OFF_TOPIC).json()
    assert response == {"article_id": OFF_TOPIC["id"], "stories": [], "unrouted": True,
                        "developments": 0}
    assert len(story_events(client)) == 1  # only the definition
    feed = client.get("/v1/events?after=0").json()["events"]
    assert [e["type"] for e in feed][-1] == "ArticleUnrouted"
    client.post("/v1/articles", json=OFF_TOPIC)
    assert len(client.get("/v1/events?after=0").json()["events"]) == len(feed)


def test_feed_pages_and_problem_errors(client):
    client.post("/v1/articles", json=RULING)
    head = client.get("/v1/events?after=0&limit=1").json()
    assert len(head["events"]) == 1 and head["next_after"] == 1
    rest = client.get(f"/v1/events?after={head['next_after']}&limit=1000").json()
    assert [e["position"] for e in rest["events"]] == list(range(2, rest["head"] + 1))
    empty = client.get(f"/v1/events?after={rest['head']}").json()
    assert empty["events"] == [] and empty["next_after"] == rest["head"]
    bad = client.get("/v1/events?limit=100000")
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    missing = client.get("/v1/stories/no-such-story")
    assert missing.status_code == 404 and missing.json()["type"].endswith("story-not-found")
    assert client.get("/readyz").json()["status"] == "ok"


def test_two_service_instances_never_fork_a_stream(settings):
    store = EventStore(get_engine(settings.database_url))
    one, two = StoryService(store), StoryService(store)
    two._caught_up(STORY)  # two's writer state is at version 1
    one.attach_article(Article.from_dict(RULING))
    second = dict(RULING, id="art-later", url="https://bcr.example/later",
                  published_at="2017-05-05T12:00:00Z",
                  body="Guzman's lawyers said Friday they would appeal Judge Brian Cogan's "
                       "ruling keeping him in solitary confinement.")
    two.attach_article(Article.from_dict(second))  # stale: conflicts, catches up, retries
    events = store.read_stream(f"story:{STORY}")
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    attached = [e.data["article"]["id"] for e in events if e.type == "ArticleAttached"]
    assert attached == ["art-ruling", "art-later"]
    assert one.view(STORY).summary() == two.view(STORY).summary()


def test_a_revision_says_what_it_changed(client):
    client.post("/v1/articles", json=RULING)
    before = client.get(f"/v1/stories/{STORY}").json()["version"]
    added = ("The court will hold a hearing on Friday on the government's motion to "
             "disqualify his lawyer.")
    revised = dict(RULING, id="art-ruling-v2", body=RULING["body"] + "\n\n" + added,
                   revision_of=RULING["id"])
    assert client.post("/v1/articles", json=revised).json()["stories"] == [STORY]
    changes = client.get(f"/v1/stories/{STORY}/changes?since_version={before}").json()
    (article,) = changes["summary"]["articles"]
    assert article["revision_of"] == RULING["id"]
    assert [f["text"] for f in changes["summary"]["new_facts"]] == [added]
    assert [(d["type"], d["outcome"]) for d in changes["summary"]["new_developments"]] == [
        ("hearing", "scheduled")]
    listed = client.get(f"/v1/stories/{STORY}/articles").json()["items"]
    assert listed[-1]["revision_of"] == RULING["id"]
