"""ArticleAnalyzed 2 and the upcaster from 1, on SQLite and PostgreSQL: new analyses are
stored as references into the article's body, and a store holding both versions replays to
the same views, byte for byte, shows the same API reads and rebuilds the same writer state."""

from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services.story import events as ev
from services.story.analysis import Analysis
from services.story.analysis.corpus import load_story
from services.story.api import create_app
from services.story.projection import StoryState, StoryView
from services.story.replay import replay
from shared.db import get_engine
from shared.eventstore import (
    EventStore,
    RecordedEvent,
    events_table,
    register_upcaster,
    upcast,
)
from shared.migrate import upgrade
from shared.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "varela-detention"
SLUG = "varela"


def _reads(db_url: str) -> dict[str, bytes]:
    """What a fresh story service answers to every read of the story."""
    urls = [f"/v1/stories/{SLUG}", f"/v1/stories/{SLUG}/timeline?limit=200",
            f"/v1/stories/{SLUG}/articles?limit=200", f"/v1/stories/{SLUG}/developments",
            f"/v1/stories/{SLUG}/matters", f"/v1/stories/{SLUG}/changes?since_version=0",
            f"/v1/stories/{SLUG}/changes?since_version=2",     # starts after an attachment
            f"/v1/stories/{SLUG}/events?limit=1000", "/v1/events?limit=1000",
            f"/v1/stories/{SLUG}?known_at=40", f"/v1/stories/{SLUG}/articles?as_of=2020-01-01"]
    with TestClient(create_app(Settings(database_url=db_url), run_snapshotter=False)) as c:
        answers = {}
        for url in urls:
            response = c.get(url)
            assert response.status_code == 200, (url, response.text)
            answers[url] = response.content
    return answers


def _state(store: EventStore) -> list[dict]:
    state = StoryState(StoryView(SLUG))
    for event in store.read_stream(ev.story_stream(SLUG)):
        state.apply(event)
    return [a.to_dict() for a in state.analyses.values()]


def test_a_store_of_both_versions_reads_as_one_of_version_2(db_url):
    engine = get_engine(db_url)
    upgrade("story", engine)
    story = load_story(CORPUS)
    with TestClient(create_app(Settings(database_url=db_url), run_snapshotter=False)) as c:
        assert c.post("/v1/stories", json={"slug": SLUG, **{
            k: story.story[k] for k in ("title", "description", "entities", "keywords")}}
        ).status_code == 201
        for article in story.articles:
            assert c.post("/v1/articles", json=article).status_code == 200
    store = EventStore(engine)
    analyzed = [e for e in store.read_stream(ev.story_stream(SLUG))
                if e.type == ev.ARTICLE_ANALYZED]
    assert len(analyzed) >= 10 and {e.schema_version for e in analyzed} == {2}
    spans = [s for e in analyzed for s in e.data["analysis"]["sentences"]["spans"]]
    assert sum(s is not None for s in spans) > 0.9 * len(spans)  # references, not copies

    views = {k: orjson.dumps(v.to_dict()) for k, v in replay(store, report=print)["views"]
             .items()}
    reads, state = _reads(db_url), _state(store)
    shown = [e for e in orjson.loads(reads[f"/v1/stories/{SLUG}/events?limit=1000"])["events"]
             if e["type"] == ev.ARTICLE_ANALYZED]
    assert shown and all(isinstance(e["data"]["analysis"]["sentences"], list) for e in shown)
    assert {e["schema_version"] for e in shown} == {1}           # written out as 1 had them

    # the first half of the analyses as version 1 stored them: every sentence's text
    bodies = {e.data["article"]["id"]: e.data["article"]["body"]
              for e in store.read_stream(ev.story_stream(SLUG)) if e.type == ev.ARTICLE_ATTACHED}
    with engine.begin() as conn:
        for event in analyzed[:len(analyzed) // 2]:
            body = bodies[event.data["analysis"]["article_id"]]
            conn.execute(update(events_table).where(events_table.c.event_id == event.event_id)
                         .values(schema_version=1, data=ev.written_out(event.data, body)))
        stored = {row[0] for row in conn.execute(
            select(events_table.c.schema_version).where(
                events_table.c.type == ev.ARTICLE_ANALYZED))}
    assert stored == {1, 2}
    assert {e.schema_version for e in store.read_stream(ev.story_stream(SLUG))
            if e.type == ev.ARTICLE_ANALYZED} == {2}             # read as version 2

    assert {k: orjson.dumps(v.to_dict()) for k, v in replay(store, report=print)["views"]
            .items()} == views
    assert _reads(db_url) == reads
    assert _state(store) == state


def test_an_upcaster_chain_reads_an_event_at_the_newest_version():
    register_upcaster("Renamed", 1, lambda d: {"name": d["title"]})
    register_upcaster("Renamed", 2, lambda d: {**d, "name": d["name"].upper()})
    old = RecordedEvent(1, "s", 1, "e", "Renamed", 1, {"title": "a"}, {}, None)
    assert upcast(old) == old._replace(data={"name": "A"}, schema_version=3)
    assert upcast(upcast(old)) == upcast(old)


def test_version_1_sentences_written_out_again_are_what_version_1_held():
    story = load_story(CORPUS)
    body = story.articles[0]["body"]
    sentences = [{"text": body[:40], "index": 0, "known": False, "match": None,
                  "new_names": ["Varela"]},
                 {"text": "Not in the body.", "index": 1, "known": True,
                  "match": {"article_id": "x", "sentence_index": 3, "score": 91.5},
                  "new_names": []}]
    data = {"story": SLUG, "analysis": {"article_id": "a", "on_story": True,
                                        "sentences": sentences}}
    refs = ev.sentence_refs(sentences, body)
    assert refs["spans"] == [[0, 40], None] and refs["texts"] == [[1, "Not in the body."]]
    assert ev.sentences_of(refs, body) == sentences
    v1 = RecordedEvent(1, "story:x", 2, "e", ev.ARTICLE_ANALYZED, 1, data, {}, None)
    read = upcast(v1)
    assert read.schema_version == 2 and read.data["analysis"]["sentences"]["spans"] == [None,
                                                                                        None]
    assert ev.written_out(read.data, None) == data                # no body needed
    assert Analysis.from_dict(ev.written_out(read.data, None)["analysis"]).sentences[1].known


def test_a_replay_leaves_the_collector_as_it_found_it_and_snapshots_compress_with_lz4(pg_url):
    """The garbage collector is paused while a view is decoded, never left off; on
    PostgreSQL the snapshot column is compressed with lz4 where the server has it."""
    import gc

    from services.story.store import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()          # a caller's own pause is kept
    finally:
        gc.enable()
    try:
        with collector_paused():
            raise RuntimeError("a failed replay")
    except RuntimeError:
        pass
    assert gc.isenabled()

    engine = get_engine(pg_url)
    upgrade("story", engine)
    with engine.connect() as conn:
        has_lz4 = conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
            "WHERE name = 'default_toast_compression'").scalar()
        compression = conn.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'story_snapshots'::regclass "
            "AND attname = 'data'").scalar()
    assert compression == ("l" if has_lz4 else "")
