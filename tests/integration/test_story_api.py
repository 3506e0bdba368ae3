"""The story API on SQLite and PostgreSQL: stories as definitions, views rebuilt from events,
time travel, changes since a version, ETags, pagination under concurrent appends, SSE resume."""

import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import free_port, wait_until
from fastapi.testclient import TestClient

from services.story.analysis import Article, StoryDefinition, run_offline
from services.story.analysis.corpus import load_corpus
from services.story.api import create_app
from services.story.projection import StoryView
from services.story.replay import replay
from shared.db import get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = load_corpus(ROOT / "tests" / "corpus")
STORY = CORPUS[0]
SLUG = "tracked"


@pytest.fixture
def settings(db_url):
    upgrade("story", get_engine(db_url))
    return Settings(database_url=db_url)


@pytest.fixture
def app(settings):
    return create_app(settings, run_snapshotter=False)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def define(client, slug=SLUG, story=STORY.story):
    response = client.post("/v1/stories", json={"slug": slug, **{
        k: story[k] for k in ("title", "description", "entities", "keywords")}})
    assert response.status_code == 201, response.text
    return response.json()


def attach_all(client, articles=STORY.articles):
    for article in articles:
        assert client.post("/v1/articles", json=article).status_code == 200


def events_of(client, slug=SLUG):
    return client.get(f"/v1/stories/{slug}/events?limit=1000").json()["events"]


def view_by_replay(store: EventStore, version: int) -> StoryView:
    view = StoryView(SLUG)
    for event in store.read_stream(f"story:{SLUG}"):
        if event.version > version:
            break
        view.apply(event)
    return view


def test_stories_are_definitions_changed_by_events(client):
    created = define(client)
    assert created["slug"] == SLUG and created["status"] == "active"
    assert client.post("/v1/stories", json={"slug": SLUG, "title": "again"}).status_code == 409
    bad = client.post("/v1/stories", json={"slug": "Not A Slug", "title": "x"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    slugs = {s["slug"] for s in client.get("/v1/stories").json()["stories"]}
    assert slugs == {SLUG, "guzman-detention-conditions"}

    updated = client.patch(f"/v1/stories/{SLUG}", json={"keywords": ["appeal"]}).json()
    assert updated["keywords"] == ["appeal"] and updated["title"] == STORY.story["title"]
    assert [e["type"] for e in events_of(client)] == ["StoryDefined", "StoryDefined"]
    same = client.patch(f"/v1/stories/{SLUG}", json={"keywords": ["appeal"]}).json()
    assert same["version"] == updated["version"]  # no change, no event

    archived = client.post(f"/v1/stories/{SLUG}/archive").json()
    assert archived["status"] == "archived"
    result = client.post("/v1/articles", json=STORY.articles[0]).json()
    assert SLUG not in result["stories"]  # an archived story takes no new articles
    assert [s["slug"] for s in client.get("/v1/stories?status=archived").json()["stories"]] \
        == [SLUG]
    reopened = client.patch(f"/v1/stories/{SLUG}", json={"status": "active"}).json()
    assert reopened["status"] == "active"
    assert client.patch("/v1/stories/nope", json={"title": "x"}).status_code == 404


def test_rebuilt_views_equal_the_live_one(client, app, settings):
    define(client)
    attach_all(client)
    live = client.get(f"/v1/stories/{SLUG}").json()
    # the story holds every article the engine takes, as it takes them offline
    offline = run_offline(StoryDefinition.from_dict({"slug": SLUG, **STORY.story}),
                          [Article.from_dict(a) for a in STORY.articles])
    assert live["counts"]["articles"] == sum(1 for a in offline if a.on_story) > 0
    store = EventStore(get_engine(settings.database_url))
    result = replay(store, SLUG, report=lambda line: None)
    assert result["events"] == live["version"]
    rebuilt = result["views"][SLUG]
    cached = app.state.service.view(SLUG)
    assert rebuilt.to_dict() == cached.to_dict()
    assert rebuilt.summary() == StoryView.from_dict(rebuilt.to_dict()).summary()
    # A fresh service starts from the snapshot replay stored, and reads the same state.
    fresh = create_app(settings, run_snapshotter=False)
    with TestClient(fresh) as other:
        assert other.get(f"/v1/stories/{SLUG}").json() == live
    assert fresh.state.service.snapshots.latest(f"story:{SLUG}")[0] == live["version"]


def test_time_travel_by_version_and_by_recorded_time(client, settings):
    define(client)
    attach_all(client, STORY.articles[:6])
    store = EventStore(get_engine(settings.database_url))
    head = client.get(f"/v1/stories/{SLUG}").json()["version"]
    for version in sorted({1, 2, head // 3, head // 2, head - 1, head}):
        expected = view_by_replay(store, version).summary()
        got = client.get(f"/v1/stories/{SLUG}?as_of={version}").json()
        assert got == expected
        assert client.get(f"/v1/stories/{SLUG}?known_at={version}").json() == expected
        timeline = client.get(f"/v1/stories/{SLUG}/timeline?as_of={version}&limit=200").json()
        assert timeline["items"] == view_by_replay(store, version).timeline()
    middle = store.read_stream(f"story:{SLUG}")[head // 2 - 1]
    by_time = client.get(f"/v1/stories/{SLUG}", params={
        "known_at": middle.recorded_at.isoformat()}).json()
    assert by_time["version"] >= middle.version
    for bad in ("as_of=yesterday", "known_at=yesterday", "known_at=2017-05-05T10:00:00",
                "as_of=2017-05-05T10:00:00", "as_of=9999-12-31T23:00:00-12:00",
                "as_of=1&known_at=2"):
        response = client.get(f"/v1/stories/{SLUG}?{bad}")
        assert response.status_code == 400, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/stories/{SLUG}?known_at=2001-01-01T00:00:00Z").status_code == 404


GUZMAN = "guzman-detention-conditions"
COURT = "U.S. District Judge Brian Cogan"
NEWS_2017 = [   # published in 2017, ingested now; New York time (the story names its courts)
    {"id": "n1", "outlet": "Newsday", "url": "https://newsday.example/2017/04/05/guzman",
     "title": "Guzman's lawyers ask judge to end his solitary confinement",
     "published_at": "2017-04-05T22:00:00Z",
     "body": "Lawyers for Joaquin \"El Chapo\" Guzman on Wednesday asked " + COURT + " to lift "
             "the restrictions that keep him in solitary confinement at the Metropolitan "
             "Correctional Center and to let Amnesty International observers visit him.\n\n"
             "Guzman has been held alone in his cell 23 hours a day since January."},
    {"id": "n2", "outlet": "Brooklyn Court Reporter",
     "url": "https://bcr.example/2017/05/04/cogan-solitary",
     "title": "Judge keeps Guzman in solitary, turns away Amnesty",
     "published_at": "2017-05-04T20:00:00Z",
     "body": "A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
             "solitary confinement, pointing to his escapes from Mexican prisons.\n\n"
             + COURT + " also rejected the request to let Amnesty International observers "
             "visit Guzman at the Metropolitan Correctional Center.\n\n"
             "The court will hold a hearing on Friday on the government's motion to "
             "disqualify his lawyer."},
]


def news_by(items: list[dict], published: set[str], day: str) -> list[dict]:
    """What a news date keeps of the story's developments: those its articles reported,
    dated by that day, with the corroborations of those articles."""
    return [{**d, "corroborations": [c for c in d["corroborations"] if c["id"] in published]}
            for d in items if d["source"]["id"] in published and (d["date"] or "") <= day]


def test_as_of_is_the_news_date_and_known_at_the_recorded_time(client, settings):
    attach_all(client, NEWS_2017[:1])
    store = EventStore(get_engine(settings.database_url))
    known_first = store.read_stream(f"story:{GUZMAN}")[-1]
    attach_all(client, NEWS_2017[1:])
    story = f"/v1/stories/{GUZMAN}"
    now = client.get(story).json()
    timeline = client.get(f"{story}/timeline?limit=200").json()["items"]
    assert ("hearing", "2017-05-05") in [(d["type"], d["date"]) for d in timeline]
    assert any(d["date"] == "2017-05-04" for d in timeline)

    # (as_of, articles published by then, the last day whose developments count)
    cases = [("2016-12-31", set(), "2016-12-31"),
             ("2017-04-30", {"n1"}, "2017-04-30"),
             ("2017-05-04", {"n1", "n2"}, "2017-05-04"),     # not the hearing set for Friday
             ("2017-05-05", {"n1", "n2"}, "2017-05-05"),
             ("2017-05-04T19:00:00Z", {"n1"}, "2017-05-04"),
             ("2017-05-05T00:00:00Z", {"n1", "n2"}, "2017-05-04"),   # 8 p.m. in New York
             ("2017-05-05T12:00:00-04:00", {"n1", "n2"}, "2017-05-05")]
    tags = set()
    for as_of, published, day in cases:
        got = client.get(story, params={"as_of": as_of})
        assert got.status_code == 200, got.text
        state = got.json()
        expected = news_by(timeline, published, day)
        assert state["version"] == now["version"]          # all storywire knows now
        assert state["counts"]["articles"] == len(published), as_of
        assert state["counts"]["developments"] == len(expected), as_of
        assert state["outlets"] == sorted(a["outlet"] for a in NEWS_2017
                                          if a["id"] in published)
        articles = client.get(f"{story}/articles", params={"as_of": as_of}).json()["items"]
        assert {a["id"] for a in articles} == published
        items = client.get(f"{story}/timeline", params={"as_of": as_of, "limit": 200}).json()
        assert items["items"] == expected, as_of
        developments = client.get(f"{story}/developments", params={"as_of": as_of}).json()
        assert len(developments["items"]) == len(expected)
        again = client.get(story, params={"as_of": as_of},
                           headers={"if-none-match": got.headers["etag"]})
        assert again.status_code == 304
        tags.add(got.headers["etag"])
    assert len(tags) == len(cases)
    assert client.get(story, params={"as_of": "2017-05-05"}).json()["counts"] != \
        client.get(story, params={"as_of": "2017-05-04"}).json()["counts"]

    # pages of a walk keep the news date and the version of the first page
    walk, cursor = [], None
    while True:
        page = client.get(f"{story}/timeline", params={"as_of": "2017-05-05", "limit": 1,
                                                       **({"cursor": cursor} if cursor else {})})
        walk += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        attach_all(client, [dict(NEWS_2017[0], id=f"more-{len(walk)}",
                                 url=f"https://newsday.example/{len(walk)}")])
    assert walk == news_by(timeline, {"n1", "n2"}, "2017-05-05")

    # both axes: as storywire knew the story after the first article, at a news date
    known = {"known_at": known_first.recorded_at.isoformat()}
    both = client.get(story, params={"as_of": "2017-05-05", **known}).json()
    assert both["version"] == known_first.version
    assert both["counts"]["articles"] == 1
    assert client.get(story, params=known).json() == \
        client.get(story, params={"as_of": str(known_first.version)}).json()
    assert client.get(story, params={"as_of": "2017-05-05", "known_at": "1"}).json()[
        "counts"]["articles"] == 0


def test_changes_since_a_version(client):
    define(client)
    attach_all(client, STORY.articles[:2])
    since = client.get(f"/v1/stories/{SLUG}").json()["version"]
    attach_all(client, STORY.articles[2:5])
    changes = client.get(f"/v1/stories/{SLUG}/changes?since_version={since}").json()
    assert changes["since_version"] == since and changes["complete"]
    assert [e["version"] for e in changes["events"]] == list(
        range(since + 1, changes["version"] + 1))
    detected = [e for e in changes["events"] if e["type"] == "DevelopmentDetected"]
    assert len(changes["summary"]["new_developments"]) == len(detected)
    assert {a["id"] for a in changes["summary"]["articles"]} <= {
        a["id"] for a in STORY.articles[2:5]}
    assert changes["text"][0].startswith(f"{len(changes['summary']['articles'])} new article")
    none = client.get(f"/v1/stories/{SLUG}/changes?since_version={changes['version']}").json()
    assert none["events"] == [] and none["summary"]["new_developments"] == []


def test_etags_and_304(client):
    define(client)
    first = client.get(f"/v1/stories/{SLUG}")
    tag = first.headers["etag"]
    again = client.get(f"/v1/stories/{SLUG}", headers={"if-none-match": tag})
    assert again.status_code == 304 and again.content == b""
    timeline = client.get(f"/v1/stories/{SLUG}/timeline")
    assert timeline.headers["etag"] != tag  # each resource has its own tag
    attach_all(client, STORY.articles[:1])
    changed = client.get(f"/v1/stories/{SLUG}", headers={"if-none-match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


READS = ["/v1/stories", "/v1/stories?status=active", f"/v1/stories/{SLUG}",
         f"/v1/stories/{SLUG}/timeline", f"/v1/stories/{SLUG}/developments",
         f"/v1/stories/{SLUG}/matters", f"/v1/stories/{SLUG}/articles",
         f"/v1/stories/{SLUG}/changes?since_version=0", f"/v1/stories/{SLUG}/events",
         "/v1/events", "/v1/events?after=1&limit=5"]


@pytest.mark.parametrize("url", READS)
def test_every_read_answers_with_an_etag_and_honours_if_none_match(client, url):
    define(client)
    attach_all(client, STORY.articles[:1])
    first = client.get(url)
    assert first.status_code == 200, first.text
    tag = first.headers.get("etag")
    assert tag
    again = client.get(url, headers={"if-none-match": tag})
    assert (again.status_code, again.content, again.headers.get("etag")) == (304, b"", tag)
    assert client.get(url).json() == first.json()           # the same tag, the same body

    client.patch(f"/v1/stories/{SLUG}", json={"keywords": ["appeal"]})   # an append
    after = client.get(url, headers={"if-none-match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
    assert after.json() != first.json()
    assert client.get(url, headers={"if-none-match": after.headers["etag"]}).status_code == 304


def test_pagination_never_repeats_or_skips_under_concurrent_appends(client, app):
    define(client)
    attach_all(client, STORY.articles[:5])
    pinned = client.get(f"/v1/stories/{SLUG}").json()["version"]
    service = app.state.service
    writer = threading.Thread(target=lambda: [
        service.attach_article(Article.from_dict(a)) for a in STORY.articles[5:]])
    seen, cursor = [], None
    writer.start()
    first = client.get(f"/v1/stories/{SLUG}/articles?limit=2").json()
    seen += first["items"]
    cursor = first["next_cursor"]
    while cursor:
        time.sleep(0.05)
        page = client.get(f"/v1/stories/{SLUG}/articles", params={"cursor": cursor,
                                                                   "limit": 2}).json()
        assert page["version"] == first["version"]
        seen += page["items"]
        cursor = page["next_cursor"]
    writer.join()
    ids = [a["id"] for a in seen]
    assert len(ids) == len(set(ids))
    expected = service.view(SLUG, as_of=first["version"])
    assert ids == list(expected.articles)
    assert first["version"] >= pinned
    assert client.get(f"/v1/stories/{SLUG}/articles?cursor=garbage").status_code == 400
    assert client.get(f"/v1/stories/{SLUG}/articles?limit=100000").status_code == 422


def test_developments_filters(client):
    define(client)
    attach_all(client)
    everything = client.get(f"/v1/stories/{SLUG}/developments?limit=200").json()["items"]
    rulings = client.get(f"/v1/stories/{SLUG}/developments?type=ruling&limit=200").json()
    assert rulings["items"] == [d for d in everything if d["type"] == "ruling"]
    since = sorted(d["date"] for d in everything if d.get("date"))[len(everything) // 2]
    recent = client.get(f"/v1/stories/{SLUG}/developments", params={
        "since": since, "limit": 200}).json()["items"]
    assert recent and all((d.get("date") or "") >= since for d in recent)
    matters = client.get(f"/v1/stories/{SLUG}/matters").json()["matters"]
    assert all(m["history"] and m["status"] == m["history"][-1]["status"] for m in matters)


class LiveServer:
    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, 10, what="the server to start")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def read_sse(url: str, count: int, headers=None) -> list[tuple[int, str]]:
    """Read `count` events from an SSE stream, then hang up."""
    got = []
    with httpx.stream("GET", url, headers=headers or {}, timeout=20) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("event: "):
                got.append((event_id, line[7:]))
                if len(got) == count:
                    break
    return got


def test_sse_resumes_after_a_disconnect_without_missing_anything(client, app):
    define(client)
    with LiveServer(app) as base:
        url = f"{base}/v1/stories/{SLUG}/stream"
        attach_all(client, STORY.articles[:2])
        head = client.get(f"/v1/stories/{SLUG}").json()["version"]
        first = read_sse(url, 3, {"last-event-id": "0"})
        assert [i for i, _ in first] == [1, 2, 3]
        attach_all(client, STORY.articles[2:4])  # while disconnected
        new_head = client.get(f"/v1/stories/{SLUG}").json()["version"]
        rest = read_sse(url, new_head - 3, {"last-event-id": str(first[-1][0])})
        ids = [i for i, _ in first + rest]
        assert ids == list(range(1, new_head + 1))
        assert new_head > head
        types = [t for _, t in first + rest]
        assert types[0] == "StoryDefined" and "ArticleAttached" in types
        # Without Last-Event-ID a client gets only what happens after it connects.
        done = []
        reader = threading.Thread(target=lambda: done.extend(read_sse(url, 1)))
        reader.start()
        time.sleep(0.5)
        client.patch(f"/v1/stories/{SLUG}", json={"keywords": ["live"]})
        reader.join(20)
        assert done == [(new_head + 1, "StoryDefined")]
        for bad in ("x", str(2**31), "9" * 40, "\u0663"):   # not a version a story can have
            answer = httpx.get(url, headers={"last-event-id": bad.encode()})
            assert answer.status_code == 400
            assert answer.json()["type"].endswith("bad-last-event-id")


def test_a_story_keeps_the_time_zone_its_relative_days_are_read_in(client):
    bad = client.post("/v1/stories", json={"title": "Zoned", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert client.get("/v1/stories/zoned").status_code == 404
    created = client.post("/v1/stories", json={"slug": "zoned", "title": "Delgado Ruiz case",
                                                "time_zone": "America/New_York"})
    assert created.status_code == 201, created.text
    assert client.get("/v1/stories/zoned").json()["time_zone"] == "America/New_York"
    assert client.patch("/v1/stories/zoned", json={"time_zone": "Nowhere/Else"}
                        ).status_code == 422
    assert client.patch("/v1/stories/zoned", json={"time_zone": "Europe/London"}
                        ).status_code == 200
    assert client.get("/v1/stories/zoned").json()["time_zone"] == "Europe/London"


@pytest.mark.parametrize("change", [{"title": None}, {"title": "   "}, {"title": "\u200b"},
                                    {"entities": None}, {"keywords": None},
                                    {"description": None}, {"status": None},
                                    {"entities": [""]}, {"colour": "red"}])
def test_a_story_definition_that_no_article_could_be_analysed_against_is_refused(client,
                                                                                 change):
    define(client)
    before = events_of(client)
    response = client.patch(f"/v1/stories/{SLUG}", json=change)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert events_of(client) == before                       # nothing recorded
    attach_all(client, STORY.articles[:2])                   # and articles still go through
    assert len(client.get(f"/v1/stories/{SLUG}/articles").json()["items"]) >= 1


def test_versions_and_positions_past_what_the_store_holds_are_refused_not_a_500(client):
    define(client)
    too_big = {f"/v1/stories/{SLUG}/changes?since_version={2**31}": 422,
               f"/v1/stories/{SLUG}/events?from_version={2**31}": 422,
               f"/v1/stories/{SLUG}/stream?from_version={2**31 - 1}": 422,
               f"/v1/events?after={2**63 - 1}": 422,
               f"/v1/stories/{SLUG}/changes?since_version={2**31 - 2}": 200,
               f"/v1/stories/{SLUG}/events?from_version={2**31 - 1}": 200,
               f"/v1/events?after={2**63 - 2}": 200}
    for url, status in too_big.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        if status == 422:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_entities_grouped_by_kind_are_read_as_every_name_and_alias(client):
    grouped = {"people": ["Kiran Mahadevan", "Marianne Thibodeaux"],
               "aliases": {"Kiran Mahadevan": ["Mahadevan", "the Indian student"]},
               "courts": ["Oakdale Immigration Court", "Marianne Thibodeaux"]}
    created = client.post("/v1/stories", json={"slug": "grouped", "title": "Grouped",
                                               "entities": grouped})
    assert created.status_code == 201, created.text
    assert created.json()["entities"] == ["Kiran Mahadevan", "Marianne Thibodeaux", "Mahadevan",
                                          "the Indian student", "Oakdale Immigration Court"]
    listed = client.post("/v1/stories", json={"slug": "listed", "title": "Listed", "entities": [
        {"name": "Kiran Mahadevan", "aliases": ["Mahadevan"], "type": "person"},
        {"name": "ICE", "type": "agency"}]})
    assert listed.status_code == 201, listed.text
    assert listed.json()["entities"] == ["Kiran Mahadevan", "Mahadevan", "ICE"]
    bad = client.post("/v1/stories", json={"slug": "grouped-bad", "title": "Bad",
                                           "entities": {"people": [7]}})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/stories/grouped-bad").status_code == 404
