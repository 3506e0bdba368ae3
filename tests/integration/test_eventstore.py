"""The event store on SQLite and PostgreSQL: append modes, idempotency, reads, checkpoints."""

import threading
import time

import psycopg
import pytest
from sqlalchemy import text

from shared.db import get_engine
from shared.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    Checkpoints,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    NewEvent,
    checkpoint_table,
)
from shared.migrate import downgrade, upgrade


@pytest.fixture
def store(db_url):
    engine = get_engine(db_url)
    upgrade("story", engine)
    return EventStore(engine)


def ev(n: int, **kw) -> NewEvent:
    return NewEvent(type="Thing", data={"n": n}, **kw)


def test_first_story_exists_from_migration(store):
    first = store.read_stream("story:guzman-detention-conditions")
    assert [e.type for e in first] == ["StoryDefined"]
    assert first[0].data["title"] == "Guzman detention conditions"
    assert first[0].position == 1


def test_append_assigns_versions_and_gap_free_positions(store):
    a = store.append("a", [ev(1), ev(2)], NO_STREAM)
    b = store.append("b", [ev(3)], NO_STREAM)
    c = store.append("a", [ev(4)], 2)
    assert [e.version for e in a + c] == [1, 2, 3]
    positions = [e.position for e in a + b + c]
    assert positions == [2, 3, 4, 5]
    assert [e.data["n"] for e in store.read_stream("a")] == [1, 2, 4]
    assert store.stream_version("a") == 3
    assert store.head_position() == 5


@pytest.mark.parametrize("expected, current_events, ok", [
    (ANY, 0, True), (ANY, 2, True),
    (NO_STREAM, 0, True), (NO_STREAM, 1, False),
    (STREAM_EXISTS, 0, False), (STREAM_EXISTS, 1, True),
    (2, 2, True), (1, 2, False), (3, 2, False),
])
def test_expected_version_modes(store, expected, current_events, ok):
    for i in range(current_events):
        store.append("s", [ev(i)])
    if ok:
        store.append("s", [ev(99)], expected)
        assert store.stream_version("s") == current_events + 1
    else:
        with pytest.raises(ConcurrencyError) as err:
            store.append("s", [ev(99)], expected)
        assert err.value.actual == current_events
        assert store.stream_version("s") == current_events


def test_reappending_same_ids_is_a_no_op_returning_originals(store):
    events = [ev(1, event_id="00000000-0000-0000-0000-000000000001"),
              ev(2, event_id="00000000-0000-0000-0000-000000000002")]
    first = store.append("s", events, NO_STREAM)
    again = store.append("s", events, NO_STREAM)  # would conflict if it were written again
    assert [e.position for e in again] == [e.position for e in first]
    assert store.stream_version("s") == 2
    assert store.head_position() == first[-1].position


def test_partial_reappend_is_refused_and_writes_nothing(store):
    store.append("s", [ev(1, event_id="00000000-0000-0000-0000-000000000001")])
    head = store.head_position()
    with pytest.raises(DuplicateEventError):
        store.append("s", [ev(1, event_id="00000000-0000-0000-0000-000000000001"), ev(2)])
    assert store.head_position() == head


def test_failed_append_leaves_nothing_half_written(store):
    store.append("s", [ev(1)])
    with pytest.raises(ConcurrencyError):
        store.append("s", [ev(2), ev(3)], 5)
    assert [e.data["n"] for e in store.read_stream("s")] == [1]


def test_read_stream_from_version_and_feed_paging(store):
    store.append("a", [ev(i) for i in range(5)])
    store.append("b", [ev(i) for i in range(5, 8)])
    assert [e.data["n"] for e in store.read_stream("a", from_version=4)] == [3, 4]
    seen, after = [], 1  # position 1 is the story definition
    while page := store.read_all(after=after, limit=3):
        seen += [e.data["n"] for e in page]
        after = page[-1].position
    assert seen == list(range(8))
    assert [e.stream_id for e in store.read_all(0, 100, stream_prefix="b")] == ["b"] * 3


def test_event_round_trips_json_and_metadata(store):
    data = {"text": "Judge Brian Cogan — “denied”", "nested": {"list": [1, 2.5, None]}}
    store.append("s", [NewEvent("Thing", data, metadata={"correlation_id": "c1"},
                                schema_version=2)])
    (event,) = store.read_stream("s")
    assert event.data == data
    assert event.metadata == {"correlation_id": "c1"}
    assert event.schema_version == 2
    assert event.recorded_at.tzinfo is not None


def test_checkpoint_commits_or_rolls_back_with_the_consumers_effects(store):
    table = checkpoint_table("story_checkpoints")
    checkpoints = Checkpoints(table)
    engine = store.engine
    with engine.begin() as conn:
        checkpoints.advance(conn, "projector", 7)
        checkpoints.advance(conn, "projector", 9)
    with engine.connect() as conn:
        assert checkpoints.get(conn, "projector") == 9
        assert checkpoints.get(conn, "someone-else") == 0
    with pytest.raises(RuntimeError), engine.begin() as conn:
        checkpoints.advance(conn, "projector", 12)
        conn.execute(text("SELECT 1"))
        raise RuntimeError("the consumer's effect failed")
    with engine.connect() as conn:
        assert checkpoints.get(conn, "projector") == 9


def test_append_joins_a_callers_transaction(store):
    engine = store.engine
    with pytest.raises(RuntimeError), engine.begin() as conn:
        store.append("s", [ev(1)], conn=conn)
        raise RuntimeError("rolled back")
    assert store.stream_version("s") == 0


def test_event_json_keeps_its_key_order(store):
    data = {"zeta": 1, "alpha": {"b": 2, "a": 1}, "mid": [3, 1, 2]}
    store.append("s", [NewEvent("Thing", data, metadata={"z": 1, "a": 2})])
    (event,) = store.read_stream("s")
    assert list(event.data) == ["zeta", "alpha", "mid"]
    assert list(event.data["alpha"]) == ["b", "a"]
    assert list(event.metadata) == ["z", "a"]
    assert list(store.read_all(after=1)[0].data) == ["zeta", "alpha", "mid"]


def test_reads_at_large_positions_and_versions(store):
    """A page's bounds overflow neither a small integer nor the largest position."""
    assert store.read_all(after=32_767, limit=100) == []
    assert store.read_all(after=2**40, limit=1000) == []
    assert store.read_all(after=2**63 - 2, limit=1000) == []  # the largest the API takes
    assert store.read_stream("s", from_version=40_000, limit=10) == []


def test_concurrent_appends_keep_the_feed_gap_free_and_versions_exact(store):
    """Writers on their own streams and on one shared stream (exact expected versions, retried
    on conflict): every accepted event has a position, with no gaps, and every stream its
    versions in order."""
    writers, appends = 4, 15
    start = store.head_position()
    accepted: list = []
    errors: list = []
    lock = threading.Lock()

    def write(w: int) -> None:
        try:
            for i in range(appends):
                own = store.append(f"own-{w}", [ev(i), ev(i)], NO_STREAM if i == 0 else 2 * i)
                while True:
                    version = store.stream_version("shared")
                    try:
                        shared = store.append("shared", [ev(w)], version)
                        break
                    except ConcurrencyError:
                        continue
                with lock:
                    accepted.extend(own + shared)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    feed = store.read_all(after=start, limit=10_000)
    assert [e.position for e in feed] == list(range(start + 1, start + 1 + len(feed)))
    assert sorted(e.event_id for e in feed) == sorted(e.event_id for e in accepted)
    assert len(feed) == writers * appends * 3
    for stream in ["shared", *(f"own-{w}" for w in range(writers))]:
        versions = [e.version for e in feed if e.stream_id == stream]
        assert versions == list(range(1, len(versions) + 1))
    assert store.stream_version("shared") == writers * appends


def test_a_retry_racing_the_original_append_gets_the_original_events(pg_url):
    """A retry that looks for its ids while the original append is not yet committed finds
    none, then meets them at insert (after the lock): it answers with the original events."""
    engine = get_engine(pg_url)
    upgrade("story", engine)
    store = EventStore(engine)
    events = [ev(1, event_id="00000000-0000-0000-0000-00000000000a"),
              ev(2, event_id="00000000-0000-0000-0000-00000000000b")]
    conn = engine.connect()
    tx = conn.begin()
    original = store.append("s", events, NO_STREAM, conn=conn)
    answers: list = []
    retry = threading.Thread(target=lambda: answers.append(store.append("s", events, NO_STREAM)))
    retry.start()
    time.sleep(0.3)  # the retry is waiting for the lock
    tx.commit()
    conn.close()
    retry.join(10)
    assert answers == [original]
    assert store.stream_version("s") == 2


def test_appends_and_reads_carry_on_after_the_server_drops_connections(pg_url):
    engine = get_engine(pg_url)
    upgrade("story", engine)
    store = EventStore(engine)
    store.append("s", [ev(1)])
    assert len(store.read_stream("s")) == 1
    assert store.head_position() == 2
    with psycopg.connect(pg_url, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert dropped >= 1
    store.append("s", [ev(2)], 1)
    assert [e.data["n"] for e in store.read_stream("s")] == [1, 2]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert [e.data["n"] for e in store.read_all(after=1)] == [1, 2]


def test_story_migrations_go_down_and_up_again_with_events_on_postgres(pg_url):
    engine = get_engine(pg_url)
    upgrade("story", engine)
    store = EventStore(engine)
    store.append("s", [NewEvent("Thing", {"b": 1, "a": [1, 2]})])
    downgrade("story", engine, "0002")
    upgrade("story", engine)
    store.append("s", [ev(2)], 1)
    assert [e.data for e in store.read_stream("s")] == [{"b": 1, "a": [1, 2]}, {"n": 2}]
