"""Story writers in worker processes (STORYWIRE_STORY_WRITERS > 1), on SQLite and PostgreSQL:
the answers and events of one in-process writer, and a writer process that dies is replaced
without losing or doubling anything."""

import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest
from conftest import fresh_service
from fastapi.testclient import TestClient

from services.story import events as ev
from services.story.api import create_app
from services.story.service import StoryService
from services.story.writers import ShardedWriters, shard_of
from shared.settings import Settings


def recorded(service: StoryService, slugs) -> dict:
    return {slug: [(e.type, e.event_id, e.data) for e in
                   service.store.read_stream(ev.story_stream(slug))] for slug in slugs}


def test_writer_processes_answer_and_record_what_one_writer_does(db_url, corpus, tmp_path):
    definitions, items = corpus
    slugs = [d["slug"] for d in definitions]
    assert len({shard_of(s, 2) for s in slugs}) == 2  # both processes get stories
    alone = fresh_service(f"sqlite:///{tmp_path / 'alone.db'}", definitions)
    expected = [r.to_dict() for start in range(0, len(items), 20)
                for r in alone.attach_articles(items[start:start + 20])]

    sharded = fresh_service(db_url, definitions)
    sharded.writers = ShardedWriters(db_url, 2)
    try:
        got = [r.to_dict() for start in range(0, len(items), 20)
               for r in sharded.attach_articles(items[start:start + 20])]
    finally:
        sharded.writers.close()
    assert got == expected
    assert sum(bool(r["stories"]) for r in got) > 40 and any(r["unrouted"] for r in got)
    assert recorded(sharded, slugs) == recorded(alone, slugs)


def test_a_writer_process_that_dies_is_replaced_and_nothing_doubles(db_url, corpus):
    definitions, items = corpus
    service = fresh_service(db_url, definitions)
    service.writers = ShardedWriters(db_url, 2)
    try:
        service.attach_articles(items[:10])
        victim = service.writers._pools[0]._processes  # the pool's own process table
        for pid in list(victim):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            service.attach_articles(items[10:30])
        retried = service.attach_articles(items[:30])  # the relay sends the batch again
    finally:
        service.writers.close()
    assert [r.article_id for r in retried] == [a.id for a, _ in items[:30]]
    attached = [e.data["article"]["id"] for d in definitions
                for e in service.store.read_stream(ev.story_stream(d["slug"]))
                if e.type == ev.ARTICLE_ATTACHED]
    assert len(attached) == len(set(attached)) == sum(len(r.stories) for r in retried)


def test_a_writer_process_that_died_while_idle_is_replaced_before_the_next_batch(
        db_url, corpus):
    import time

    definitions, items = corpus
    service = fresh_service(db_url, definitions)
    service.writers = ShardedWriters(db_url, 2)
    try:
        first = service.attach_articles(items[:10])
        pool = service.writers._pools[1]
        for pid in list(pool._processes):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not pool._broken and time.monotonic() < deadline:  # the pool notices
            time.sleep(0.05)
        assert pool._broken
        again = service.attach_articles(items[:20])
    finally:
        service.writers.close()
    assert [r.to_dict() for r in again[:10]] == [r.to_dict() for r in first]
    assert sum(bool(r.stories) for r in again) >= 10


def test_the_service_starts_and_stops_its_writer_processes(sqlite_url, corpus):
    definitions, items = corpus
    fresh_service(sqlite_url, definitions)
    settings = Settings(database_url=sqlite_url, story_writers=2)
    body = {"articles": [{**a.to_dict(), "revision_of": None} for a, _ in items[:5]]}
    app = create_app(settings, run_snapshotter=False)
    with TestClient(app) as client:
        answer = client.post("/v1/articles:batch", json=body)
        assert answer.status_code == 200, answer.text
        assert [r["article_id"] for r in answer.json()["results"]] == \
            [a.id for a, _ in items[:5]]
        pools = app.state.service.writers._pools
    assert app.state.service.writers is None
    assert all(not p._processes for p in pools)  # shut down with the service
