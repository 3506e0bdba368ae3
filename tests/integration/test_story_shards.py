"""Story shards shared by story-service instances (STORYWIRE_STORY_SHARDS > 1) on a real
PostgreSQL: leases are advisory locks, disjoint between holders, taken over when a holder's
session ends (closed, killed, or silent past the lease); an append under a lease taken over is
refused; a batch sent to one instance is written by the holders of its stories' shards and
answers what one instance answers."""

import time

import psycopg
import pytest
from conftest import fresh_service, wait_until

from services.story import events as ev
from services.story.shards import Leases, NotHeld, ShardedStories, shard_of
from shared.db import get_engine
from shared.eventstore import EventStore, FencedOut, NewEvent
from shared.migrate import upgrade

SHARDS = 8


@pytest.fixture
def story_db(pg_url):
    upgrade("story", get_engine(pg_url))
    return pg_url


@pytest.fixture
def leases(story_db):
    """Lease holders on the test's database (ticked by hand: their threads never start)."""
    made = []

    def make(url: str, lease_seconds: float = 60.0) -> Leases:
        holder = Leases(story_db, SHARDS, url, lease_seconds)
        made.append(holder)
        return holder

    yield make
    for holder in made:
        holder.stop()


def backend_pid(holder: Leases) -> int:
    return holder._conn.info.backend_pid


def lease_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT shard, epoch, url FROM story_shard_leases "
                            "ORDER BY shard, epoch").fetchall()


def test_two_holders_split_the_shards_and_one_takes_over_when_the_other_closes(
        leases, story_db):
    first, second = leases("http://first"), leases("http://second")
    first.tick()
    assert set(first.held()) == set(range(SHARDS))  # alone: every shard
    second.tick()
    assert second.held() == {}  # all held: it waits for the first to let go
    first.tick()
    assert len(first.held()) == SHARDS // 2  # two members now: the fair share
    second.tick()
    assert set(first.held()).isdisjoint(second.held())
    assert set(first.held()) | set(second.held()) == set(range(SHARDS))
    assert second.owners() == {s: ("http://first" if s in first.held() else "http://second")
                               for s in range(SHARDS)}

    moved = set(first.held())
    first._conn.close()  # its session ends, as when its process dies
    wait_until(lambda: second.tick() or len(second.held()) == SHARDS, 10,
               what="the second holder to take every shard")
    epochs = {s: e for s, e, _ in lease_rows(story_db)}
    assert all(epochs[s] == 2 for s in moved)  # a new lease for each shard taken over
    assert {s: lease.epoch for s, lease in second.held().items() if s in moved} == \
        {s: 2 for s in moved}


def test_a_holder_silent_past_its_lease_loses_it(leases):
    paused = leases("http://paused", lease_seconds=1.0)
    other = leases("http://other")
    assert paused.take(3) is not None
    assert other.take(3) is None
    time.sleep(2.0)  # no tick: the server ends the idle session (idle_session_timeout)
    taken = other.take(3)
    assert taken is not None and taken.epoch == 2
    paused.tick()  # it notices, and takes what nobody holds, but not shard 3
    assert 3 not in paused.held()


def test_an_append_under_a_lease_taken_over_is_refused(leases, story_db):
    store = EventStore(get_engine(story_db))
    old, new = leases("http://old"), leases("http://new")
    lease = old.take(5)
    store.append("story:fenced", [NewEvent("Noted", {"n": 1})], fence=(5, lease.epoch))
    with psycopg.connect(story_db, autocommit=True) as admin:  # its session is killed
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid(old),))
    taken = new.take(5)
    assert taken.epoch == lease.epoch + 1
    with pytest.raises(FencedOut):
        store.append("story:fenced", [NewEvent("Noted", {"n": 2})], fence=(5, lease.epoch))
    store.append("story:fenced", [NewEvent("Noted", {"n": 3})], fence=(5, taken.epoch))
    assert [e.data["n"] for e in store.read_stream("story:fenced")] == [1, 3]


def test_a_batch_is_written_by_the_holders_of_its_stories_shards(leases, story_db, corpus,
                                                                   tmp_path):
    definitions, items = corpus
    items = items[:24]
    slugs = [d["slug"] for d in definitions]
    alone = fresh_service(f"sqlite:///{tmp_path / 'alone.db'}", definitions)
    expected = [r.to_dict() for r in alone.attach_articles(items[:12])] + \
        [r.to_dict() for r in alone.attach_articles(items[12:])]

    instances = {url: fresh_service(story_db, definitions) for url in ("http://a", "http://b")}
    holders = {url: leases(url) for url in instances}
    used = sorted({shard_of(s, SHARDS) for s in slugs})
    assert len(used) >= 2
    holders["http://a"].take(used[0])  # a holds one shard of the stories, b the others
    for shard in used[1:]:
        holders["http://b"].take(shard)
    forwarded = []

    def forward(url, slugs_, items_, context):  # in process, as the HTTP route does
        forwarded.append((url, slugs_))
        return instances[url].attach_owned(slugs_, items_, context)

    for url, service in instances.items():
        service.shards = ShardedStories(holders[url], service.attach_here, forward)
    try:
        got = [r.to_dict() for r in instances["http://a"].attach_articles(items[:12])]
        got += [r.to_dict() for r in instances["http://b"].attach_articles(items[12:])]
        again = [r.to_dict() for r in instances["http://b"].attach_articles(items[:12])]
        with pytest.raises(NotHeld):
            instances["http://a"].attach_owned(
                [s for s in slugs if shard_of(s, SHARDS) in holders["http://b"].held()],
                items[:1])
    finally:
        for service in instances.values():
            service.shards.close()
    assert got == expected and again == expected[:12]  # a retried batch changes nothing
    assert {url for url, _ in forwarded} == {"http://a", "http://b"}

    store = instances["http://a"].store
    writers = {}
    for slug in slugs:
        stream = store.read_stream(ev.story_stream(slug))
        attached = [e.data["article"]["id"] for e in stream if e.type == ev.ARTICLE_ATTACHED]
        assert len(attached) == len(set(attached))
        holder = holders["http://a"] if shard_of(slug, SHARDS) in holders["http://a"].held() \
            else holders["http://b"]
        writers[slug] = {e.metadata["writer"]["instance"] for e in stream
                         if e.type != ev.STORY_DEFINED}
        assert writers[slug] <= {holder.holder}
    assert set().union(*writers.values()) == {h.holder for h in holders.values()}
