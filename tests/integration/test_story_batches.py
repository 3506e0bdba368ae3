"""Batches of forwarded articles on SQLite and PostgreSQL: the same analyses as one article at a
time, one append per story, idempotent retries (also of a batch that has grown), and a writer
that recovers from an append that fails after it learned the batch."""

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.story import events as ev
from services.story.analysis import Article
from services.story.analysis.corpus import load_story
from services.story.api import create_app
from services.story.offline import story_definition
from services.story.service import StoryService
from shared.db import get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "varela-detention"


@pytest.fixture
def store(db_url):
    engine = get_engine(db_url)
    upgrade("story", engine)
    return EventStore(engine)


@pytest.fixture
def corpus():
    story = load_story(CORPUS)
    articles = sorted((Article.from_dict(a) for a in story.articles),
                      key=lambda a: (a.published_at, a.id))
    return story_definition(story.story), articles


def define(store, definition) -> StoryService:
    service = StoryService(store)
    service.define_story(definition)
    return service


def stream(store, slug):
    return store.read_stream(ev.story_stream(slug))


def test_a_batch_is_analyzed_as_one_article_at_a_time_would_be(store, corpus, tmp_path):
    definition, articles = corpus
    slug = definition["slug"]
    one_by_one = define(store, definition)
    singly = []
    for article in articles:
        # a fresh service each time: every article is analysed against what was read back
        singly.append(StoryService(store).attach_to_story(slug, article))
    events_singly = [(e.type, e.event_id, e.data) for e in stream(store, slug)]
    assert one_by_one  # the definition's writer

    other = EventStore(get_engine(f"sqlite:///{tmp_path / 'batch.db'}"))
    upgrade("story", other.engine)
    batched = define(other, definition).attach_to_story_batch(
        slug, [(a, None) for a in articles])

    assert [a.to_dict() for a in batched] == [a.to_dict() for a in singly]
    assert sum(a.on_story for a in batched) >= 10
    recorded = stream(other, slug)
    assert [(e.type, e.event_id, e.data) for e in recorded] == events_singly
    assert {e.recorded_at for e in recorded[1:]} == {recorded[1].recorded_at}  # one append
    # what a new writer rebuilds from the events knows what the batch writer learned
    rebuilt = StoryService(other)._caught_up(slug)
    assert rebuilt.analyses.keys() == {a.article_id for a in batched if a.on_story}


def test_retried_and_grown_batches_record_each_article_once(store, corpus):
    definition, articles = corpus
    slug = definition["slug"]
    stadium = Article(id="off-topic", outlet="Metro Ledger", url="https://ml.example/stadium",
                      title="Council delays stadium vote",
                      published_at=articles[0].published_at,
                      body="The city council on Friday delayed a vote on the new stadium.")
    service = define(store, definition)
    first = service.attach_articles([(articles[0], None), (stadium, None)])
    assert first[0].stories == [slug] and first[1].unrouted
    version = len(stream(store, slug))

    # the relay retries after a crash, and meanwhile more arrived: a grown batch
    grown = [(articles[0], None), (stadium, None), (articles[0], None), (articles[1], None),
             (replace(stadium, id="off-topic-2"), None)]
    again = StoryService(store).attach_articles(grown)
    assert [r.to_dict() for r in again[:2]] == [r.to_dict() for r in first]
    assert again[2].to_dict() == first[0].to_dict()  # the same article twice in one batch
    assert again[3].stories == [slug] and again[4].unrouted

    events = stream(store, slug)
    attached = [e.data["article"]["id"] for e in events if e.type == ev.ARTICLE_ATTACHED]
    assert attached == [articles[0].id, articles[1].id]
    assert events[version].version == version + 1
    unrouted = [e.data["article"]["id"] for e in store.read_stream(ev.UNROUTED_STREAM)]
    assert unrouted == ["off-topic", "off-topic-2"]


class FailingOnce(EventStore):
    """The real store, whose next story append fails after the writer has analysed."""

    fail = False

    def append(self, stream_id, events, expected_version="any", **kwargs):
        if self.fail and stream_id.startswith(ev.STORY_PREFIX):
            self.fail = False
            raise ConnectionError("the database went away")
        return super().append(stream_id, events, expected_version, **kwargs)


def test_a_failed_append_leaves_the_writer_as_if_the_batch_never_came(store, corpus):
    definition, articles = corpus
    slug = definition["slug"]
    define(store, definition)
    failing = FailingOnce(store.engine)
    service = StoryService(failing)
    service.attach_articles([(articles[0], None)])
    failing.fail = True
    with pytest.raises(ConnectionError):
        service.attach_articles([(a, None) for a in articles[1:4]])
    assert [e.data["article"]["id"] for e in stream(store, slug)
            if e.type == ev.ARTICLE_ATTACHED] == [articles[0].id]

    retried = service.attach_articles([(a, None) for a in articles[1:4]])
    fresh = StoryService(store)
    fresh.define_story(definition)
    assert [r.stories for r in retried] == [[slug]] * 3
    assert len(service._states[slug].analyses) == 4
    assert service.view(slug).summary() == fresh.view(slug).summary()
    assert service._caught_up(slug).analyses.keys() == fresh._caught_up(slug).analyses.keys()


def test_the_batch_endpoint_answers_per_article_in_order(store, corpus):
    definition, articles = corpus
    define(store, definition)
    settings = Settings(database_url=str(store.engine.url.render_as_string(False)))
    body = {"articles": [{**a.to_dict(), "revision_of": None} for a in articles[:3]]}
    with TestClient(create_app(settings, run_snapshotter=False)) as client:
        answer = client.post("/v1/articles:batch", json=body)
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [r["article_id"] for r in results] == [a.id for a in articles[:3]]
        assert all(r["stories"] == [definition["slug"]] for r in results)
        assert client.post("/v1/articles:batch", json=body).json() == answer.json()
        empty = client.post("/v1/articles:batch", json={"articles": []})
        assert empty.status_code == 422
        assert empty.headers["content-type"] == "application/problem+json"


class CountingReads(EventStore):
    """The real store, counting the reads a writer makes."""

    reads = 0

    def read_stream(self, *args, **kwargs):
        self.reads += 1
        return super().read_stream(*args, **kwargs)

    def read_streams(self, *args, **kwargs):
        self.reads += 1
        return super().read_streams(*args, **kwargs)


def test_a_batch_catches_up_every_story_in_one_read_and_routes_by_what_it_read(store, corpus):
    definition, articles = corpus
    slug = definition["slug"]
    other_story = load_story(CORPUS.parent / "halvorsen-bribery-case")
    elsewhere = Article.from_dict(other_story.articles[0])
    counting = CountingReads(store.engine)
    one = StoryService(counting)
    for name in ("second", "third"):
        one.define_story({**definition, "slug": f"{slug}-{name}"})
    one.define_story(definition)
    assert one.attach_articles([(articles[0], None), (elsewhere, None)])[1].unrouted

    before = counting.reads
    one.attach_articles([(a, None) for a in articles[1:3]])
    assert counting.reads == before + 1  # three stories, one read

    # another writer changes what the story follows: the next batch reads it and routes by it
    StoryService(store).define_story({**story_definition(other_story.story), "slug": slug})
    result = one.attach_articles([(replace(elsewhere, id="elsewhere-2"), None)])[0]
    assert result.stories == [slug]
    attached = [e.data["article"]["id"] for e in stream(store, slug)
                if e.type == ev.ARTICLE_ATTACHED]
    assert attached == [articles[0].id, articles[1].id, articles[2].id, "elsewhere-2"]


def test_a_request_too_large_for_the_story_service_is_refused_before_it_is_read(store):
    from services.story.api import max_request_bytes

    settings = Settings(database_url=str(store.engine.url.render_as_string(False)),
                        relay_batch_bytes=100_000, max_article_bytes=50_000)
    limit = max_request_bytes(settings)
    assert limit == 1_200_000
    with TestClient(create_app(settings, run_snapshotter=False)) as client:
        huge = client.post("/v1/articles:batch", content=b"x" * (limit + 1),
                           headers={"content-type": "application/json"})
        assert huge.status_code == 413
        assert huge.headers["content-type"] == "application/problem+json"
