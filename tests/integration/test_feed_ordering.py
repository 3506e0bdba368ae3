"""The global feed never skips an event under concurrent writers (PostgreSQL).

With sequence-assigned positions, writer A can take position 101, writer B 102, and B commit
first: a reader that sees 102 moves its checkpoint past 101 and never sees it. The event store
serializes appends and assigns positions under the lock; these tests show the race is real (on
an event store with the fix removed) and that the real store does not have it.
"""

import threading
import time

import pytest
from sqlalchemy import text

from shared.db import get_engine
from shared.eventstore import EventStore, NewEvent
from shared.migrate import upgrade

WRITERS = 4
APPENDS_PER_WRITER = 60
ROUNDS = 3


class UnserializedEventStore(EventStore):
    """The event store with the ordering fix removed: the append's steps one by one in a
    transaction, with no lock and positions from a sequence."""

    def _writing(self):
        return self.engine.begin()

    def _write(self, conn, *args):
        return self._write_in_steps(conn, *args)

    def _lock_for_append(self, conn):
        pass

    def _assign_positions(self, conn, head, count):
        return [conn.execute(text("SELECT nextval('unsafe_positions')")).scalar_one()
                for _ in range(count)]


@pytest.fixture
def engine(pg_url):
    engine = get_engine(pg_url)
    upgrade("story", engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE unsafe_positions START 1000"))
    return engine


def follow_feed_while_writing(store: EventStore, rounds_tag: str) -> tuple[list, list]:
    """Writers append to their own streams; a reader follows the feed by checkpoint."""
    start = store.head_position()
    seen: list = []
    done = threading.Event()
    errors: list = []

    def write(writer: int):
        try:
            for i in range(APPENDS_PER_WRITER):
                batch = [NewEvent("Tick", {"writer": writer, "i": i, "k": k}) for k in range(2)]
                store.append(f"{rounds_tag}-w{writer}", batch)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    def read():
        after = start
        while True:
            finished = done.is_set()
            page = store.read_all(after=after, limit=50)
            seen.extend(page)
            if page:
                after = page[-1].position
            elif finished:
                return
            else:
                time.sleep(0.0005)

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    committed = [e for e in store.read_all(after=start, limit=100_000)]
    return seen, committed


def assert_feed_complete(seen, committed):
    seen_ids = [e.event_id for e in seen]
    assert len(seen_ids) == len(set(seen_ids)), "an event was delivered twice"
    missing = {e.event_id for e in committed} - set(seen_ids)
    assert not missing, f"the reader skipped {len(missing)} committed events"
    by_stream: dict[str, list[int]] = {}
    for e in seen:
        by_stream.setdefault(e.stream_id, []).append(e.version)
    for versions in by_stream.values():
        assert versions == sorted(versions) == list(range(1, len(versions) + 1))


def test_reader_sees_every_event_exactly_once_in_order(engine):
    store = EventStore(engine)
    for round_ in range(ROUNDS):
        seen, committed = follow_feed_while_writing(store, f"r{round_}")
        assert len(committed) == WRITERS * APPENDS_PER_WRITER * 2
        assert_feed_complete(seen, committed)
        positions = [e.position for e in committed]
        assert positions == list(range(positions[0], positions[0] + len(positions)))


def test_the_same_check_catches_the_race_without_the_fix(engine):
    """Proves the test above has teeth: without serialization the reader does skip events."""
    store = UnserializedEventStore(engine)
    skipped = 0
    for round_ in range(ROUNDS * 3):
        seen, committed = follow_feed_while_writing(store, f"u{round_}")
        skipped += len({e.event_id for e in committed} - {e.event_id for e in seen})
        if skipped:
            break
    assert skipped > 0


def test_out_of_order_commit_interleaving(engine):
    """Deterministic: A appends but has not committed; B appends. B must not become visible
    ahead of A (with the fix B waits for A's lock), and the reader misses nothing."""
    store = EventStore(engine)
    start = store.head_position()
    conn_a = engine.connect()
    tx_a = conn_a.begin()
    store.append("A", [NewEvent("Tick", {"w": "A"})], conn=conn_a)
    b_done = threading.Event()
    thread_b = threading.Thread(target=lambda: (store.append("B", [NewEvent("Tick", {"w": "B"})]),
                                                b_done.set()))
    thread_b.start()
    time.sleep(0.3)
    assert not b_done.is_set(), "B must wait for A's append to commit"
    assert store.read_all(after=start) == []
    tx_a.commit()
    conn_a.close()
    thread_b.join(5)
    assert [e.stream_id for e in store.read_all(after=start)] == ["A", "B"]
