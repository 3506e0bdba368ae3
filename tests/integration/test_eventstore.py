"""The event store on SQLite and PostgreSQL: append modes, idempotency, reads, checkpoints."""

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
from shared.migrate import upgrade


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
